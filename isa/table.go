package isa

import (
	"fmt"
	"strconv"
)

// This file is the instruction set. Every fact about an instruction (its
// opcode, operands, their widths and valid values, the unit that runs it and
// what it means) lives in one row of table; the encoder, the decoder, the
// assembler's operand checks, the disassembler and docs/isa.md all read it.
// Adding an instruction is adding an Opcode constant and a row.

// Opcode identifies an instruction; its value is the opcode byte of the
// encoding. 0 is no instruction, so a zeroed word never decodes.
type Opcode uint8

// The opcodes. Values are part of the file format: never renumber one.
const (
	OpNop     Opcode = 0x01
	OpHlt     Opcode = 0x02
	OpJmp     Opcode = 0x03
	OpBeq     Opcode = 0x04
	OpLd      Opcode = 0x10
	OpSt      Opcode = 0x11
	OpCp      Opcode = 0x12
	OpSet     Opcode = 0x13
	OpAlu     Opcode = 0x20
	OpAlui    Opcode = 0x21
	OpAluInt  Opcode = 0x22
	OpMvm     Opcode = 0x30
	OpCrs     Opcode = 0x31
	OpSend    Opcode = 0x40
	OpReceive Opcode = 0x41
	OpHalt    Opcode = 0x42
)

// Proc is the processor an instruction runs on.
type Proc uint8

// The processors: a core, or a tile's control unit.
const (
	OnCore Proc = iota
	OnTile
)

func (p Proc) String() string {
	if p == OnTile {
		return "tile"
	}
	return "core"
}

// Unit is the part of a core or tile that executes an instruction; the
// simulator charges time and energy per unit, and inspect counts by it.
type Unit uint8

// The executing units.
const (
	UnitControl  Unit = iota // sequencing: branches, halts, nop
	UnitMemory               // the core's port to tile shared memory
	UnitRegister             // moves within the core's register space
	UnitVector               // vector ALU and transcendental unit
	UnitScalar               // integer ALU for addresses and loop counters
	UnitMatrix               // the matrix units (crossbars)
	UnitNetwork              // the tile's send and receive through the router
)

var unitNames = [...]string{"control", "memory", "register", "vector", "scalar", "matrix", "network"}

func (u Unit) String() string {
	if int(u) < len(unitNames) {
		return unitNames[u]
	}
	return "Unit(" + strconv.Itoa(int(u)) + ")"
}

// Units lists every Unit in order.
func Units() []Unit {
	us := make([]Unit, len(unitNames))
	for i := range us {
		us[i] = Unit(i)
	}
	return us
}

// Def is one row of the table: one instruction.
type Def struct {
	Op      Opcode
	Name    string // mnemonic
	Proc    Proc
	Unit    Unit
	Fields  []Field // operands in assembly order, also their order in the word from the opcode down
	Meaning string
	// rule, if set, checks constraints between fields and returns what is
	// wrong, or "".
	rule func(a Arch, in Inst) string
}

// Field is one operand of an instruction.
type Field struct {
	Name  string
	Kind  *Kind
	Doc   string // what the operand means for this instruction
	Named bool   // written name=value, may be left out (0), printed only when not 0
	// unused reports, for instructions where the field depends on another
	// (alu's r2 for a unary operation), that the field is not written in
	// assembly and must be 0.
	unused func(in Inst) bool
	lsb    int      // lowest bit of the field in the word, set by init
	loc    fieldLoc // where the value lives in Inst
}

// Set stores v as the field's value in in; v must fit the field's Go type
// (Check tells whether it is valid).
func (f *Field) Set(in *Inst, v int) { f.set(in, v) }

func (f *Field) get(in *Inst) int {
	switch f.loc {
	case atAlu:
		return int(in.Alu)
	case atInt:
		return int(in.Int)
	case atMask:
		return int(in.Mask)
	}
	return *f.loc.int(in)
}

func (f *Field) set(in *Inst, v int) {
	switch f.loc {
	case atAlu:
		in.Alu = AluOp(v)
	case atInt:
		in.Int = IntOp(v)
	case atMask:
		in.Mask = Mask(v)
	default:
		*f.loc.int(in) = v
	}
}

// Range holds every valid value of the field under a (not every value in it
// need be valid; Check decides).
func (f *Field) Range(a Arch) (lo, hi int) { return f.Kind.bounds(a) }

func field(name string, k *Kind, loc fieldLoc, doc string) Field {
	return Field{Name: name, Kind: k, Doc: doc, loc: loc}
}

// fieldLoc names a field of Inst. Fields are read and written through a
// switch rather than through functions held in the table, so that checking
// or decoding an instruction keeps it on the stack.
type fieldLoc uint8

const (
	atAlu fieldLoc = iota
	atInt
	atMask
	atD1
	atR1
	atR2
	atImm
	atWidth
	atVec
	atCounter
	atShift
	atSeg
	atTile
	atAddr
	atTargetAddr
	atTarget
)

