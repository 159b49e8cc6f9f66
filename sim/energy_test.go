package sim

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
)

// singleOp runs `ld` of the operands, one instruction and hlt on a (the
// accumulate preset when nil) with a random 128 x 128 unit 0.
func singleOp(t *testing.T, a *arch.Arch, inst string, x, d []int16) (*Sim, *Report) {
	if a == nil {
		a = preset(t, "panther")
	}
	p := assemble(t, a, "single.s", `
.tile 0
	halt
.core 0
	set r0, 0, 1
	set r1, 128, 1
	ld xin0.mvm, r0, 16, 8
	ld xin0.opa, r0, 16, 8
	ld xout0.opa, r1, 16, 8
	`+inst+`
	hlt
`)
	addData(t, p, 0, 0, slices.Concat(x, d))
	p.Weights = []program.Weights{{Rows: 128, Cols: 128, Codes: codes(rng.New(2), 128*128, 1<<11), Eta: -1.0 / 16}}
	return simulate(t, a, p, Options{})
}

// The MVM class of one 128 x 128 MVM on the read set (8 slices of 2 bits),
// by hand: per slice crossbar per input-bit step 100 ns x 3.09 mW; per ADC
// conversion (8 slices x 16 steps x 128 columns = 16384) the ADC 1.8 pJ,
// the sample-and-hold 8.73e-6 pJ and the shift-and-add 0.045 pJ; a DAC per
// row per step 0.0035 pJ; 16 reads of the input buffer at 1.7 pJ; 128
// writes of the output buffer at 0.16 pJ.
func TestEnergyOfOneMVM(t *testing.T) {
	src := rng.New(4)
	s, _ := singleOp(t, nil, "mvm u0:mvm", codes(src, 128, 1<<13), codes(src, 128, 1<<13))
	const conv = 8 * 16 * 128
	want := map[arch.ComponentID]float64{
		arch.CompCrossbar:      8 * 16 * 309,
		arch.CompADC:           conv * 1.8,
		arch.CompSampleHold:    conv * 8.73e-6,
		arch.CompShiftAdd:      conv * 0.045,
		arch.CompDAC:           128 * 16 * 0.0035,
		arch.CompXbarInBuffer:  16 * 1.7,
		arch.CompXbarOutBuffer: 128 * 0.16,
	}
	var total float64
	for id := range arch.NumComponents {
		checkPJ(t, "mvm "+id.String(), s.book.pj[ClassMVM][id], want[id])
		total += want[id]
	}
	checkPJ(t, "mvm total", total, 69835.47103232)
}

// One OPA with every row input positive and column inputs of both signs
// drives 2 of the 4 sign phases: per phase, each of the update set's 12
// slice crossbars draws 4.44 mW for 20 ns; the 128 row and 128 column DACs
// fire once per phase; each input buffer is read once per phase.
func TestEnergyOfOneOPA(t *testing.T) {
	src := rng.New(5)
	x := codes(src, 128, 1<<12)
	for i := range x {
		x[i] = 1 + x[i]&0x7ff // positive
	}
	d := codes(src, 128, 1<<12)
	s, _ := singleOp(t, nil, "mvm u0:opa", x, d)
	checkPJ(t, "opa crossbar", s.book.pj[ClassOPA][arch.CompCrossbar], 2*12*4.44*20)
	checkPJ(t, "opa DACs", s.book.pj[ClassOPA][arch.CompDAC], 2*(128+128)*0.0035)
	checkPJ(t, "opa buffers", s.book.pj[ClassOPA][arch.CompXbarInBuffer]+s.book.pj[ClassOPA][arch.CompXbarOutBuffer], 2*1.7+2*0.16)
}

// A CRS of the accumulate unit reads the 12 update slices and writes them
// back, then writes the 8 read slices: 12 x 6500 + 20 x 22606 pJ.
func TestEnergyOfOneCRS(t *testing.T) {
	s, _ := singleOp(t, nil, "crs u0", make([]int16, 128), make([]int16, 128))
	checkPJ(t, "crs", s.book.pj[ClassCRS][arch.CompCrossbar], 12*6500+20*22606)
}

