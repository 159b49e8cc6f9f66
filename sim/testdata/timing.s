# A counted loop and two vector operations, for cycle counts by hand.
.tile 0
	halt
.core 0
	set r0, 0, 1
	set r1, 3, 1
	set r2, 1, 1
loop:
	alu_int add r0, r0, r2
	beq r0, r1, out
	jmp loop
out:
	alu add r10, r20, r30, 10
	alu log_softmax r10, r20, 10
	hlt
