package xbar

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"pgregory.net/rapid"
)

// A unit makes its update set when first used, from the read set's
// weights: every product, counter and state equals that of a unit whose
// update set was made at once, whatever ran before (programs, products,
// nothing at all) and whatever the device model.
func TestDeferredUpdateSetEqualsEagerOne(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := DefaultUnitConfig()
		cfg.Variant = rapid.SampledFrom([]Variant{Accumulate, Pipelined}).Draw(t, "variant")
		cfg.ReadPlan, cfg.UpdatePlan = genPlan(t, 0), genPlan(t, 8)
		cfg.Rounding = rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Stochastic}).Draw(t, "rounding")
		cfg.Device = rapid.SampledFrom([]device.Config{{}, {Kind: "ideal", C2C: 0.2, ReadNoise: 0.3}, {Kind: "nonlinear", Alpha: 2, Sigma: 0.2}}).Draw(t, "device")
		cfg.Seed = rapid.Uint64().Draw(t, "seed")
		rows, cols := rapid.IntRange(1, 40).Draw(t, "rows"), rapid.IntRange(1, 40).Draw(t, "cols")
		eager, err := NewUnit(cfg, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		eager.Update()
		deferred, err := NewUnit(cfg, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		if len(deferred.roles) != len(eager.roles)-1 {
			t.Fatalf("the update set was made before its first use")
		}
		for step := range rapid.IntRange(1, 12).Draw(t, "steps") {
			op := rapid.SampledFrom([]string{"program", "mvm", "mtvm", "opa", "crs"}).Draw(t, "op")
			var m, x, d []int16
			switch op {
			case "program":
				m = genCodes(t, rows*cols, -1<<14, 1<<14, "weights")
			case "mvm":
				x = genCodes(t, rows, -4096, 4096, "x")
			case "mtvm":
				d = genCodes(t, cols, -4096, 4096, "d")
			case "opa":
				x, d = genCodes(t, rows, -4096, 4096, "x"), genCodes(t, cols, -4096, 4096, "d")
			}
			var outs [2][]int16
			for k, u := range []*Unit{eager, deferred} {
				switch op {
				case "program":
					must(t, u.Program(m))
				case "mvm":
					outs[k] = make([]int16, cols)
					must(t, u.MVM(x, outs[k], nil))
				case "mtvm":
					outs[k] = make([]int16, rows)
					must(t, u.MTVM(d, outs[k], nil))
				case "opa":
					must(t, u.OPA(x, d, -1.0/64))
				case "crs":
					u.CRS()
				}
			}
			if !slices.Equal(outs[0], outs[1]) {
				t.Fatalf("step %d (%s): outputs %v, want %v", step, op, outs[1], outs[0])
			}
			if a, b := eager.Counters(), deferred.Counters(); !reflect.DeepEqual(a, b) {
				t.Fatalf("step %d (%s): counters %+v, want %+v", step, op, b, a)
			}
		}
		a, err := eager.State()
		must(t, err)
		b, err := deferred.State()
		must(t, err)
		if !reflect.DeepEqual(a, b) {
			t.Fatal("the states differ")
		}
	})
}

func must(t *rapid.T, err error) {
	if err != nil {
		t.Fatal(err)
	}
}

