package isa

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is an operand type: its width in the word, which values are valid
// under an Arch, and how it is written in assembly.
type Kind struct {
	Name   string
	Bits   int
	Signed bool   // two's complement in the field
	Doc    string // valid values and how they are written, for docs/isa.md
	syntax syntax
	names  []string // synOpName: operation names, indexed by value
	// opsPerUnit is, for synMask, the mask bits per matrix unit: 3 for mvm
	// (mvm, mtvm, opa), 1 for crs.
	opsPerUnit int
	// bounds holds every valid value; for most kinds all values inside are valid.
	bounds func(a Arch) (lo, hi int)
	// explain, if set, replaces the bounds check: it says why v is invalid, or "".
	explain func(a Arch, v int) string
	// format writes a value in assembly; nil writes the decimal number.
	format func(a Arch, v int) string
}

// syntax is how the assembler reads an operand.
type syntax uint8

const (
	synExpr   syntax = iota // numbers, named constants and register names joined by + and -
	synLabel                // like synExpr, but names may also be labels of the section
	synOpName               // an operation name written right after the mnemonic
	synMask                 // matrix units uM (with :op+op when opsPerUnit is 3), one per operand
)

// MaxWidth is the most words one ld, st, send or receive repeat moves: one
// 256-bit bus transfer of 16-bit words.
const MaxWidth = 16

// between is a range that does not depend on the architecture.
func between(lo, hi int) func(Arch) (int, int) {
	return func(Arch) (int, int) { return lo, hi }
}

var (
	kReg = &Kind{Name: "reg", Bits: 16,
		Doc:    "register address: `xinM.K` or `xoutM.K` (K is mvm, mtvm or opa) for the crossbar buffers, `rN` for data-memory word N, each with an optional `+offset`, or a plain address 0..RegisterSpace-1",
		bounds: func(a Arch) (int, int) { return 0, a.RegisterSpace() - 1 },
		format: regName}
	kDataReg = &Kind{Name: "dreg", Bits: 16,
		Doc:    "data-memory register `rN`, N < RegisterWords (register address DataBase+N)",
		bounds: func(a Arch) (int, int) { return a.DataBase(), a.RegisterSpace() - 1 },
		format: regName}
	kMem = &Kind{Name: "mem", Bits: 16,
		Doc:    "shared-memory word address 0..SharedWords-1",
		bounds: func(a Arch) (int, int) { return 0, a.SharedWords - 1 }}
	kTile = &Kind{Name: "tile", Bits: 16,
		Doc:    "tile number 0..Nodes*TilesPerNode-1 (tile t is on node t / TilesPerNode)",
		bounds: func(a Arch) (int, int) { return 0, a.Tiles() - 1 }}
	kWidth = &Kind{Name: "width", Bits: 5,
		Doc:    "1..16 words (one 256-bit bus transfer)",
		bounds: between(1, MaxWidth)}
	kVec = &Kind{Name: "vec", Bits: 16,
		Doc:    "repeat count 1..65535",
		bounds: between(1, 1<<16-1)}
	kCounter = &Kind{Name: "counter", Bits: 8,
		Doc:    "number of reads 1..255",
		bounds: between(1, 1<<8-1)}
	kImm = &Kind{Name: "imm", Bits: 16, Signed: true,
		Doc:    "signed 16-bit value -32768..32767 (a Q4.12 code, an integer or an address)",
		bounds: between(-1<<15, 1<<15-1)}
	kAluOp = &Kind{Name: "aluop", Bits: 5, syntax: synOpName, names: opNames(aluOps[:]),
		Doc:     "vector operation name (see Vector operations)",
		bounds:  between(0, len(aluOps)-1),
		explain: aluOpProblem(false),
		format:  aluOpName}
	kAluImmOp = &Kind{Name: "aluiop", Bits: 5, syntax: synOpName, names: opNames(aluOps[:]),
		Doc:     "element-wise binary vector operation name (marked `alui` under Vector operations)",
		bounds:  between(0, len(aluOps)-1),
		explain: aluOpProblem(true),
		format:  aluOpName}
	kIntOp = &Kind{Name: "intop", Bits: 3, syntax: synOpName, names: opNames(intOps[:]),
		Doc:    "integer operation: add, sub, mul, div or mod",
		bounds: between(0, len(intOps)-1),
		explain: func(a Arch, v int) string {
			if v < 0 || v >= len(intOps) {
				return fmt.Sprintf("%d is not an integer operation (0..%d)", v, len(intOps)-1)
			}
			return ""
		},
		format: func(_ Arch, v int) string { return IntOp(v).String() }}
	kXbarMask = &Kind{Name: "xbarmask", Bits: 3 * MaxMatrixUnits, syntax: synMask, opsPerUnit: 3,
		Doc:     "per matrix unit `uM:ops`, ops from mvm, mtvm, opa joined by `+`, units separated by commas (`u0:mvm+opa, u1:mtvm`); bit 3M+k selects operation k (0 mvm, 1 mtvm, 2 opa) of unit M; at least one bit, M < MatrixUnits",
		bounds:  maskBounds(3),
		explain: maskProblem(3),
		format:  maskText(3)}
	kUnitMask = &Kind{Name: "unitmask", Bits: MaxMatrixUnits, syntax: synMask, opsPerUnit: 1,
		Doc:     "matrix units `uM` separated by commas (`u0, u1`); bit M selects unit M; at least one, M < MatrixUnits",
		bounds:  maskBounds(1),
		explain: maskProblem(1),
		format:  maskText(1)}
	kShift = &Kind{Name: "shift", Bits: 10,
		Doc:    "0..CrossbarSize-1",
		bounds: func(a Arch) (int, int) { return 0, a.CrossbarSize - 1 }}
	kSeg = &Kind{Name: "seg", Bits: 10,
		Doc:    "0..CrossbarSize",
		bounds: func(a Arch) (int, int) { return 0, a.CrossbarSize }}
	kTarget = &Kind{Name: "target", Bits: 16, syntax: synLabel,
		Doc:    "label, or instruction index 0..CoreInstMem-1",
		bounds: func(a Arch) (int, int) { return 0, a.CoreInstMem - 1 }}
)

