package xbar

import (
	"slices"
	"testing"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"pgregory.net/rapid"
)

// recordHarm is the harm newFaultRecord ranks cell idx by.
func recordHarm(s *Set, idx int) float64 {
	var h float64
	for i := range s.slices {
		if _, stuck := s.slices[i].dev.Stuck(idx); stuck {
			h += float64(int64(s.slices[i].hi-s.slices[i].lo+1) << uint(s.slices[i].Offset))
		}
	}
	return h
}

// TestFaultRecordMatchesWantedWeights runs random programs, OPAs, CRSs and
// products on sets with stuck cells and a fault record, and checks every
// product against a reference: the stored cells' shift-and-add sum through
// the ADC (refLineSums) plus x (W - S) for each recorded cell, with W
// tracked here from the record's definition (programmed code, plus every
// OPA's exactly rounded update, saturated) and S the stored cells'
// accumulator, which the record keeps up to date. The recorded cells are the most harmed faulty ones; every
// other cell holds what a twin set without a record holds; the weights a set
// hands on are W's; a saved state resumes the set.
func TestFaultRecordMatchesWantedWeights(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		plan := genPlan(t, 8)
		rows, cols := rapid.IntRange(1, 40).Draw(t, "rows"), rapid.IntRange(1, 40).Draw(t, "cols")
		dev := device.Config{
			StuckLow:    rapid.Float64Range(0, 0.08).Draw(t, "stuck_low"),
			StuckHigh:   rapid.Float64Range(0.01, 0.08).Draw(t, "stuck_high"),
			FaultMap:    true,
			SpareRows:   rapid.IntRange(0, 3).Draw(t, "spare_rows"),
			SpareCols:   rapid.IntRange(0, 3).Draw(t, "spare_cols"),
			FaultRecord: rapid.IntRange(1, 40).Draw(t, "fault_record"),
		}
		adc := ADC{Ideal: true}
		if rapid.Bool().Draw(t, "finite_adc") {
			adc = ADC{Bits: rapid.IntRange(4, 12).Draw(t, "adc_bits"), Shift: rapid.IntRange(0, 2).Draw(t, "adc_shift")}
		}
		cfg := SetConfig{Plan: plan, Size: Size{64, 64}, ADC: adc, Device: dev,
			Rounding: rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Truncate, fixed.Stochastic}).Draw(t, "rounding"),
			OPAMode:  rapid.SampledFrom([]OPAMode{Chunked, Bitstream, PerStep, Resolved}).Draw(t, "opa_mode"),
			Seed:     rapid.Uint64().Draw(t, "seed")}
		s, err := NewSet(cfg, rows, cols)
		if err != nil {
			t.Skip(err) // plans whose sums could overflow are refused
		}
		twinCfg := cfg
		twinCfg.Device.FaultRecord = 0
		twin, err := NewSet(twinCfg, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		f, bias := plan.FractionBits, plan.Bias()

		// The record: min(n, faulty cells) cells, none less harmed than a
		// faulty cell left out.
		rec := s.record.idx
		if want := min(dev.FaultRecord, len(s.faults)); len(rec) != want {
			t.Fatalf("record holds %d cells, want %d of %d faulty", len(rec), want, len(s.faults))
		}
		least := -1.0
		for _, idx := range rec {
			if h := recordHarm(s, idx); least < 0 || h < least {
				least = h
			}
		}
		for _, fl := range s.faults {
			if _, in := slices.BinarySearch(rec, fl.idx); !in && recordHarm(s, fl.idx) > least {
				t.Fatalf("cell %d (harm %g) left out of a record whose least harmed cell has %g", fl.idx, recordHarm(s, fl.idx), least)
			}
		}
		want := make([]int64, len(rec)) // W, from the definition
		for k := range want {
			want[k] = -bias
		}

		check := func(step string) {
			for k, idx := range rec {
				if got := s.Accumulator(idx/cols, idx%cols); got != want[k] {
					t.Fatalf("%s: recorded cell %d: accumulator %d, want W = %d", step, idx, got, want[k])
				}
				if got, cells := s.record.stored[k], bigAccumulator(s, idx/cols, idx%cols).Int64(); got != cells {
					t.Fatalf("%s: recorded cell %d: the record keeps S = %d, its cells hold %d", step, idx, got, cells)
				}
			}
			for i := range s.slices {
				got, other := s.cells(i), twin.cells(i)
				for idx := range got {
					if _, in := slices.BinarySearch(rec, idx); !in && got[idx] != other[idx] {
						t.Fatalf("%s: unrecorded cell %d slice %d holds %d, the twin without a record %d", step, idx, i, got[idx], other[idx])
					}
				}
			}
			for _, transposed := range []bool{false, true} {
				nIn := rows
				if transposed {
					nIn = cols
				}
				in := genCodes(t, nIn, -1<<13, 1<<13, "in")
				sums, _ := refLineSums(s, in, transposed)
				for k, idx := range rec {
					r, c := idx/cols, idx%cols
					line, o := r, c
					if transposed {
						line, o = c, r
					}
					sums[o] += int64(in[line]) * (want[k] - bigAccumulator(s, r, c).Int64())
				}
				got := make([]int16, len(sums))
				if transposed {
					err = s.MTVM(in, got, nil)
				} else {
					err = s.MVM(in, got, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				for o, sum := range sums {
					if w, _ := fixed.Sat16(fixed.RoundShift(sum, uint(12+f))); got[o] != w {
						t.Fatalf("%s: product (transposed %v) output %d = %d, want %d", step, transposed, o, got[o], w)
					}
				}
			}
			weights := make([]int16, rows*cols)
			if _, err := s.Weights(weights); err != nil {
				t.Fatal(err)
			}
			for k, idx := range rec {
				if w, _ := fixed.Sat16(fixed.RoundShift(want[k], uint(f))); weights[idx] != w {
					t.Fatalf("%s: recorded cell %d hands on weight %d, want %d", step, idx, weights[idx], w)
				}
			}
		}

		check("new")
		for n := rapid.IntRange(1, 4).Draw(t, "ops"); n > 0; n-- {
			switch op := rapid.SampledFrom([]string{"program", "opa", "crs"}).Draw(t, "op"); op {
			case "program":
				m := genCodes(t, rows*cols, fixed.Min, fixed.Max, "m")
				for _, set := range []*Set{s, twin} {
					if err := set.Program(m); err != nil {
						t.Fatal(err)
					}
				}
				for k, idx := range rec {
					want[k] = int64(m[idx]) << uint(f)
				}
			case "opa":
				x := genCodes(t, rows, -1<<12, 1<<12, "x")
				d := genCodes(t, cols, -1<<12, 1<<12, "d")
				eta := rapid.Float64Range(-0.1, 0.1).Draw(t, "eta")
				for _, set := range []*Set{s, twin} {
					if err := set.OPA(x, d, eta); err != nil {
						t.Fatal(err)
					}
				}
				for k, idx := range rec {
					if cfg.Rounding != fixed.Stochastic {
						g := bigUpdate(eta, x[idx/cols], d[idx%cols], f, cfg.Rounding)
						want[k] = min(max(want[k]+g, -bias), bias-1)
						continue
					}
					// Stochastic rounding moves W by |g| rounded down or up.
					down, up := bigUpdate(eta, x[idx/cols], d[idx%cols], f, fixed.Truncate), int64(1)
					if eta*float64(x[idx/cols])*float64(d[idx%cols]) < 0 {
						up = -1
					}
					up += down
					got := s.Accumulator(idx/cols, idx%cols)
					lo, hi := min(max(want[k]+min(down, up), -bias), bias-1), min(max(want[k]+max(down, up), -bias), bias-1)
					if got < lo || got > hi {
						t.Fatalf("stochastic OPA moved recorded cell %d from %d to %d, want within [%d, %d]", idx, want[k], got, lo, hi)
					}
					want[k] = got
				}
			case "crs":
				s.CRS()
				twin.CRS()
			}
			check("after ops")
		}

		st, err := s.State()
		if err != nil {
			t.Fatal(err)
		}
		resumed, err := NewSet(cfg, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		if err := resumed.Restore(st); err != nil {
			t.Fatal(err)
		}
		s = resumed
		check("restored")
	})
}

// TestFaultRecordCoveringEveryFaultIsIdeal: a record with room for every
// faulty cell makes the products of a set through an ideal ADC those of a
// set without stuck cells, and counts one multiply-add per entry and product.
func TestFaultRecordCoveringEveryFaultIsIdeal(t *testing.T) {
	const rows, cols = 48, 40
	codes := make([]int16, rows*cols)
	for i := range codes {
		codes[i] = int16(i*2654435761>>9) >> 3 // small weights, both signs
	}
	x := make([]int16, rows)
	for i := range x {
		x[i] = int16(i*40503) >> 4
	}
	dev := device.Config{StuckLow: 0.02, StuckHigh: 0.02, FaultMap: true, FaultRecord: device.MaxFaultRecord}
	outputs := map[string][]int16{}
	for name, d := range map[string]device.Config{"ideal": {}, "recorded": dev} {
		s, err := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: ADC{Ideal: true}, Device: d, Seed: 5}, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Program(codes); err != nil {
			t.Fatal(err)
		}
		y := make([]int16, cols)
		if err := s.MVM(x, y, nil); err != nil {
			t.Fatal(err)
		}
		outputs[name] = y
		if name == "recorded" {
			if len(s.record.idx) == 0 || len(s.record.idx) != len(s.faults) {
				t.Fatalf("record holds %d of %d faulty cells, want all (and some)", len(s.record.idx), len(s.faults))
			}
			if got := s.Counters().RecordOps; got != int64(len(s.record.idx)) {
				t.Errorf("one product counted %d record operations, want %d", got, len(s.record.idx))
			}
		}
	}
	if !slices.Equal(outputs["recorded"], outputs["ideal"]) {
		t.Errorf("MVM with every fault recorded = %v, want the fault-free %v", outputs["recorded"], outputs["ideal"])
	}
}
