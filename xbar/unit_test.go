package xbar

import (
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