// Leakage of a core and a tile by hand: the core's components leak for the
// cycles from 0 to its halt, the tile's own components until the last of
// its parts halts. Core (accumulate, 2 units): ADC 4 x 0.2, DAC 2816 x
// 0.00039, sample-and-hold 512 x 9.7e-7, shift-add 4 x 0.005, buffers 12 x
// 0.04, ALU 0.192, transcendental 0.026, data memory 0.33, instruction
// memory 0.2206 = 3.16733664 mW. Tile: 0.46 + 0.5 + 0.05 + 0.467 + 0.18 +
// 0.933 = 2.59 mW.
func TestLeakage(t *testing.T) {
	a := preset(t, "panther")
	p := assemble(t, a, "leak.s", ".tile 0\n\thalt\n.core 0\n\tnop\n\tnop\n\thlt\n.core 1\n\thlt\n")
	s, r := simulate(t, a, p, Options{})
	// core 0 halts at 2 + 3 = 5, core 1 at 3, the control unit at 3.
	const coreMW, tileMW = 3.16733664, 2.59
	checkPJ(t, "leakage", r.LeakagePJ, coreMW*(5+3)+tileMW*5)
	checkPJ(t, "core control", s.book.pj[ClassControl][arch.CompCoreControl], 0.25*(5+3))
}

// Every breakdown adds up to the total: classes, components and the power
// windows.
func TestEnergyAdditivity(t *testing.T) {
	src := rng.New(6)
	s, r := singleOp(t, nil, "mvm u0:mvm+mtvm+opa", codes(src, 128, 1<<13), codes(src, 128, 1<<13))
	var classes, comps, bins float64
	for _, sh := range r.ByClass {
		classes += sh.PJ
	}
	for _, sh := range r.ByComponent {
		comps += sh.PJ
	}
	for _, b := range s.book.bins {
		bins += b
	}
	var ops float64
	for i, sh := range r.ByOperation {
		ops += sh.PJ
		if sh.Name != Operations[i] {
			t.Errorf("operation %d is %q, want %q", i, sh.Name, Operations[i])
		}
	}
	// The ADC line is the conversions of MVM and MTVM, taken out of them.
	adc := s.book.pj[ClassMVM][arch.CompADC] + s.book.pj[ClassMTVM][arch.CompADC]
	if got := r.ByOperation[1].PJ; got != adc || adc == 0 {
		t.Errorf("adc line %v pJ, want %v", got, adc)
	}
	if got, want := r.ByOperation[0].PJ, r.ByClass[ClassMVM].PJ+r.ByClass[ClassMTVM].PJ-adc; math.Abs(got-want) > 1e-9*want {
		t.Errorf("mvm/mtvm line %v pJ, want %v", got, want)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"classes", classes}, {"components", comps}, {"operations", ops}, {"power windows", bins}, {"dynamic + leakage", r.DynamicPJ + r.LeakagePJ}} {
		if math.Abs(c.v-r.EnergyPJ) > 1e-9*r.EnergyPJ {
			t.Errorf("%s add up to %.6f pJ, the total is %.6f", c.name, c.v, r.EnergyPJ)
		}
	}
	if want := r.EnergyPJ / r.TimeNS; math.Abs(r.AvgPowerMW-want) > 1e-12*want {
		t.Errorf("average power %v, want %v", r.AvgPowerMW, want)
	}
	if r.PeakPowerMW < r.AvgPowerMW {
		t.Errorf("peak power %v below the average %v", r.PeakPowerMW, r.AvgPowerMW)
	}
}

// A long run keeps at most maxWindows power windows, widening them, and
// loses no energy doing so.
func TestPowerWindowsStayBounded(t *testing.T) {
	l := newLedger()
	l.add(ClassControl, arch.CompCoreControl, 1, 0, 10)
	l.add(ClassLeakage, arch.CompADC, 3, 0, 5*maxWindows*powerWindow) // 5x the windows: 3 doublings (5/2, 5/4 still too many)
	if len(l.bins) > maxWindows || l.width != 8*powerWindow {
		t.Errorf("%d windows of %d cycles", len(l.bins), l.width)
	}
	var sum float64
	for _, b := range l.bins {
		sum += b
	}
	checkPJ(t, "windows", sum, 4)
}

// digital's update, by hand: the CMOS outer product (1.134 mW x 256 ns) on
// the vector unit, then the write of the unit's SRAM (81920 pJ); one read of
// each input buffer (1.7 and 0.16 pJ).
func TestEnergyOfOneSRAMUpdate(t *testing.T) {
	a := preset(t, "digital")
	p := assemble(t, a, "one.s", ".tile 0\n\thalt\n.core 0\n\tmvm u0:opa\n\thlt\n")
	p.Weights = unitImages(0, 0, 128, 128, 2)
	s, _ := simulate(t, a, p, Options{})
	want := map[arch.ComponentID]float64{
		arch.CompVectorALU:     1.134 * 256,
		arch.CompCrossbar:      81920,
		arch.CompXbarInBuffer:  1.7,
		arch.CompXbarOutBuffer: 0.16,
	}
	for id := range arch.NumComponents {
		checkPJ(t, "opa "+id.String(), s.book.pj[ClassOPA][id], want[id])
	}
}

