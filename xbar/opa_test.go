package xbar

import (
	"math"
	"testing"

	"github.com/panther-xbar/panther/fixed"
	"pgregory.net/rapid"
)

// The chunked OPA rounds a row's updates with floorRow wherever no product
// can be clipped. It must give the exactly rounded update for any eta, with
// shifts below, at and above 64, and clipThreshold must separate the
// products that magnitude clips from those it does not.
func TestFloorRowIsExactRounding(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mantissa := rapid.Uint64Range(1, 1<<53-1).Draw(t, "mantissa")
		eta := math.Ldexp(float64(mantissa), rapid.IntRange(-150, -20).Draw(t, "exp"))
		f := rapid.IntRange(0, MaxFractionBits).Draw(t, "f")
		rounding := rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Truncate}).Draw(t, "rounding")
		sc := newScaler(eta, f, rounding)
		if !sc.floor {
			t.Skip("the update is not a right shift")
		}
		if T := sc.clipFrom; T < 1<<31 {
			if _, clipped := sc.magnitude(T, 0); !clipped {
				t.Fatalf("product %d at the clip threshold is not clipped", T)
			}
		}
		if T := sc.clipFrom; T > 0 {
			if _, clipped := sc.magnitude(T-1, 0); clipped {
				t.Fatalf("product %d below the clip threshold %d is clipped", T-1, T)
			}
		}
		x := rapid.Int16Range(1, math.MaxInt16).Draw(t, "x")
		var ds []int16
		var dms []uint64
		for _, d := range genCodes(t, rapid.IntRange(1, 20).Draw(t, "n"), 1, math.MaxInt16, "d") {
			if uint64(x)*uint64(d) < sc.clipFrom {
				ds, dms = append(ds, d), append(dms, uint64(d))
			}
		}
		mags := make([]uint64, len(dms))
		or, zeros := sc.floorRow(uint64(x), dms, mags)
		var wantOr uint64
		var wantZeros int64
		for i, d := range ds {
			want := bigUpdate(eta, x, d, f, rounding)
			if mags[i] != uint64(want) {
				t.Fatalf("eta %v, f %d, %v: |g| of %d x %d = %d, want %d", eta, f, rounding, x, d, mags[i], want)
			}
			wantOr |= uint64(want)
			if want == 0 {
				wantZeros++
			}
		}
		if or != wantOr || zeros != wantZeros {
			t.Fatalf("OR of the magnitudes %#x and %d zeros, want %#x and %d", or, zeros, wantOr, wantZeros)
		}
	})
}
