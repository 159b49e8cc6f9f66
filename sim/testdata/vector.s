# Every vector operation on 64 elements: a at r0, b at r64 (loaded from A and
# B, put in shared memory by the test); op k writes r(200 + 64k). Then alui
# with an immediate, and two operations whose result overlaps an operand.
.const A = 0
.const B = 64
.tile 0
	halt
.core 0
	set r2000, A, 1
	set r2001, B, 1
	ld r0, r2000, 16, 4
	ld r64, r2001, 16, 4
	alu add r200, r0, r64, 64
	alu sub r264, r0, r64, 64
	alu mul r328, r0, r64, 64
	alu div r392, r0, r64, 64
	alu and r456, r0, r64, 64
	alu or r520, r0, r64, 64
	alu not r584, r0, 64
	alu eq r648, r0, r64, 64
	alu neq r712, r0, r64, 64
	alu lt r776, r0, r64, 64
	alu leq r840, r0, r64, 64
	alu gt r904, r0, r64, 64
	alu geq r968, r0, r64, 64
	alu min r1032, r0, r64, 64
	alu max r1096, r0, r64, 64
	alu sig r1160, r0, 64
	alu tanh r1224, r0, 64
	alu exp r1288, r0, 64
	alu log r1352, r0, 64
	alu relu r1416, r0, 64
	alu relud r1480, r0, r64, 64    # a where b > 0
	alu log_softmax r1544, r0, 64
	alu log_softmax_d r1608, r0, r64, 64
	alu rand_cmp r1672, r0, 64
	alui mul r1736, r0, -1234, 64
	alui max r1800, r0, 100, 64
	cp r1864, r0, 64
	alu add r1865, r1864, r64, 63   # the result overlaps operand a, one word on
	cp r1930, r64, 64
	cp r1928, r1930, 64             # a copy onto an overlapping range
	hlt
