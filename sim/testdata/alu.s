# Vector-ALU-heavy code: 16-element operations in a loop of 10000 rounds,
# as activation and error arithmetic would run between crossbar operations.
.const ROUNDS = 10000
.tile 0
	halt
.core 0
	set r0, 0, 1
	set r1, ROUNDS, 1
	set r2, 1, 1
	set r100, 1024, 16
	set r200, -512, 16
round:
	alu add r300, r100, r200, 16
	alu mul r316, r300, r100, 16
	alu sub r332, r316, r200, 16
	alu max r348, r332, r300, 16
	alu relu r364, r348, 16
	alu sig r380, r364, 16
	alui mul r396, r380, -41, 16
	alu relud r412, r396, r364, 16
	alu_int add r0, r0, r2
	beq r0, r1, done
	jmp round
done:
	hlt
