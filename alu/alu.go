// Package alu owns the arithmetic of PANTHER's vector unit (docs/isa.md,
// the alu instruction) on Q4.12 codes, so that the fast trainer and the
// simulator compute every activation, error and loss term with the same
// bits. It knows nothing of crossbars, instructions, programs or training:
// it maps codes to codes and counts saturation events.
//
// Every result is a Q4.12 code (int16, real value q/2^12) formed by
// round_half_away and then sat16; a result whose rounded value lies outside
// [-2^15, 2^15-1] is clamped and counted as one saturation event (docs/numeric-model.md).
// The operations, with a and b the codes of the two operands:
//
//	add, sub   sat16(a ± b)
//	mul        sat16(round_half_away(a*b / 2^12)), exact in integers
//	div        sat16(round_half_away(a*2^12 / b)), exact in integers; b = 0
//	           gives the limit toward the sign of a (0 for 0/0) and counts
//	           an event in every case, 0/0 included
//	and, or    bitwise on the 16-bit patterns; not is bitwise NOT of a
//	eq .. geq  4096 (1.0) if the comparison of the codes holds, else 0
//	min, max   of the codes
//	relu       max(a, 0)
//	relud      4096 if a > 0, else 0 (the derivative of relu at a)
//	sig, tanh, exp
//	           the function of the real value a/2^12 in float64, converted
//	           with fixed.Q4_12.FromFloat (exact round_half_away, then sat16)
//	log        likewise; a <= 0 gives the minimum code -2^15 and an event
//	log_softmax (over a vector)
//	           y_i = (a_i - m) - log(sum_j exp(a_j - m)), m = max_j a_j, in
//	           float64 from the real values, each converted once
//	log_softmax_d (over a vector; a is the error arriving at a log_softmax
//	           output y = b) a_i - exp(b_i) * sum_j a_j in float64 from the
//	           real values, each converted once
//	rand_cmp   one uniform draw k = Uint32() per element, in element order,
//	           from the caller's rng.Source (u = k/2^32 in [0, 1)); the
//	           result is 4096 if u < a/2^12, that is a*2^20 > k exactly,
//	           else 0. A code a <= 0 never passes, a >= 4096 always does.
//
// Transcendental results go through float64 and Go's math package, which
// gives the same bits on every platform Go supports for these inputs; the
// conversion to Q4.12 is exact on the float64 value.
package alu

import (
	"fmt"
	"math"
	"strings"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/rng"
)

// One is the Q4.12 code of 1.0, the true value of comparisons.
const One = 1 << 12

// Op names a vector-unit operation.
type Op uint8

// The operations, in the order of the instruction set (docs/isa.md).
const (
	OpAdd Op = iota
	OpSub
	OpMul
	OpDiv
	OpAnd
	OpOr
	OpNot
	OpEq
	OpNeq
	OpLt
	OpLeq
	OpGt
	OpGeq
	OpMin
	OpMax
	OpSig
	OpTanh
	OpExp
	OpLog
	OpRelu
	OpRelud
	OpLogSoftmax
	OpLogSoftmaxD
	OpRandCmp
)

// opInfo is one row of the operation table: its name and how it is applied.
type opInfo struct {
	name string
	// binary and unary are the element-wise forms; vector ops have neither.
	binary func(a, b int16) (int16, bool)
	unary  func(a int16) (int16, bool)
}

