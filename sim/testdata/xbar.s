# Every crossbar operation of matrix unit 0, read back against package xbar.
# Tile 0 holds the row input X at 0 and the column input D at 128 (initial
# data, put there by the test).
.const X = 0
.const D = 128
.tile 0
	halt
.core 0
	set r2000, X, 1
	set r2001, D, 1
	ld xin0.mvm, r2000, 16, 8       # 128 row inputs
	ld xin0.mtvm, r2001, 16, 8      # column inputs (the unit reads as many as it has columns)
	cp xin0.opa, xin0.mvm, 128      # OPA rows: x
	cp xout0.opa, xin0.mtvm, 128    # OPA columns: d
	mvm u0:mvm+mtvm+opa             # the products read the weights from before the update
	cp r0, xout0.mvm, 128
	cp r128, xout0.mtvm, 128
	crs u0
	mvm u0:mvm+mtvm                 # after the update and the carry resolution
	hlt
