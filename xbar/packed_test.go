package xbar

import (
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/panther-xbar/panther/fixed"
	"pgregory.net/rapid"
)

// genWidePlan draws any valid plan: 1 to 8 nominal bits per slice, cells up
// to 8 bits, so packed lanes of every width and cells of one to five words
// occur.
func genWidePlan(t *rapid.T) Plan {
	f := rapid.IntRange(0, MaxFractionBits).Draw(t, "f")
	var nominal, cell []int
	for total := fixed.Width + f; total > 0; {
		nb := rapid.IntRange(1, min(MaxCellBits, total)).Draw(t, "nb")
		nominal = append(nominal, nb)
		cell = append(cell, rapid.IntRange(nb, MaxCellBits).Draw(t, "cb"))
		total -= nb
	}
	p, err := NewPlan(nominal, cell, f)
	if err != nil {
		t.Fatalf("generated plan: %v", err)
	}
	return p
}

// The chunked OPA on ideal cells works on the packed form; with live
// bit-planes it writes slice by slice. Both must leave the same cells,
// accumulators and counters, saturations and CRS included.
func TestPackedOPAEqualsPerSliceWrites(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		plan := genWidePlan(t)
		rows, cols := rapid.IntRange(1, 70).Draw(t, "rows"), rapid.IntRange(1, 70).Draw(t, "cols")
		cfg := SetConfig{Plan: plan, Size: Size{Rows: 128, Cols: 128}, ADC: DefaultADC,
			Rounding: rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Truncate, fixed.Stochastic}).Draw(t, "rounding"),
			Seed:     rapid.Uint64().Draw(t, "seed")}
		var sets [2]*Set
		w := genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "w")
		for k := range sets {
			s, err := NewSet(cfg, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			s.Program(w)
			sets[k] = s
		}
		packed, perSlice := sets[0], sets[1]
		perSlice.ensurePlanes(false) // live planes: every write goes through setCell
		for step := range rapid.IntRange(1, 6).Draw(t, "steps") {
			if rapid.IntRange(0, 3).Draw(t, "crs") == 0 {
				packed.CRS()
				perSlice.CRS()
				perSlice.ensurePlanes(false)
			} else {
				x, d := genSparseCodes(t, rows, "x"), genSparseCodes(t, cols, "d")
				eta := math.Ldexp(1, rapid.IntRange(-16, 2).Draw(t, "etaExp"))
				if rapid.Bool().Draw(t, "negative") {
					eta = -eta
				}
				packed.OPA(x, d, eta)
				perSlice.OPA(x, d, eta)
				if !packed.packedLive || perSlice.packedLive {
					t.Fatalf("step %d: the sets did not take the packed and the per-slice path", step)
				}
			}
			if !slices.Equal(packed.acc, perSlice.acc) {
				t.Fatalf("step %d: accumulators differ", step)
			}
			for i := range plan.Slices {
				if !slices.Equal(packed.cells(i), perSlice.cells(i)) {
					t.Fatalf("step %d: slice %d differs", step, i)
				}
			}
			if diff := cmp.Diff(perSlice.Counters(), packed.Counters()); diff != "" {
				t.Fatalf("step %d: counters differ (-per slice +packed):\n%s", step, diff)
			}
		}
	})
}

// A set's cells are written into the slices' arrays or the packed words
// only when something uses them. A set read after every step and one read
// only at the end must hold and count the same, from the first state on.
func TestLazyCellsEqualCellsReadAtEveryStep(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		plan := genWidePlan(t)
		rows, cols := rapid.IntRange(1, 40).Draw(t, "rows"), rapid.IntRange(1, 40).Draw(t, "cols")
		cfg := SetConfig{Plan: plan, Size: Size{Rows: 64, Cols: 64}, ADC: DefaultADC,
			Rounding: rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Stochastic}).Draw(t, "rounding"),
			Seed:     rapid.Uint64().Draw(t, "seed")}
		var sets [2]*Set
		for k := range sets {
			s, err := NewSet(cfg, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			sets[k] = s
		}
		watched, lazy := sets[0], sets[1]
		state := func(s *Set) SetState {
			st, err := s.State()
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		if rapid.Bool().Draw(t, "readFresh") {
			state(watched)
		}
		w := genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "w")
		watched.Program(w)
		lazy.Program(w)
		for range rapid.IntRange(1, 5).Draw(t, "steps") {
			state(watched)
			if rapid.IntRange(0, 2).Draw(t, "crs") == 0 {
				watched.CRS()
				lazy.CRS()
				continue
			}
			x, d := genSparseCodes(t, rows, "x"), genSparseCodes(t, cols, "d")
			eta := -math.Ldexp(1, rapid.IntRange(-16, 0).Draw(t, "etaExp"))
			watched.OPA(x, d, eta)
			lazy.OPA(x, d, eta)
		}
		if diff := cmp.Diff(state(watched), state(lazy)); diff != "" || !slices.Equal(watched.acc, lazy.acc) {
			t.Fatalf("states differ (-read at every step +read at the end):\n%s", diff)
		}
	})
}
