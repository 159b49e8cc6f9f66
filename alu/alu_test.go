package alu

import (
	"math"
	"math/big"
	"testing"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/rng"
	"pgregory.net/rapid"
)

func TestElementwise(t *testing.T) {
	const min, max = fixed.Min, fixed.Max
	tests := []struct {
		op      Op
		a, b    int16
		want    int16
		wantSat bool
	}{
		{OpAdd, 4096, 8192, 12288, false},
		{OpAdd, 30000, 3000, max, true},
		{OpAdd, -30000, -2768, min, false}, // exactly on the limit: no event
		{OpAdd, -30000, -2769, min, true},
		{OpSub, 100, 300, -200, false},
		{OpSub, -30000, 3000, min, true},
		{OpMul, 4096, 4096, 4096, false},       // 1 * 1
		{OpMul, 6144, 2048, 3072, false},       // 1.5 * 0.5 = 0.75
		{OpMul, 3, 2048, 2, false},             // 1.5 LSB rounds away to 2
		{OpMul, -3, 2048, -2, false},           // ties away from zero
		{OpMul, 1, 2047, 0, false},             // 0.4998 LSB
		{OpMul, 16384, 16384, max, true},       // 4 * 4 = 16
		{OpMul, -16384, 16384, min, true},      // -16
		{OpDiv, 4096, 8192, 2048, false},       // 1 / 2
		{OpDiv, 1, 3, 1365, false},             // 4096/3 = 1365.33
		{OpDiv, 2, 3, 2731, false},             // 8192/3 = 2730.67
		{OpDiv, -1, 8192, -1, false},           // -0.5 LSB ties away
		{OpDiv, 1, -8192, -1, false},           // likewise
		{OpDiv, 16384, 4096, 16384, false},     // 4 / 1
		{OpDiv, 16384, 1, max, true},           // 4 / 2^-12
		{OpDiv, 5, 0, max, true},               // toward the sign of a
		{OpDiv, -5, 0, min, true},              // likewise
		{OpDiv, 0, 0, 0, true},                 // 0/0 = 0, still an event
		{OpAnd, 0x0ff0, 0x00ff, 0x00f0, false}, // bitwise
		{OpOr, 0x0f00, 0x00f0, 0x0ff0, false},
		{OpNot, 0, 0, -1, false},
		{OpEq, 7, 7, 4096, false},
		{OpNeq, 7, 7, 0, false},
		{OpLt, -1, 0, 4096, false},
		{OpLeq, 0, 0, 4096, false},
		{OpGt, 0, 0, 0, false},
		{OpGeq, 1, 0, 4096, false},
		{OpMin, -3, 5, -3, false},
		{OpMax, -3, 5, 5, false},
		{OpRelu, -7, 0, 0, false},
		{OpRelu, 7, 0, 7, false},
		{OpRelud, 7, 5, 7, false},   // the error passes where the forward value is positive
		{OpRelud, -7, 1, -7, false}, // whatever its sign
		{OpRelud, 7, 0, 0, false},   // and stops at 0
		{OpRelud, 7, -5, 0, false},
		{OpSig, 0, 0, 2048, false},        // sigmoid(0) = 0.5
		{OpSig, 8192, 0, 3608, false},     // sigmoid(2) * 4096 = 3607.74
		{OpTanh, 4096, 0, 3119, false},    // tanh(1) = 0.761594 * 4096 = 3119.49
		{OpExp, 0, 0, 4096, false},        // exp(0) = 1
		{OpExp, 8192, 0, 30266, false},    // exp(2) * 4096 = 30265.57
		{OpLog, 4096, 0, 0, false},        // log(1) = 0
		{OpLog, 0, 0, min, true},          // log of a non-positive value
		{OpLog, -4096, 0, min, true},      // likewise
		{OpLog, 8192, 0, 2839, false},     // ln 2 * 4096 = 2839.13
		{OpExp, -32768, 0, 1, false},      // exp(-8) * 4096 = 1.374
		{OpTanh, -32768, 0, -4096, false}, // tanh(-8) = -0.99999977 -> -4095.999
	}
	for _, tc := range tests {
		dst := []int16{0}
		events, err := Apply(tc.op, dst, []int16{tc.a}, []int16{tc.b}, nil)
		if err != nil {
			t.Fatalf("%s(%d, %d): %v", tc.op, tc.a, tc.b, err)
		}
		if dst[0] != tc.want || (events == 1) != tc.wantSat {
			t.Errorf("%s(%d, %d) = %d (events %d), want %d (saturated %v)", tc.op, tc.a, tc.b, dst[0], events, tc.want, tc.wantSat)
		}
	}
}

func TestExpSaturates(t *testing.T) {
	// exp(2.0795) > 8 - 2^-12: ln 8 = 2.0794415, code 8517.6.
	if q, sat := Exp(8518); q != fixed.Max || !sat {
		t.Errorf("exp(8518/4096) = %d, %v; want the maximum with an event", q, sat)
	}
	if q, sat := Exp(8516); sat || q != 32757 {
		// exp(8516/4096) * 4096 = 32756.86
		t.Errorf("exp(8516/4096) = %d, %v; want 32757 without an event", q, sat)
	}
}

