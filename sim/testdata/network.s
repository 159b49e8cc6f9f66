# Tile 0 sends its 128 initial words to tile 1 (same router) and to tile 13
# (node 1, router 1); each receiver's core 0 loads them.
.tile 0
	send 0, 1, 16, 0, 8
	send 0, 13, 16, 0, 8
	halt
.tile 1
	receive 0, 0, 16, 1, 8
	halt
.core 0
	set r2000, 0, 1
	ld r0, r2000, 16, 8
	hlt
.tile 13
	receive 0, 0, 16, 1, 8
	halt
.core 0
	set r2000, 0, 1
	ld r0, r2000, 16, 8
	hlt