var ops = [...]opInfo{
	OpAdd:         {name: "add", binary: Add},
	OpSub:         {name: "sub", binary: Sub},
	OpMul:         {name: "mul", binary: Mul},
	OpDiv:         {name: "div", binary: Div},
	OpAnd:         {name: "and", binary: func(a, b int16) (int16, bool) { return a & b, false }},
	OpOr:          {name: "or", binary: func(a, b int16) (int16, bool) { return a | b, false }},
	OpNot:         {name: "not", unary: func(a int16) (int16, bool) { return ^a, false }},
	OpEq:          {name: "eq", binary: func(a, b int16) (int16, bool) { return truth(a == b), false }},
	OpNeq:         {name: "neq", binary: func(a, b int16) (int16, bool) { return truth(a != b), false }},
	OpLt:          {name: "lt", binary: func(a, b int16) (int16, bool) { return truth(a < b), false }},
	OpLeq:         {name: "leq", binary: func(a, b int16) (int16, bool) { return truth(a <= b), false }},
	OpGt:          {name: "gt", binary: func(a, b int16) (int16, bool) { return truth(a > b), false }},
	OpGeq:         {name: "geq", binary: func(a, b int16) (int16, bool) { return truth(a >= b), false }},
	OpMin:         {name: "min", binary: func(a, b int16) (int16, bool) { return min(a, b), false }},
	OpMax:         {name: "max", binary: func(a, b int16) (int16, bool) { return max(a, b), false }},
	OpSig:         {name: "sig", unary: Sig},
	OpTanh:        {name: "tanh", unary: Tanh},
	OpExp:         {name: "exp", unary: Exp},
	OpLog:         {name: "log", unary: Log},
	OpRelu:        {name: "relu", unary: func(a int16) (int16, bool) { return Relu(a), false }},
	OpRelud:       {name: "relud", binary: func(a, b int16) (int16, bool) { return Mul(a, Relud(b)) }},
	OpLogSoftmax:  {name: "log_softmax"},
	OpLogSoftmaxD: {name: "log_softmax_d"},
	OpRandCmp:     {name: "rand_cmp"},
}

func (op Op) String() string {
	if int(op) < len(ops) {
		return ops[op].name
	}
	return fmt.Sprintf("op(%d)", op)
}

// ParseOp reads an operation name.
func ParseOp(s string) (Op, error) {
	names := make([]string, len(ops))
	for i, o := range ops {
		if strings.EqualFold(strings.TrimSpace(s), o.name) {
			return Op(i), nil
		}
		names[i] = o.name
	}
	return 0, fmt.Errorf("alu operation %q: want one of %s", s, strings.Join(names, ", "))
}

// Unary reports whether the operation reads only its first operand.
func (op Op) Unary() bool {
	return int(op) < len(ops) && (ops[op].unary != nil || op == OpLogSoftmax || op == OpRandCmp)
}

// Apply runs op element by element (or over the whole vector for
// log_softmax, log_softmax_d and rand_cmp) and writes dst. b is ignored by
// unary operations; src is read only by rand_cmp. It returns the number of
// saturation events.
func Apply(op Op, dst, a, b []int16, src *rng.Source) (events int, err error) {
	if int(op) >= len(ops) {
		return 0, fmt.Errorf("alu: unknown operation %d", op)
	}
	if len(a) != len(dst) || !op.Unary() && len(b) != len(dst) {
		return 0, fmt.Errorf("alu %s: operands hold %d and %d codes, the destination %d: they must match", op, len(a), len(b), len(dst))
	}
	info := ops[op]
	switch {
	case info.binary != nil:
		for i := range dst {
			var sat bool
			if dst[i], sat = info.binary(a[i], b[i]); sat {
				events++
			}
		}
	case info.unary != nil:
		for i := range dst {
			var sat bool
			if dst[i], sat = info.unary(a[i]); sat {
				events++
			}
		}
	case op == OpLogSoftmax:
		events = LogSoftmax(dst, a)
	case op == OpLogSoftmaxD:
		events = LogSoftmaxD(dst, a, b)
	case op == OpRandCmp:
		if src == nil {
			return 0, fmt.Errorf("alu rand_cmp: no random source given")
		}
		RandCmp(dst, a, src)
	}
	return events, nil
}

func truth(c bool) int16 {
	if c {
		return One
	}
	return 0
}

// Add returns sat16(a + b) and whether it saturated.
func Add(a, b int16) (int16, bool) { return fixed.Sat16(int64(a) + int64(b)) }

// Sub returns sat16(a - b) and whether it saturated.
func Sub(a, b int16) (int16, bool) { return fixed.Sat16(int64(a) - int64(b)) }