// With stuck cells, a unit's CRS of the rows OPAs drove hands over the
// update set's weights after its nominal rewrite (docs/numeric-model.md,
// items 12 and 13): stuck cells keep their level through the rewrite, so
// the rewritten accumulators are not the ones the OPAs left, and weights
// read before the rewrite would be other weights. The read sets must hold
// sat16(round_half_away(Q/2^f)) of the rewritten update set, recomputed
// here from its cells (or, for a recorded cell, its wanted accumulator),
// and the weights that a full CRS of every row leaves in a twin unit.
func TestCRSHandsOverWeightsAfterTheRewrite(t *testing.T) {
	stuck := device.Config{StuckLow: 0.05, StuckHigh: 0.05}
	mapped, recorded := stuck, stuck
	mapped.FaultMap = true
	recorded.FaultMap, recorded.FaultRecord = true, 16
	moved := 0 // over every case: weights the rewrite changed
	rapid.Check(t, func(t *rapid.T) {
		cfg := DefaultUnitConfig()
		cfg.Variant = rapid.SampledFrom([]Variant{Accumulate, Pipelined}).Draw(t, "variant")
		cfg.Size = Size{Rows: 64, Cols: 64}
		cfg.Device = rapid.SampledFrom([]device.Config{stuck, mapped, recorded}).Draw(t, "device")
		cfg.Seed = rapid.Uint64().Draw(t, "seed")
		rows, cols := rapid.IntRange(1, 24).Draw(t, "rows"), rapid.IntRange(1, 24).Draw(t, "cols")
		u, err := NewUnit(cfg, rows, cols)
		must(t, err)
		full, err := NewUnit(cfg, rows, cols) // resolves its update set with Set.CRS
		must(t, err)
		m := genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "weights")
		must(t, u.Program(m))
		must(t, full.Program(m))
		f := cfg.UpdatePlan.FractionBits
		before, want := make([]int16, rows*cols), make([]int16, rows*cols)
		got, held := make([]int16, rows*cols), make([]int16, rows*cols)
		for round := range rapid.IntRange(1, 4).Draw(t, "rounds") {
			for range rapid.IntRange(1, 3).Draw(t, "opas") {
				x := make([]int16, rows) // a few driven rows
				for range rapid.IntRange(1, min(3, rows)).Draw(t, "driven") {
					x[rapid.IntRange(0, rows-1).Draw(t, "row")] = rapid.Int16Range(math.MinInt16, math.MaxInt16).Draw(t, "x")
				}
				d := genSparseCodes(t, cols, "d")
				eta := -math.Ldexp(1, rapid.IntRange(-12, 0).Draw(t, "etaExp"))
				must(t, u.OPA(x, d, eta))
				must(t, full.OPA(x, d, eta))
			}
			upd := u.Update()
			_, err := upd.Weights(before) // what a hand-over before the rewrite would give
			must(t, err)
			u.CRS()
			full.Update().CRS()
			wanted := make(map[int]int64, len(upd.record.idx))
			for k, idx := range upd.record.idx {
				wanted[idx] = upd.record.want[k]
			}
			for r := range rows {
				for c := range cols {
					q := bigAccumulator(upd, r, c)
					if w, ok := wanted[r*cols+c]; ok {
						q.SetInt64(w)
					}
					if !q.IsInt64() || q.Int64() != upd.Accumulator(r, c) {
						t.Fatalf("round %d: cell (%d, %d): accumulator %d, the rewritten cells give %v", round, r, c, upd.Accumulator(r, c), q)
					}
					want[r*cols+c] = bigRoundSat(q, f)
				}
			}
			for i := range want {
				if before[i] != want[i] {
					moved++
				}
			}
			_, err = full.Update().Weights(got)
			must(t, err)
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("round %d: after a full CRS weight %d is %d, after the unit's CRS %d", round, i, got[i], want[i])
			}
			// The twin's read sets take the full CRS's weights by
			// programming; stuck cells of their own can make them hold
			// other weights, the same in both units.
			for k, rs := range u.roles {
				if rs.set == upd {
					continue
				}
				twin := full.roles[k].set
				must(t, twin.Program(want))
				_, err := rs.set.Weights(got)
				must(t, err)
				_, err = twin.Weights(held)
				must(t, err)
				if i := firstDiff(got, held); i >= 0 {
					t.Fatalf("round %d: %s set: weight %d is %d, after a full CRS %d", round, rs.role, i, got[i], held[i])
				}
			}
		}
	})
	if moved == 0 {
		t.Fatal("no rewrite changed a weight: the test cannot tell a hand-over before the rewrite from one after it")
	}
}

// firstDiff is the first index where a and b differ, or -1.
func firstDiff(a, b []int16) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