func TestLogSoftmax(t *testing.T) {
	// Two equal logits: log(1/2) = -0.693147 * 4096 = -2839.13.
	dst := make([]int16, 2)
	if ev := LogSoftmax(dst, []int16{1000, 1000}); ev != 0 || dst[0] != -2839 || dst[1] != -2839 {
		t.Errorf("log_softmax(equal) = %v (%d events), want -2839 twice", dst, ev)
	}
	// One logit 8 above the other: the small one is -8 - log(1+e^-8) < -8.
	if ev := LogSoftmax(dst, []int16{32767, -1}); ev != 1 || dst[1] != fixed.Min || dst[0] != -1 {
		// log(1 + e^-8.0002) * 4096 = 1.374 -> the large one is -1.
		t.Errorf("log_softmax(far apart) = %v (%d events), want [-1 -32768] with one event", dst, ev)
	}
	// log_softmax_d with y = log_softmax(a) and e = -onehot gives softmax - onehot.
	a := []int16{4096, 0, -4096}
	y := make([]int16, 3)
	LogSoftmax(y, a)
	d := make([]int16, 3)
	LogSoftmaxD(d, []int16{-4096, 0, 0}, y)
	for i := range a {
		p := math.Exp(fixed.Q4_12.Float(y[i]))
		want := p
		if i == 0 {
			want -= 1
		}
		if math.Abs(fixed.Q4_12.Float(d[i])-want) > 1.0/4096 {
			t.Errorf("log_softmax_d[%d] = %v, want %v", i, fixed.Q4_12.Float(d[i]), want)
		}
	}
}

func TestRandCmp(t *testing.T) {
	a := []int16{-4096, 0, 1, 2048, 4096, 32767}
	dst := make([]int16, len(a))
	src, ref := rng.New(3), rng.New(3)
	for range 100 {
		RandCmp(dst, a, src)
		for i, v := range a {
			k := ref.Uint32()
			want := int16(0)
			if new(big.Rat).SetFrac64(int64(k), 1<<32).Cmp(big.NewRat(int64(v), 4096)) < 0 {
				want = One
			}
			if dst[i] != want {
				t.Fatalf("rand_cmp(%d) with k=%d gave %d, want %d", v, k, dst[i], want)
			}
		}
	}
	if dst[0] != 0 || dst[1] != 0 || dst[4] != One || dst[5] != One {
		t.Errorf("rand_cmp edge cases %v: a <= 0 must fail and a >= 1.0 must pass", dst)
	}
}

// bigRound is round_half_away(num/den) then sat16, in math/big.
func bigRound(num, den *big.Int) (int16, bool) {
	r := new(big.Rat).SetFrac(num, den)
	neg := r.Sign() < 0
	r.Abs(r)
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if neg {
		q.Neg(q)
	}
	if q.Cmp(big.NewInt(fixed.Max)) > 0 {
		return fixed.Max, true
	}
	if q.Cmp(big.NewInt(fixed.Min)) < 0 {
		return fixed.Min, true
	}
	return int16(q.Int64()), false
}

func TestMulDivMatchBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.Int16().Draw(t, "a")
		b := rapid.Int16().Draw(t, "b")
		got, sat := Mul(a, b)
		want, wantSat := bigRound(big.NewInt(int64(a)*int64(b)), big.NewInt(4096))
		if got != want || sat != wantSat {
			t.Fatalf("mul(%d, %d) = %d, %v; want %d, %v", a, b, got, sat, want, wantSat)
		}
		if b == 0 {
			return
		}
		got, sat = Div(a, b)
		want, wantSat = bigRound(big.NewInt(int64(a)*4096), big.NewInt(int64(b)))
		if got != want || sat != wantSat {
			t.Fatalf("div(%d, %d) = %d, %v; want %d, %v", a, b, got, sat, want, wantSat)
		}
	})
}

func TestTranscendentalsMatchFromFloat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.Int16().Draw(t, "a")
		x := float64(a) / 4096
		for _, c := range []struct {
			op Op
			f  func(float64) float64
		}{{OpSig, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }}, {OpTanh, math.Tanh}, {OpExp, math.Exp}} {
			want, wantSat, _ := fixed.Q4_12.FromFloat(c.f(x))
			dst := []int16{0}
			ev, _ := Apply(c.op, dst, []int16{a}, nil, nil)
			if dst[0] != want || (ev == 1) != wantSat {
				t.Fatalf("%s(%d) = %d (%d events), want %d (%v)", c.op, a, dst[0], ev, want, wantSat)
			}
		}
		// Monotone and bounded: sigmoid in [0, 1], tanh in [-1, 1].
		s, _ := Sig(a)
		th, _ := Tanh(a)
		if s < 0 || s > One || th < -One || th > One {
			t.Fatalf("sig(%d) = %d, tanh = %d out of range", a, s, th)
		}
	})
}

func TestApplyErrors(t *testing.T) {
	if _, err := Apply(OpAdd, make([]int16, 2), make([]int16, 2), make([]int16, 3), nil); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if _, err := Apply(OpRandCmp, make([]int16, 2), make([]int16, 2), nil, nil); err == nil {
		t.Error("rand_cmp without a source accepted")
	}
	if _, err := Apply(Op(200), nil, nil, nil, nil); err == nil {
		t.Error("unknown op accepted")
	}
	for i := range ops {
		op := Op(i)
		p, err := ParseOp(op.String())
		if err != nil || p != op {
			t.Errorf("ParseOp(%q) = %v, %v", op, p, err)
		}
	}
	if _, err := ParseOp("frobnicate"); err == nil {
		t.Error("unknown name accepted")
	}
}