// int returns the int field that l names (every field but Alu, Int and Mask).
func (l fieldLoc) int(in *Inst) *int {
	switch l {
	case atD1:
		return &in.D1
	case atR1:
		return &in.R1
	case atR2:
		return &in.R2
	case atImm:
		return &in.Imm
	case atWidth:
		return &in.Width
	case atVec:
		return &in.Vec
	case atCounter:
		return &in.Counter
	case atShift:
		return &in.Shift
	case atSeg:
		return &in.Seg
	case atTile:
		return &in.Tile
	case atAddr:
		return &in.Addr
	case atTargetAddr:
		return &in.TargetAddr
	case atTarget:
		return &in.Target
	}
	panic(fmt.Sprintf("isa: field location %d is not an int field", l))
}

// Operand fields shared by several rows.
var (
	vecField   = field("vec", kVec, atVec, "repeat count")
	widthField = field("width", kWidth, atWidth, "words per repeat")
)

var table = []Def{
	{Op: OpNop, Name: "nop", Proc: OnCore, Unit: UnitControl,
		Meaning: "Do nothing for one cycle."},
	{Op: OpHlt, Name: "hlt", Proc: OnCore, Unit: UnitControl,
		Meaning: "Stop this core."},
	{Op: OpJmp, Name: "jmp", Proc: OnCore, Unit: UnitControl,
		Fields: []Field{
			field("target", kTarget, atTarget, "instruction to continue at"),
		},
		Meaning: "Continue at target."},
	{Op: OpBeq, Name: "beq", Proc: OnCore, Unit: UnitControl,
		Fields: []Field{
			field("r1", kDataReg, atR1, "first word compared"),
			field("r2", kDataReg, atR2, "second word compared"),
			field("target", kTarget, atTarget, "instruction to continue at when equal"),
		},
		Meaning: "Continue at target if data registers r1 and r2 hold equal words, else at the next instruction."},
	{Op: OpLd, Name: "ld", Proc: OnCore, Unit: UnitMemory,
		Fields: []Field{
			field("d1", kReg, atD1, "first register written (data memory or a crossbar buffer)"),
			field("r1", kDataReg, atR1, "data register holding the shared-memory address"),
			widthField, vecField,
		},
		Meaning: "Load vec x width consecutive words from tile shared memory, starting at the address held in r1, into d1 onward; waits until each word is valid and decrements its reader counter."},
	{Op: OpSt, Name: "st", Proc: OnCore, Unit: UnitMemory,
		Fields: []Field{
			field("d1", kDataReg, atD1, "data register holding the shared-memory address"),
			field("r1", kReg, atR1, "first register read"),
			field("counter", kCounter, atCounter, "reads before the words are free again"),
			widthField, vecField,
		},
		Meaning: "Store vec x width consecutive words from r1 onward into tile shared memory at the address held in d1; waits until the words are free, then marks them valid with counter readers."},
	{Op: OpCp, Name: "cp", Proc: OnCore, Unit: UnitRegister,
		Fields: []Field{
			field("d1", kReg, atD1, "first register written"),
			field("r1", kReg, atR1, "first register read"),
			vecField,
		},
		Meaning: "Copy vec words from r1 onward to d1 onward."},
	{Op: OpSet, Name: "set", Proc: OnCore, Unit: UnitRegister,
		Fields: []Field{
			field("d1", kReg, atD1, "first register written"),
			field("imm", kImm, atImm, "value written"),
			vecField,
		},
		Meaning: "Write imm into vec registers from d1 onward."},
	{Op: OpAlu, Name: "alu", Proc: OnCore, Unit: UnitVector,
		Fields: []Field{
			field("op", kAluOp, atAlu, "vector operation"),
			field("d1", kReg, atD1, "first result register"),
			field("r1", kReg, atR1, "first element of operand a"),
			withUnused(field("r2", kReg, atR2, "first element of operand b (binary operations only)"),
				func(in Inst) bool { return in.Alu.Unary() }),
			vecField,
		},
		Meaning: "Vector operation on vec elements: d1[i] = op(a[i], b[i]) with a at r1 and b at r2; unary operations read only r1 and are written without r2."},
	{Op: OpAlui, Name: "alui", Proc: OnCore, Unit: UnitVector,
		Fields: []Field{
			field("op", kAluImmOp, atAlu, "element-wise binary vector operation"),
			field("d1", kReg, atD1, "first result register"),
			field("r1", kReg, atR1, "first element of operand a"),
			field("imm", kImm, atImm, "operand b for every element (a Q4.12 code; a bit pattern for and, or)"),
			vecField,
		},
		Meaning: "Vector operation with an immediate: d1[i] = op(a[i], imm) for vec elements, a at r1."},
	{Op: OpAluInt, Name: "alu_int", Proc: OnCore, Unit: UnitScalar,
		Fields: []Field{
			field("op", kIntOp, atInt, "integer operation"),
			field("d1", kDataReg, atD1, "result register"),
			field("r1", kDataReg, atR1, "operand a"),
			field("r2", kDataReg, atR2, "operand b"),
		},
		Meaning: "Scalar integer operation for addresses and loop counters: d1 = op(r1, r2) on 16-bit two's-complement words, wrapping."},
	{Op: OpMvm, Name: "mvm", Proc: OnCore, Unit: UnitMatrix,
		Fields: []Field{
			field("mask", kXbarMask, atMask, "operations per matrix unit"),
			named(field("shift", kShift, atShift, "words each input segment moves down afterwards (0: no reuse)")),
			named(field("seg", kSeg, atSeg, "length of the input segments that shift (0: no reuse)")),
		},
		rule: mvmStrideRule,
		Meaning: "Run, on each matrix unit named in the mask, any of: MVM (xinM.mvm to xoutM.mvm), MTVM (xinM.mtvm to xoutM.mtvm), " +
			"OPA (rows from xinM.opa, columns from xoutM.opa, scaled by the unit's eta); all selected operations run together. " +
			"With shift > 0, afterwards every seg-word segment of each used MVM and MTVM input buffer moves down by shift words " +
			"(word j takes word j+shift; the last shift words of each segment are left for the next ld), so consecutive convolution windows reuse their overlap."},
	{Op: OpCrs, Name: "crs", Proc: OnCore, Unit: UnitMatrix,
		Fields: []Field{
			field("mask", kUnitMask, atMask, "matrix units to resolve"),
		},
		Meaning: "Carry resolution on each matrix unit named in the mask: read the update set, recombine each weight and rewrite it (and, in the accumulate and pipelined variants, the read sets) in nominal form."},
	{Op: OpSend, Name: "send", Proc: OnTile, Unit: UnitNetwork,
		Fields: []Field{
			field("mem_addr", kMem, atAddr, "first shared-memory word sent"),
			field("tile", kTile, atTile, "receiving tile"),
			widthField,
			field("target_addr", kMem, atTargetAddr, "where the receiver stores the data; must equal its receive's mem_addr"),
			vecField,
		},
		Meaning: "Send vec x width words from this tile's shared memory at mem_addr to tile's receive buffer (the slot for this sender); reading them waits until valid and counts as one read of each word."},
	{Op: OpReceive, Name: "receive", Proc: OnTile, Unit: UnitNetwork,
		Fields: []Field{
			field("mem_addr", kMem, atAddr, "first shared-memory word written"),
			field("tile", kTile, atTile, "sending tile, whose receive-buffer slot is read"),
			widthField,
			field("counter", kCounter, atCounter, "reads before the words are free again"),
			vecField,
		},
		Meaning: "Wait for data from tile in its receive-buffer slot and store vec x width words into this tile's shared memory at mem_addr, valid with counter readers (waits until the words are free)."},
	{Op: OpHalt, Name: "halt", Proc: OnTile, Unit: UnitControl,
		Meaning: "Stop this tile's control unit."},
}