// Mul returns sat16(round_half_away(a*b / 2^12)).
func Mul(a, b int16) (int16, bool) { return fixed.Sat16(fixed.RoundShift(int64(a)*int64(b), 12)) }

// Div returns sat16(round_half_away(a*2^12 / b)); division by zero gives the
// limit toward the sign of a (0 for 0/0) and always reports an event.
func Div(a, b int16) (int16, bool) {
	if b == 0 {
		switch {
		case a > 0:
			return fixed.Max, true
		case a < 0:
			return fixed.Min, true
		}
		return 0, true
	}
	n, d := int64(a)<<12, int64(b)
	neg := (n < 0) != (d < 0)
	n, d = absInt64(n), absInt64(d)
	q := (2*n + d) / (2 * d) // half away from zero, on magnitudes
	if neg {
		q = -q
	}
	return fixed.Sat16(q)
}

func absInt64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Relu returns max(a, 0).
func Relu(a int16) int16 { return max(a, 0) }

// Relud returns 4096 if a > 0, else 0: the derivative of Relu. The relud
// operation is the instruction set's: the error a passed where the forward
// value b is positive, a x Relud(b) (exact: a x 1.0 or a x 0).
func Relud(a int16) int16 { return truth(a > 0) }

// value is the real value of a code.
func value(a int16) float64 { return fixed.Q4_12.Float(a) }

// fromFloat converts a finite or infinite float64 result: +-Inf saturate
// (with an event) and NaN, which the operations here never produce from
// finite codes, is treated as 0 with an event.
func fromFloat(x float64) (int16, bool) {
	switch {
	case math.IsNaN(x):
		return 0, true
	case math.IsInf(x, 1):
		return fixed.Max, true
	case math.IsInf(x, -1):
		return fixed.Min, true
	}
	q, sat, _ := fixed.Q4_12.FromFloat(x) // finite: no error
	return q, sat
}

// Sig returns the logistic function of a.
func Sig(a int16) (int16, bool) { return fromFloat(1 / (1 + math.Exp(-value(a)))) }

// Tanh returns tanh(a).
func Tanh(a int16) (int16, bool) { return fromFloat(math.Tanh(value(a))) }

// Exp returns exp(a); it saturates above a = ln 8.
func Exp(a int16) (int16, bool) { return fromFloat(math.Exp(value(a))) }

// Log returns the natural log of a; a <= 0 gives the minimum code and an
// event.
func Log(a int16) (int16, bool) {
	if a <= 0 {
		return fixed.Min, true
	}
	return fromFloat(math.Log(value(a)))
}

// LogSoftmax writes y_i = (a_i - m) - log(sum_j exp(a_j - m)), m = max a, and
// returns the number of saturation events. An empty vector writes nothing.
func LogSoftmax(dst, a []int16) (events int) {
	if len(a) == 0 {
		return 0
	}
	m := a[0]
	for _, v := range a[1:] {
		m = max(m, v)
	}
	mr := value(m)
	var sum float64
	for _, v := range a {
		sum += math.Exp(value(v) - mr)
	}
	logSum := math.Log(sum)
	for i, v := range a {
		var sat bool
		if dst[i], sat = fromFloat((value(v) - mr) - logSum); sat {
			events++
		}
	}
	return events
}

// LogSoftmaxD writes the error at the input of a log_softmax whose output
// is y and whose output error is e: e_i - exp(y_i) * sum_j e_j. It returns
// the number of saturation events.
func LogSoftmaxD(dst, e, y []int16) (events int) {
	var sum float64
	for _, v := range e {
		sum += value(v)
	}
	for i := range dst {
		var sat bool
		if dst[i], sat = fromFloat(value(e[i]) - math.Exp(value(y[i]))*sum); sat {
			events++
		}
	}
	return events
}

// RandCmp writes 4096 where a uniform draw u = k/2^32 lies below a/2^12
// (a*2^20 > k), else 0, drawing one k per element in order.
func RandCmp(dst, a []int16, src *rng.Source) {
	for i, v := range a {
		k := src.Uint32()
		dst[i] = truth(int64(v)<<20 > int64(k))
	}
}
