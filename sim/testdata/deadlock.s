# Nothing here can finish. Tile 0's control unit waits for a message tile 1
# never sends; core 0 reads a word nobody stores; core 1 stores over initial
# data, which reads never free. Tile 1 cannot send: its words were never
# written. Tile 2 sends to tile 3 twice; tile 3 never receives from it, so
# the second send waits for the slot to empty.
.tile 0
.data 60
.word 7
	receive 300, 1, 16, 1, 1
	halt
.core 0
	set r0, 50, 1
	ld r1, r0, 1, 1
	hlt
.core 1
	set r0, 60, 1
	st r0, r1, 1, 1, 1
	hlt
.tile 1
	send 0, 0, 16, 300, 1
	halt
.tile 2
.data 0
.word 1, 2
	send 0, 3, 2, 0, 1
	send 0, 3, 2, 0, 1
	halt
.tile 3
	receive 0, 1, 2, 1, 1
	halt