func named(f Field) Field { f.Named = true; return f }

func withUnused(f Field, unused func(Inst) bool) Field { f.unused = unused; return f }

func mvmStrideRule(a Arch, in Inst) string {
	if (in.Shift == 0) != (in.Seg == 0) {
		return fmt.Sprintf("shift=%d and seg=%d go together: give both, with 0 < shift < seg, or neither", in.Shift, in.Seg)
	}
	if in.Shift >= in.Seg && in.Seg != 0 {
		return fmt.Sprintf("shift=%d must be less than seg=%d", in.Shift, in.Seg)
	}
	return ""
}

// Word layout: the opcode byte on top, the fields below it in table order.
const (
	WordBits  = 128
	opcodeLSB = WordBits - 8
)

var (
	defByOp   [256]*Def
	defByName = map[string]*Def{}
)

func init() {
	for i := range table {
		d := &table[i]
		if defByOp[d.Op] != nil || defByName[d.Name] != nil {
			panic("isa: opcode or mnemonic used twice: " + d.Name)
		}
		defByOp[d.Op] = d
		defByName[d.Name] = d
		next := opcodeLSB
		for j := range d.Fields {
			next -= d.Fields[j].Kind.Bits
			d.Fields[j].lsb = next
		}
		if next < 0 {
			panic("isa: fields of " + d.Name + " do not fit the word")
		}
	}
}

// Defs returns the table, in order.
func Defs() []Def { return table }

// Lookup returns the row of op, or nil if op is not an instruction.
func Lookup(op Opcode) *Def { return defByOp[op] }

// LookupName returns the row of a mnemonic, or nil.
func LookupName(name string) *Def { return defByName[name] }

func (op Opcode) String() string {
	if d := defByOp[op]; d != nil {
		return d.Name
	}
	return fmt.Sprintf("opcode(0x%02x)", uint8(op))
}
