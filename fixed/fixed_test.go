package fixed

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// bigRoundHalfAway is round_half_away(num / 2^shift) with big rationals.
func bigRoundHalfAway(r *big.Rat) *big.Int {
	abs := new(big.Rat).Abs(r)
	abs.Add(abs, big.NewRat(1, 2))
	q := new(big.Int).Quo(abs.Num(), abs.Denom())
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

func TestRoundShiftMatchesExactRounding(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Int64().Draw(t, "v")
		shift := uint(rapid.IntRange(0, 70).Draw(t, "shift"))
		den := new(big.Int).Lsh(big.NewInt(1), shift)
		want := bigRoundHalfAway(new(big.Rat).SetFrac(big.NewInt(v), den))
		if got := RoundShift(v, shift); big.NewInt(got).Cmp(want) != 0 {
			t.Fatalf("RoundShift(%d, %d) = %d, want %s", v, shift, got, want)
		}
	})
}

// Halves round away from zero on both sides, up to the widest shifts.
func TestRoundShiftHalvesAndEdges(t *testing.T) {
	for _, c := range []struct {
		v     int64
		shift uint
		want  int64
	}{
		{3, 1, 2}, {-3, 1, -2}, {2, 2, 1}, {-2, 2, -1}, {1, 2, 0}, {-1, 2, 0},
		{math.MaxInt64, 62, 2}, {math.MinInt64, 62, -2},
		{1 << 62, 63, 1}, {1<<62 - 1, 63, 0}, {math.MinInt64, 63, -1},
		{math.MinInt64, 64, -1}, {math.MaxInt64, 64, 0}, {math.MinInt64, 65, 0},
	} {
		if got := RoundShift(c.v, c.shift); got != c.want {
			t.Errorf("RoundShift(%d, %d) = %d, want %d", c.v, c.shift, got, c.want)
		}
	}
}

func TestFromFloatIsExactRoundHalfAwayWithCountedSaturation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := rapid.Float64Range(-20, 20).Draw(t, "x")
		v, sat, err := Q4_12.FromFloat(x)
		if err != nil {
			t.Fatal(err)
		}
		r := new(big.Rat).SetFloat64(x)
		r.Mul(r, big.NewRat(4096, 1))
		want := bigRoundHalfAway(r)
		wantSat := want.Cmp(big.NewInt(Max)) > 0 || want.Cmp(big.NewInt(Min)) < 0
		if wantSat != sat {
			t.Fatalf("FromFloat(%v): saturation %v, want %v", x, sat, wantSat)
		}
		if !sat && big.NewInt(int64(v)).Cmp(want) != 0 {
			t.Fatalf("FromFloat(%v) = %d, want %s", x, v, want)
		}
	})
}

func TestConversionCases(t *testing.T) {
	cases := []struct {
		x    float64
		want int16
		sat  bool
	}{
		{0.5 / 4096, 1, false},   // a tie rounds away from zero
		{-0.5 / 4096, -1, false}, // on both sides
		{1.5 / 4096, 2, false},
		{8 - 1.0/4096, Max, false}, // exactly on the limit: no event
		{8, Max, true},
		{-8, Min, false},
		{-8 - 0.5/4096, Min, true}, // rounds to -32769
		{-8 - 0.49/4096, Min, false},
	}
	for _, c := range cases {
		v, sat, err := Q4_12.FromFloat(c.x)
		if err != nil || v != c.want || sat != c.sat {
			t.Errorf("FromFloat(%v) = %d, %v, %v; want %d, %v", c.x, v, sat, err, c.want, c.sat)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, _, err := Q4_12.FromFloat(bad); err == nil {
			t.Errorf("FromFloat(%v): no error", bad)
		}
	}
}

func TestCounterCountsEveryEvent(t *testing.T) {
	var c Counter
	if got := c.Add(Max, 1); got != Max {
		t.Fatalf("Max + 1 = %d", got)
	}
	if got := c.Add(Min, -1); got != Min {
		t.Fatalf("Min - 1 = %d", got)
	}
	if got := c.Add(Max-1, 1); got != Max {
		t.Fatalf("landing on the limit gave %d", got)
	}
	if c.Events != 2 {
		t.Fatalf("%d events, want 2 (landing on a limit is not one)", c.Events)
	}
}

func TestParsing(t *testing.T) {
	if q, err := ParseFormat("q4.12"); err != nil || q != Q4_12 {
		t.Fatalf("ParseFormat(q4.12) = %v, %v", q, err)
	}
	for _, bad := range []string{"Q4.11", "Q0.16", "4.12", "Qx.y"} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q): no error", bad)
		}
	}
	for _, name := range []string{"nearest", "truncate", "stochastic"} {
		r, err := ParseRounding(name)
		if err != nil || r.String() != name {
			t.Errorf("ParseRounding(%q) = %v, %v", name, r, err)
		}
	}
	if _, err := ParseRounding("up"); err == nil || !strings.Contains(err.Error(), "nearest, truncate, stochastic") {
		t.Errorf("ParseRounding(up) error %v does not list the modes", err)
	}
}
