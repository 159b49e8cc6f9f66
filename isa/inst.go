package isa

// Inst is one decoded instruction: the opcode and the operands its table row
// lists. Operands the row does not list are 0, so equal instructions are
// equal values.
type Inst struct {
	Op         Opcode
	Alu        AluOp // alu, alui: vector operation
	Int        IntOp // alu_int: integer operation
	D1, R1, R2 int   // register addresses (see Arch.XbarIn, XbarOut, DataBase)
	Imm        int   // signed immediate
	Width      int   // words per repeat of ld, st, send, receive
	Vec        int   // repeat count
	Counter    int   // reads before stored words are free again
	Mask       Mask  // mvm, crs: matrix units and operations
	Shift, Seg int   // mvm: input-buffer reuse for convolution
	Tile       int   // send: receiving tile; receive: sending tile
	Addr       int   // send, receive: shared-memory address in this tile
	TargetAddr int   // send: shared-memory address at the receiver
	Target     int   // jmp, beq: instruction index
}

// Mask selects matrix units. In mvm, bit 3u+k selects operation k (XbarOp)
// of unit u; in crs, bit u selects unit u.
type Mask uint32

// MvmBit is the mvm mask bit that runs op on matrix unit unit.
func MvmBit(unit int, op XbarOp) Mask { return 1 << (3*unit + int(op)) }

// CrsBit is the crs mask bit of matrix unit unit.
func CrsBit(unit int) Mask { return 1 << unit }

// Runs reports whether an mvm mask runs op on unit.
func (m Mask) Runs(unit int, op XbarOp) bool { return m&MvmBit(unit, op) != 0 }

// Resolves reports whether a crs mask resolves unit.
func (m Mask) Resolves(unit int) bool { return m&CrsBit(unit) != 0 }
