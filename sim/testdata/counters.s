# Core 0 stores two values in turn at V, each for two readers; cores 1 and 2
# read both. The readers start first and wait for the valid bit; the second
# store waits until both have read the first.
.const V = 100
.tile 0
	halt
.core 0
	set r0, V, 1
	set r10, 111, 16
	st r0, r10, 2, 16, 1
	set r10, 222, 16
	st r0, r10, 2, 16, 1
	hlt
.core 1
	set r0, V, 1
	ld r100, r0, 16, 1
	ld r200, r0, 16, 1
	hlt
.core 2
	set r0, V, 1
	ld r100, r0, 16, 1
	ld r200, r0, 16, 1
	hlt