// problem says why v is not a valid value of k under a, or "".
func (k *Kind) problem(a Arch, v int) string {
	if k.explain != nil {
		return k.explain(a, v)
	}
	lo, hi := k.bounds(a)
	if v >= lo && v <= hi {
		return ""
	}
	msg := fmt.Sprintf("%s is out of range %s..%s", k.text(a, v), k.text(a, lo), k.text(a, hi))
	if k.format != nil {
		msg += fmt.Sprintf(" (addresses %d..%d)", lo, hi)
	}
	return msg
}

// text writes v as the assembler reads it.
func (k *Kind) text(a Arch, v int) string {
	if k.format != nil {
		return k.format(a, v)
	}
	return strconv.Itoa(v)
}

// regName writes a register address readably: xinM.K+off, xoutM.K+off or rN.
func regName(a Arch, v int) string {
	s := a.CrossbarSize
	if s <= 0 || v < 0 || v >= a.RegisterSpace() {
		return strconv.Itoa(v)
	}
	if v >= a.DataBase() {
		return "r" + strconv.Itoa(v-a.DataBase())
	}
	area, rel := "xin", v
	if outBase := a.XbarOut(0, XbarMVM); v >= outBase {
		area, rel = "xout", v-outBase
	}
	name := fmt.Sprintf("%s%d.%s", area, rel/(3*s), XbarOp(rel/s%3))
	if off := rel % s; off > 0 {
		name += "+" + strconv.Itoa(off)
	}
	return name
}

func maskBounds(opsPerUnit int) func(Arch) (int, int) {
	return func(a Arch) (int, int) { return 1, 1<<(opsPerUnit*a.MatrixUnits) - 1 }
}

func maskProblem(opsPerUnit int) func(Arch, int) string {
	return func(a Arch, v int) string {
		switch {
		case v == 0:
			return "is empty: name at least one matrix unit, e.g. u0"
		case v < 0 || v >= 1<<(opsPerUnit*MaxMatrixUnits):
			return fmt.Sprintf("0x%x does not fit %d bits", v, opsPerUnit*MaxMatrixUnits)
		}
		if top := (bitLen(v) - 1) / opsPerUnit; top >= a.MatrixUnits {
			return fmt.Sprintf("names matrix unit u%d, but %s", top, unitsText(a))
		}
		return ""
	}
}

// unitsText says which matrix units a core has.
func unitsText(a Arch) string {
	if a.MatrixUnits == 1 {
		return "a core has 1 matrix unit (u0)"
	}
	return fmt.Sprintf("a core has %d matrix units (u0..u%d)", a.MatrixUnits, a.MatrixUnits-1)
}

func bitLen(v int) int {
	n := 0
	for ; v > 0; v >>= 1 {
		n++
	}
	return n
}

// maskText writes a mask as the assembler reads it: "u0:mvm+opa, u1:mtvm"
// for mvm, "u0, u1" for crs.
func maskText(opsPerUnit int) func(Arch, int) string {
	return func(_ Arch, v int) string {
		var units []string
		for u := 0; u < MaxMatrixUnits; u++ {
			bits := v >> (opsPerUnit * u) & (1<<opsPerUnit - 1)
			if bits == 0 {
				continue
			}
			name := "u" + strconv.Itoa(u)
			if opsPerUnit > 1 {
				var ops []string
				for k := 0; k < opsPerUnit; k++ {
					if bits>>k&1 == 1 {
						ops = append(ops, XbarOp(k).String())
					}
				}
				name += ":" + strings.Join(ops, "+")
			}
			units = append(units, name)
		}
		if len(units) == 0 {
			return "0"
		}
		return strings.Join(units, ", ")
	}
}

