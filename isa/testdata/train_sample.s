# One training step of a small network on two tiles, hand-written to exercise
# the whole instruction set (it is the golden sample of isa's tests).
#
# Tile 0 holds a 16-input convolution-like layer (core 0) and a dense layer
# split over two matrix units (core 1); tile 1 holds the output layer with a
# log-softmax loss. Activations go 0 -> 1 by send/receive, errors come back
# 1 -> 0. Each core trains on BATCH examples, then resolves carries.

.const N       = 16          ; words per bus transfer
.const REPEATS = 8           ; N x REPEATS = 128 words, one crossbar buffer
.const BATCH   = 4
.const X       = 0           ; shared memory of tile 0: input example
.const H       = 128         ;   hidden activations (sent to tile 1)
.const DH      = 256         ;   errors of the hidden layer (received from tile 1)
.const Y       = 0           ; shared memory of tile 1: received activations
.const LABEL   = 128         ;   one-hot label
.const DY      = 256         ;   output errors (sent back to tile 0)
.const LR_CODE = -41         ; -0.01 in Q4.12: the learning-rate scale for alui

# ---------------------------------------------------------------- tile 0
.tile 0
.data X
.word 4096, 2048, 1024, 512, 256, 128, 64, 32
.word -32, -64, -128, -256, -512, -1024, -2048, -4096
.data X + 64                  ; a second, separate block of inputs
.word 0x0100, 0x0200, 0b1000000000
	send H, 1, N, Y, REPEATS        # hidden activations to tile 1
	receive DH, 1, N, 2, REPEATS    # errors from tile 1; cores 0 and 1 read them
	send H + 8, 1, 8, Y + 8, 1      # a short send with a different width
	halt

.core 0                             # convolution: sliding windows reuse inputs
	set r0, X, 1                    # r0: shared-memory address of the input
	set r1, H, 1                    # r1: where activations go
	set r2, 0, 1                    # r2: example counter
	set r3, BATCH, 1                # r3: examples per batch
	set r4, 1, 1                    # r4: the constant one
	set r5, DH, 1                   # r5: where errors arrive
example:
	ld xin0.mvm, r0, N, REPEATS     # window 0
	mvm u0:mvm, shift=3, seg=27     # forward; keep 24 of every 27 inputs
	ld xin0.mvm + 24, r0, 3, 1      # only the new words of the next window
	mvm u0:mvm, shift=3, seg=27
	cp xin0.opa, xin0.mvm, 128      # the input again, as OPA rows
	alu relu r16, xout0.mvm, 128
	st r1, r16, 1, N, REPEATS       # activations, read once (by send)
	ld xin0.mtvm, r5, N, REPEATS    # errors from tile 1
	alu relud xout0.opa, xin0.mtvm, r16, 128
	mvm u0:mtvm                     # backward
	mvm u0:opa                      # update
	alu_int add r2, r2, r4
	beq r2, r3, resolve
	jmp example
resolve:
	crs u0
	hlt

.core 1                             # dense layer over both matrix units
	set r0, X, 1
	set r1, 0, 1
	set r2, BATCH, 1
	set r3, 1, 1
	set r6, DH, 1
loop:
	ld xin0.mvm, r0, N, REPEATS
	ld xin1.mvm, r0, N, REPEATS
	mvm u0:mvm+mtvm, u1:mvm         # forward on both; u0 also runs the previous backward
	alu add r100, xout0.mvm, xout1.mvm, 128
	alu sig r100, r100, 128
	alu tanh r300, r100, 128
	alu exp r400, r300, 64
	alu log r400, r400, 64
	alu not r500, r400, 16
	alu and r500, r500, r400, 16
	alu or r500, r500, r400, 16
	alu min r600, r100, r300, 128
	alu max r600, r600, r300, 128
	alu eq r700, r100, r300, 8
	alu neq r700, r100, r300, 8
	alu lt r700, r100, r300, 8
	alu leq r700, r100, r300, 8
	alu gt r700, r100, r300, 8
	alu geq r700, r100, r300, 8
	alu rand_cmp r800, r100, 128    # a stochastic mask
	alu mul r100, r100, r800, 128
	alu div r100, r100, r300, 128
	alu sub r100, r100, r300, 128
	alui add r900, r100, 4096, 128
	alui mul r900, r900, LR_CODE, 128
	alui max r900, r900, -8192, 128
	ld xin0.mtvm, r6, N, REPEATS
	cp xin1.mtvm, xin0.mtvm, 128
	cp xout0.opa, xin0.mtvm, 128
	cp xout1.opa, xin0.mtvm, 128
	cp xin0.opa, xin0.mvm, 128
	cp xin1.opa, xin1.mvm, 128
	mvm u0:mvm+opa, u1:mtvm+opa     # mixed: forward + update, backward + update
	mvm u0:mtvm+opa, u1:mvm+mtvm+opa
	mvm u0:mvm+mtvm+opa, u1:opa
	mvm u1:mtvm
	alu_int sub r2, r2, r3
	alu_int mul r4, r2, r3
	alu_int div r4, r4, r3
	alu_int mod r4, r4, r3
	beq r2, r1, done
	jmp loop
done:
	crs u0, u1
	hlt

# ---------------------------------------------------------------- tile 1
.tile 1
.data LABEL
.word 0, 0, 0, 4096, 0, 0, 0, 0, 0, 0
	receive Y, 0, N, 1, REPEATS     # activations from tile 0
	send DY, 0, N, DH, REPEATS      # errors back to tile 0
	halt

.core 0
	set r0, Y, 1
	set r1, LABEL, 1
	set r2, DY, 1
	ld xin0.mvm, r0, N, REPEATS
	ld r200, r1, 10, 1
	mvm u0:mvm
	alu log_softmax r100, xout0.mvm, 10
	alu sub r110, r100, r200, 10    # loss gradient at the log-probabilities
	alu log_softmax_d xout0.opa, r110, r100, 10
	cp xin0.opa, xin0.mvm, 128
	cp xin0.mtvm, xout0.opa, 10
	mvm u0:mtvm+opa
	st r2, xout0.mtvm, 1, N, REPEATS
	crs u0
	nop
	hlt

.core 1                             # every operation set of one unit on its own
	mvm u1:mvm
	mvm u1:mtvm
	mvm u1:opa
	mvm u1:mvm+mtvm
	mvm u1:mvm+opa
	mvm u1:mtvm+opa
	mvm u1:mvm+mtvm+opa
	crs u1
	hlt
