package sim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/program"
)

// testdata/timing.s: the first instruction executes in cycle 2 (fetched in
// 0, decoded in 1); a taken branch costs 2 more cycles (resolved in execute).
//
//	set, set, set           @2, @3, @4                       -> 5
//	iteration 1 and 2: alu_int (1), beq not taken (1), jmp (1 + 2) = 5 each -> 15
//	iteration 3: alu_int (1), beq taken (1 + 2) = 4          -> 19
//	alu add on 10 elements: ceil(10 / 4 lanes) = 3           -> 22
//	alu log_softmax on 10: 2 passes x 3 = 6                  -> 28
//	hlt                                                      -> 29
func TestPipelineAndBranchTiming(t *testing.T) {
	a := preset(t, "panther")
	_, r := simulate(t, a, assemble(t, a, "timing.s"), Options{})
	if r.Cycles != 29 {
		t.Errorf("%d cycles, want 29", r.Cycles)
	}
	if got := r.Cores[0].Instructions; got != 3+3+3+2+2+1 {
		t.Errorf("%d instructions, want 14", got)
	}
}

// One mvm or crs on a 128 x 128 unit, then hlt: 2 (fill) + L + 1 cycles.
func TestMatrixTiming(t *testing.T) {
	const mvm = 100 * (16 + 3 - 1) // 100 ns per input-bit step, 16 bits through a 3-stage pipeline
	const opa = 4 * 20             // 4 sign phases of 20 ns
	const crs = 10969              // max(10250, 10968.75) ns, rounded up to whole cycles
	perBit := func(a *arch.Arch) { a.Ops.Update.PerBit = true }
	slowADC := func(a *arch.Arch) { a.Components.ADC.LatencyNS = 125 } // 10 bits at PUMA's 12.5 ns per bit
	for _, c := range []struct {
		preset string
		change func(*arch.Arch)
		inst   string
		want   int64
	}{
		{"panther-inplace", nil, "mvm u0:mvm", mvm},
		{"panther-inplace", nil, "mvm u0:mvm+mtvm+opa", mvm + mvm + opa}, // one set: one after the other
		{"panther", nil, "mvm u0:mvm+mtvm+opa", max(mvm+mvm, opa)},       // read set and update set at once
		{"panther-pipelined", nil, "mvm u0:mvm+mtvm+opa", mvm},           // three sets at once
		{"panther", nil, "mvm u0:mvm, u1:mtvm", mvm},                     // units at once
		{"panther", nil, "mvm u0:opa", opa},
		{"panther", perBit, "mvm u0:opa", 4 * 16 * 20},
		{"panther", nil, "crs u0, u1", crs},
		{"cmos-op", nil, "mvm u0:opa", 11225},                      // 256 ns digital OPA + 10968.75 ns serial write
		{"cmos-op", nil, "mvm u0:mvm+mtvm+opa", mvm + mvm + 11225}, // one weight set: one after the other
		{"serial", nil, "mvm u0:opa", 475},
		{"serial", nil, "mvm u0:mvm+mtvm+opa", mvm + mvm + 475}, // the update does not hide under MTVM
		{"digital", nil, "mvm u0:mvm", 897},
		{"digital", nil, "mvm u0:mvm+mtvm+opa", 897 + 897 + 256 + 4096}, // CMOS OPA, then the SRAM write
		{"puma", nil, "mvm u0:mvm", mvm},                                // the 8-bit ADC's 100 ns equals the crossbar step
		{"puma", slowADC, "mvm u0:mvm", 125 * (16 + 3 - 1)},
	} {
		t.Run(fmt.Sprintf("%s/%s", c.preset, c.inst), func(t *testing.T) {
			a := preset(t, c.preset)
			if c.change != nil {
				c.change(a)
			}
			p := assemble(t, a, "one.s", ".tile 0\n\thalt\n.core 0\n\t"+c.inst+"\n\thlt\n")
			p.Weights = unitImages(0, 0, 128, 128, 2)
			_, r := simulate(t, a, p, Options{})
			if want := 2 + c.want + 1; r.Cycles != want {
				t.Errorf("%d cycles, want %d", r.Cycles, want)
			}
			// A unit is busy for the whole instruction where it works, and
			// not at all where the instruction does not name it.
			for _, u := range r.MatrixUnits {
				want := int64(0)
				if strings.Contains(c.inst, fmt.Sprintf("u%d", u.Unit)) {
					want = c.want
				}
				if u.BusyCycles != want || u.Busy != float64(want)/float64(r.Cycles) {
					t.Errorf("unit %d busy %d cycles (%g of the run), want %d", u.Unit, u.BusyCycles, u.Busy, want)
				}
			}
			if len(r.MatrixUnits) != 2 {
				t.Errorf("%d matrix units reported, want 2", len(r.MatrixUnits))
			}
			if c.change != nil && strings.Contains(c.inst, "opa") && !strings.Contains(r.OPATiming, "per bit") {
				t.Errorf("the report does not say the OPA was timed per bit: %q", r.OPATiming)
			}
		})
	}
}

// unitImages gives units 0..n-1 of a core zero weights of rows x cols.
func unitImages(tile, core, rows, cols, n int) []program.Weights {
	var ws []program.Weights
	for u := range n {
		ws = append(ws, program.Weights{Tile: tile, Core: core, Unit: u, Rows: rows, Cols: cols, Codes: make([]int16, rows*cols), Eta: -1.0 / 128})
	}
	return ws
}

// Two cores load 8 repeats at once: the port serves core 0 first (lower
// id), cycles 3..10, done at 10 + 2 = 12; core 1 gets 11..18, done 20.
func TestSharedMemoryArbitration(t *testing.T) {
	a := preset(t, "panther")
	src := ".tile 0\n\thalt\n"
	for c := range 2 {
		src += fmt.Sprintf(".core %d\n\tset r0, 0, 1\n\tld r1, r0, 16, 8\n\thlt\n", c)
	}
	p := assemble(t, a, "arbitration.s", src)
	addData(t, p, 0, 0, make([]int16, 128))
	_, r := simulate(t, a, p, Options{})
	for i, want := range []int64{12 + 1, 20 + 1} { // halted one cycle after the load
		if got := r.Cores[i].Powered; got != want {
			t.Errorf("core %d halted at %d, want %d", i, got, want)
		}
	}
}
