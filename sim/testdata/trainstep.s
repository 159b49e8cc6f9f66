# One core trains on one 128 x 128 matrix unit: MVM, MTVM and OPA, STEPS
# times, with its buffers loaded once from shared memory (X rows at 0, D
# columns at 128).
.const STEPS = 1000
.tile 0
	halt
.core 0
	set r0, 0, 1
	set r1, 128, 1
	ld xin0.mvm, r0, 16, 8
	ld xin0.mtvm, r1, 16, 8
	cp xin0.opa, xin0.mvm, 128
	cp xout0.opa, xin0.mtvm, 128
	set r2, 0, 1                  # step counter
	set r3, STEPS, 1
	set r4, 1, 1
step:
	mvm u0:mvm
	mvm u0:mtvm
	mvm u0:opa
	alu_int add r2, r2, r4
	beq r2, r3, done
	jmp step
done:
	hlt
