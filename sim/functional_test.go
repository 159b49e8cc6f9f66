package sim

import (
	"slices"
	"testing"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// testdata/xbar.s runs MVM, MTVM and OPA together, then CRS, then MVM and
// MTVM again; every output must equal the same operations on an xbar.Unit
// made with the same configuration and seed.
func TestCrossbarOperationsMatchXbar(t *testing.T) {
	const rows, cols = 128, 96 // not square, so a transposition shows
	for _, c := range []struct {
		preset   string
		rounding fixed.Rounding
		device   device.Config
	}{
		{"panther-inplace", fixed.Nearest, device.Config{}},
		{"panther", fixed.Nearest, device.Config{}},
		{"panther-pipelined", fixed.Nearest, device.Config{}},
		{"panther", fixed.Stochastic, device.Config{}},
		// Fault-aware mapping: the simulator's units map as xbar's do.
		{"panther", fixed.Nearest, device.Config{StuckLow: 0.01, StuckHigh: 0.01, FaultMap: true, SpareRows: 2, SpareCols: 3}},
		// The fault record corrects products on the set OPA writes too.
		{"panther", fixed.Nearest, device.Config{StuckLow: 0.01, StuckHigh: 0.01, FaultMap: true, FaultRecord: 100}},
		{"panther-inplace", fixed.Nearest, device.Config{StuckLow: 0.01, StuckHigh: 0.01, FaultMap: true, FaultRecord: 100}},
	} {
		name := c.preset + "/" + c.rounding.String()
		if c.device.FaultMap {
			name += "/fault-map"
		}
		if c.device.FaultRecord > 0 {
			name += "/record"
		}
		t.Run(name, func(t *testing.T) {
			a := preset(t, c.preset)
			a.Crossbar.Rounding = c.rounding
			a.Crossbar.Device = c.device
			src := rng.New(11)
			w := codes(src, rows*cols, 1<<11) // weights in [-0.5, 0.5)
			x, d := codes(src, 128, 1<<13), codes(src, 128, 1<<13)
			const eta = -1.0 / 16 // updates of several LSB, across slices
			p := assemble(t, a, "xbar.s")
			addData(t, p, 0, 0, slices.Concat(x, d))
			p.Weights = []program.Weights{{Tile: 0, Core: 0, Unit: 0, Rows: rows, Cols: cols, Codes: w, Eta: eta}}
			const seed = 5
			s, _ := simulate(t, a, p, Options{Seed: seed})

			cfg := a.UnitConfig()
			cfg.Seed = unitSeed(seed, a.ISA(), 0, 0, 0)
			u, err := xbar.NewUnit(cfg, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			if err := u.Program(w); err != nil {
				t.Fatal(err)
			}
			y1, z1, y2, z2 := make([]int16, cols), make([]int16, rows), make([]int16, cols), make([]int16, rows)
			must(t, u.MVM(x, y1, nil))
			must(t, u.MTVM(d[:cols], z1, nil))
			must(t, u.OPA(x, d[:cols], eta))
			u.CRS()
			must(t, u.MVM(x, y2, nil))
			must(t, u.MTVM(d[:cols], z2, nil))

			k := s.coreOf(t, 0, 0)
			ia := a.ISA()
			for _, cmp := range []struct {
				name      string
				got, want []int16
			}{
				{"MVM before", k.data(0, cols), y1},
				{"MTVM before", k.data(128, rows), z1},
				{"MVM after OPA and CRS", k.regs[ia.XbarOut(0, isa.XbarMVM):][:cols], y2},
				{"MTVM after OPA and CRS", k.regs[ia.XbarOut(0, isa.XbarMTVM):][:rows], z2},
			} {
				if !slices.Equal(cmp.got, cmp.want) {
					t.Errorf("%s differs from xbar", cmp.name)
				}
			}
			if slices.Equal(y1, y2) {
				t.Error("the update changed no output: the test does not test OPA")
			}
			if c.device.FaultRecord > 0 {
				cfg.Device.FaultRecord = 0
				plain, err := xbar.NewUnit(cfg, rows, cols)
				if err != nil {
					t.Fatal(err)
				}
				must(t, plain.Program(w))
				y := make([]int16, cols)
				must(t, plain.MVM(x, y, nil))
				if slices.Equal(y, y1) {
					t.Error("the record changed no output: the test does not test it")
				}
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