// Spare lines (4 rows, 8 columns per 128 x 128 array) make every row cross
// 136 cells and every column 132: the crossbar's share of an MVM (driving
// rows) costs 136/128 times as much, of an MTVM (driving columns) 132/128,
// of an OPA phase (both) their mean, of a CRS (row-by-row serial accesses)
// 136/128; nothing else changes. The test read of the unit's 20 slice
// arrays (8 read, 12 update) reads 132 rows of 136 cells each, once, and is
// reported beside the run: 10250 x 132/128 ns and 20 x 6500 x 136 x
// 132/128^2 pJ.
func TestSpareLinesEnergyAndTestRead(t *testing.T) {
	spared := preset(t, "panther")
	spared.Crossbar.Device.FaultMap, spared.Crossbar.Device.SpareRows, spared.Crossbar.Device.SpareCols = true, 4, 8
	const row, col = 136.0 / 128, 132.0 / 128
	for _, inst := range []string{"mvm u0:mvm+mtvm+opa", "crs u0"} {
		src := rng.New(7)
		x, d := codes(src, 128, 1<<13), codes(src, 128, 1<<13)
		plain, plainRep := singleOp(t, nil, inst, x, d)
		s, r := singleOp(t, spared, inst, x, d)
		scale := map[Class]float64{ClassMVM: row, ClassMTVM: col, ClassOPA: (row + col) / 2, ClassCRS: row}
		for c := range numClasses {
			for id := range arch.NumComponents {
				want := plain.book.pj[c][id]
				if id == arch.CompCrossbar && scale[c] != 0 {
					want *= scale[c]
				}
				if c != ClassLeakage {
					checkPJ(t, inst+" "+c.String()+" "+id.String(), s.book.pj[c][id], want)
				}
			}
		}
		if plain.book.pj[ClassMVM][arch.CompCrossbar]+plain.book.pj[ClassCRS][arch.CompCrossbar] == 0 {
			t.Fatalf("%s charged no crossbar energy", inst)
		}
		if plainRep.TestRead != nil {
			t.Errorf("without fault_map: test read %+v, want none", plainRep.TestRead)
		}
		tr := r.TestRead
		if tr == nil || tr.Arrays != 20 {
			t.Fatalf("test read %+v, want 20 slice arrays", tr)
		}
		checkPJ(t, "test read time (ns)", tr.TimeNS, 10250*col)
		checkPJ(t, "test read", tr.EnergyPJ, 20*6500*row*col)
		var text strings.Builder
		if err := r.WriteTable(&text); err != nil {
			t.Fatal(err)
		}
		if want := "test read     20 slice arrays at programming, once: 10.570 us, 0.1424 uJ (not in the time and energy above)\n"; !strings.Contains(text.String(), want) {
			t.Errorf("the report lacks the line %q:\n%s", want, text.String())
		}
	}
}

// With stuck cells, the units' own test reads (xbar counts one serial read
// per slice array when it maps them) are the arrays the report charges.
func TestTestReadCountsTheMappedArrays(t *testing.T) {
	for _, variant := range []string{"panther-inplace", "panther-accumulate", "panther-pipelined"} {
		a := preset(t, variant)
		a.Crossbar.Device = device.Config{StuckLow: 0.01, StuckHigh: 0.01, FaultMap: true, SpareRows: 2, SpareCols: 2}
		p := assemble(t, a, "one.s", ".tile 0\n\thalt\n.core 0\n\thlt\n.core 1\n\thlt\n")
		p.Weights = append(unitImages(0, 0, 128, 40, 2), unitImages(0, 1, 30, 128, 2)...)
		s, r := simulate(t, a, p, Options{})
		var reads int64
		for _, c := range s.tiles[0].cores {
			for _, mu := range c.units {
				if mu == nil {
					continue
				}
				for _, rc := range mu.counters() { // nothing but the test read reads serially here
					reads += rc.Counters.SerialReads
				}
			}
		}
		if r.TestRead == nil || int64(r.TestRead.Arrays) != reads || reads == 0 {
			t.Errorf("%s: test read %+v, the units read %d arrays at programming", variant, r.TestRead, reads)
		}
	}
}