// AluOp is a vector operation of alu and alui. Values are part of the
// encoding: append new operations, never renumber.
type AluOp uint8

// The vector operations; a and b are the elements at r1 and r2 (or imm).
const (
	AluAdd AluOp = iota
	AluSub
	AluMul
	AluDiv
	AluAnd
	AluOr
	AluNot
	AluEq
	AluNeq
	AluLt
	AluLeq
	AluGt
	AluGeq
	AluMin
	AluMax
	AluSig
	AluTanh
	AluExp
	AluLog
	AluRelu
	AluRelud
	AluLogSoftmax
	AluLogSoftmaxD
	AluRandCmp
)

// opInfo describes one operation of alu, alui or alu_int.
type opInfo struct {
	name    string
	unary   bool // reads a only
	imm     bool // alui may use it (element-wise and binary)
	meaning string
}

// Vector operations work on Q4.12 codes with round-half-away and saturation
// (docs/numeric-model.md); comparisons give 1.0 (code 4096) or 0 so that a mul applies them.
var aluOps = [...]opInfo{
	AluAdd:         {"add", false, true, "a + b"},
	AluSub:         {"sub", false, true, "a - b"},
	AluMul:         {"mul", false, true, "a * b"},
	AluDiv:         {"div", false, true, "a / b"},
	AluAnd:         {"and", false, true, "bitwise a AND b on the 16-bit patterns"},
	AluOr:          {"or", false, true, "bitwise a OR b on the 16-bit patterns"},
	AluNot:         {"not", true, false, "bitwise NOT a"},
	AluEq:          {"eq", false, true, "1.0 if a == b, else 0"},
	AluNeq:         {"neq", false, true, "1.0 if a != b, else 0"},
	AluLt:          {"lt", false, true, "1.0 if a < b, else 0"},
	AluLeq:         {"leq", false, true, "1.0 if a <= b, else 0"},
	AluGt:          {"gt", false, true, "1.0 if a > b, else 0"},
	AluGeq:         {"geq", false, true, "1.0 if a >= b, else 0"},
	AluMin:         {"min", false, true, "min(a, b)"},
	AluMax:         {"max", false, true, "max(a, b)"},
	AluSig:         {"sig", true, false, "sigmoid(a) = 1 / (1 + exp(-a))"},
	AluTanh:        {"tanh", true, false, "tanh(a)"},
	AluExp:         {"exp", true, false, "exp(a)"},
	AluLog:         {"log", true, false, "natural log(a)"},
	AluRelu:        {"relu", true, false, "max(a, 0)"},
	AluRelud:       {"relud", false, false, "relu derivative applied to an error: a if b > 0, else 0 (a: error, b: forward value)"},
	AluLogSoftmax:  {"log_softmax", true, false, "a[i] - log(sum_j exp(a[j])) over the vec elements"},
	AluLogSoftmaxD: {"log_softmax_d", false, false, "log_softmax derivative: a[i] - exp(b[i]) * sum_j a[j] (a: error, b: log_softmax output)"},
	AluRandCmp:     {"rand_cmp", true, false, "random compare: 1.0 if a uniform draw u in [0, 1) from the seeded generator is below a, else 0"},
}

func (o AluOp) String() string {
	if int(o) < len(aluOps) {
		return aluOps[o].name
	}
	return "aluop(" + strconv.Itoa(int(o)) + ")"
}

// Unary reports whether the operation reads only its first operand.
func (o AluOp) Unary() bool { return int(o) < len(aluOps) && aluOps[o].unary }

func aluOpName(_ Arch, v int) string { return AluOp(v).String() }

func aluOpProblem(immediate bool) func(Arch, int) string {
	return func(_ Arch, v int) string {
		switch {
		case v < 0 || v >= len(aluOps):
			return fmt.Sprintf("%d is not a vector operation (0..%d)", v, len(aluOps)-1)
		case immediate && !aluOps[v].imm:
			return fmt.Sprintf("%s has no immediate form (alui takes element-wise binary operations); use alu", aluOps[v].name)
		}
		return ""
	}
}

// IntOp is an integer operation of alu_int.
type IntOp uint8

// The integer operations, on 16-bit two's-complement words.
const (
	IntAdd IntOp = iota
	IntSub
	IntMul
	IntDiv
	IntMod
)

var intOps = [...]opInfo{
	IntAdd: {"add", false, false, "a + b"},
	IntSub: {"sub", false, false, "a - b"},
	IntMul: {"mul", false, false, "a * b"},
	IntDiv: {"div", false, false, "a / b, truncated toward zero"},
	IntMod: {"mod", false, false, "a - b * (a / b), the remainder of div"},
}

func (o IntOp) String() string {
	if int(o) < len(intOps) {
		return intOps[o].name
	}
	return "intop(" + strconv.Itoa(int(o)) + ")"
}

func opNames(ops []opInfo) []string {
	names := make([]string, len(ops))
	for i, o := range ops {
		names[i] = o.name
	}
	return names
}
