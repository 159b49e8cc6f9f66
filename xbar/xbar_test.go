package xbar

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"pgregory.net/rapid"
)

func newTestSet(t interface{ Fatal(...any) }, plan Plan, adc ADC, rows, cols int) *Set {
	s, err := NewSet(SetConfig{Plan: plan, Size: Size{Rows: 64 * ((rows + 63) / 64), Cols: 64 * ((cols + 63) / 64)}, ADC: adc}, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drawSet makes a set of random shape and plan, programs random weights and
// applies a few random OPAs so that the slices leave nominal form.
func drawSet(t *rapid.T, adc ADC) *Set {
	plan := genPlan(t, 8)
	rows := rapid.IntRange(1, 70).Draw(t, "rows")
	cols := rapid.IntRange(1, 70).Draw(t, "cols")
	s := newTestSet(t, plan, adc, rows, cols)
	if err := s.Program(genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "weights")); err != nil {
		t.Fatal(err)
	}
	for range rapid.IntRange(0, 3).Draw(t, "opas") {
		x := genCodes(t, rows, -4096, 4096, "x")
		d := genCodes(t, cols, -4096, 4096, "d")
		eta := math.Ldexp(1, rapid.IntRange(-14, -2).Draw(t, "etaExp"))
		if err := s.OPA(x, d, -eta); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestIdealProductsEqualExactIntegerProduct(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawSet(t, ADC{Ideal: true})
		x := genCodes(t, s.rows, math.MinInt16, math.MaxInt16, "x")
		d := genCodes(t, s.cols, math.MinInt16, math.MaxInt16, "d")
		y, yt := make([]int16, s.cols), make([]int16, s.rows)
		if err := s.MVM(x, y, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.MTVM(d, yt, nil); err != nil {
			t.Fatal(err)
		}
		if want := bigExactProduct(s, x, false); !slices.Equal(y, want) {
			t.Fatalf("MVM %v, exact %v", y, want)
		}
		if want := bigExactProduct(s, d, true); !slices.Equal(yt, want) {
			t.Fatalf("MTVM %v, exact %v", yt, want)
		}
	})
}

func TestFiniteADCProductsEqualReferenceLoop(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		adc := ADC{Bits: rapid.IntRange(1, 12).Draw(t, "bits"), Shift: rapid.IntRange(0, 3).Draw(t, "shift")}
		s := drawSet(t, adc)
		// Small inputs repeat their sign bit over the high steps.
		mag := rapid.SampledFrom([]int16{3, 300, math.MaxInt16}).Draw(t, "input magnitude")
		for round := range 2 { // the second round runs on planes patched by an OPA
			x := genCodes(t, s.rows, -mag, mag, "x")
			d := genCodes(t, s.cols, -mag, mag, "d")
			y, yt := make([]int16, s.cols), make([]int16, s.rows)
			before := s.Counters().ADCClips
			s.MVM(x, y, nil)
			s.MTVM(d, yt, nil)
			want, clips := refProduct(s, x, false)
			wantT, clipsT := refProduct(s, d, true)
			if !slices.Equal(y, want) {
				t.Fatalf("round %d: MVM %v, reference %v", round, y, want)
			}
			if !slices.Equal(yt, wantT) {
				t.Fatalf("round %d: MTVM %v, reference %v", round, yt, wantT)
			}
			if got := s.Counters().ADCClips - before; got != clips+clipsT {
				t.Fatalf("round %d: %d ADC clips, reference %d", round, got, clips+clipsT)
			}
			s.OPA(genCodes(t, s.rows, -4096, 4096, "x2"), genCodes(t, s.cols, -4096, 4096, "d2"), -1.0/64)
		}
	})
}

// accumulators returns every Q of a set, recomputed from the slices.
func accumulators(s *Set) []int64 {
	out := make([]int64, s.rows*s.cols)
	for r := range s.rows {
		for c := range s.cols {
			out[r*s.cols+c] = bigAccumulator(s, r, c).Int64()
		}
	}
	return out
}

func TestChunkedOPAAddsExactRoundedUpdate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		plan := genPlan(t, 8)
		rows, cols := rapid.IntRange(1, 20).Draw(t, "rows"), rapid.IntRange(1, 20).Draw(t, "cols")
		s, err := NewSet(SetConfig{Plan: plan, Size: DefaultSize, ADC: DefaultADC,
			Rounding: rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Truncate}).Draw(t, "rounding")}, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		s.Program(genCodes(t, rows*cols, -8000, 8000, "w"))
		x := genCodes(t, rows, -6000, 6000, "x")
		d := genCodes(t, cols, -6000, 6000, "d")
		// Any binary64 eta, not only powers of two: the update is exact.
		eta := rapid.Float64Range(-0.2, 0.2).Draw(t, "eta")
		before := accumulators(s)
		if err := s.OPA(x, d, eta); err != nil {
			t.Fatal(err)
		}
		c := s.Counters()
		if c.Saturations() != 0 || c.GClips != 0 {
			t.Skip("saturated: the property is about the unsaturated case")
		}
		after := accumulators(s)
		for r := range rows {
			for col := range cols {
				g := bigUpdate(eta, x[r], d[col], plan.FractionBits, s.cfg.Rounding)
				if idx := r*cols + col; after[idx] != before[idx]+g {
					t.Fatalf("cell (%d,%d): Q %d -> %d, want + %d", r, col, before[idx], after[idx], g)
				}
				if got := s.Accumulator(r, col); got != after[r*cols+col] {
					t.Fatalf("cached accumulator %d, slices say %d", got, after[r*cols+col])
				}
			}
		}
	})
}

func TestBitstreamEqualsChunkedWithoutSaturation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		plan := genPlan(t, 8)
		rows, cols := rapid.IntRange(1, 16).Draw(t, "rows"), rapid.IntRange(1, 16).Draw(t, "cols")
		rounding := rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Truncate, fixed.Stochastic}).Draw(t, "rounding")
		seed := rapid.Uint64().Draw(t, "seed")
		make := func(mode OPAMode) *Set {
			s, err := NewSet(SetConfig{Plan: plan, Size: DefaultSize, ADC: DefaultADC, Rounding: rounding, OPAMode: mode, Seed: seed}, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		chunked, bitstream := make(Chunked), make(Bitstream)
		w := genCodes(t, rows*cols, -8000, 8000, "w")
		chunked.Program(w)
		bitstream.Program(w)
		for range rapid.IntRange(1, 3).Draw(t, "opas") {
			x := genCodes(t, rows, math.MinInt16, math.MaxInt16, "x")
			d := genCodes(t, cols, -3000, 3000, "d")
			eta := rapid.Float64Range(-0.05, 0.05).Draw(t, "eta")
			chunked.OPA(x, d, eta)
			bitstream.OPA(x, d, eta)
		}
		if chunked.Counters().Saturations() != 0 || bitstream.Counters().Saturations() != 0 {
			t.Skip("saturated")
		}
		if !slices.Equal(chunked.acc, bitstream.acc) {
			t.Fatalf("accumulators differ:\nchunked   %v\nbitstream %v", chunked.acc, bitstream.acc)
		}
		if cv, bv := chunked.Counters().Vanished, bitstream.Counters().Vanished; cv != bv {
			t.Fatalf("vanished chunked %d, bitstream %d", cv, bv)
		}
		chunked.CRS()
		bitstream.CRS()
		for i := range plan.Slices {
			if !slices.Equal(chunked.cells(i), bitstream.cells(i)) {
				t.Fatalf("slice %d differs after CRS", i)
			}
		}
	})
}

func TestCRSKeepsRepresentedWeights(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawSet(t, DefaultADC)
		before := accumulators(s)
		f := uint(s.cfg.Plan.FractionBits)
		s.CRS()
		bias := s.cfg.Plan.Bias()
		for i, q := range before {
			want := min(max(q, -bias), bias-1)
			if s.acc[i] != want {
				t.Fatalf("cell %d: Q %d became %d after CRS, want %d", i, q, s.acc[i], want)
			}
		}
		// Nominal form: every slice holds its chunk of U = Q + 2^(15+f).
		cells := make([][]int16, len(s.slices))
		for i := range cells {
			cells[i] = s.cells(i)
		}
		for idx, q := range s.acc {
			u := uint64(q + bias)
			for i, sl := range s.cfg.Plan.Slices {
				if want := int16(u >> sl.Offset & (1<<sl.NominalBits - 1)); cells[i][idx] != want {
					t.Fatalf("cell %d slice %d holds %d after CRS, nominal form is %d", idx, i, cells[i][idx], want)
				}
			}
		}
		w := make([]int16, len(s.acc))
		s.Weights(w)
		for i, q := range s.acc {
			if want, _ := fixed.Sat16(fixed.RoundShift(q, f)); w[i] != want {
				t.Fatalf("weight %d = %d, want round_half_away(%d / 2^%d) = %d", i, w[i], q, f, want)
			}
		}
	})
}

func TestSubLSBUpdatesVanishWithoutFractionBits(t *testing.T) {
	// eta X D 2^-12 = 0.25 LSB per example: below half an LSB.
	x, d, eta := []int16{1 << 12}, []int16{1 << 10}, -1.0/(1<<12)
	run := func(plan Plan) (*Set, int16) {
		s, err := NewSet(SetConfig{Plan: plan, Size: DefaultSize, ADC: DefaultADC}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		s.Program([]int16{100})
		for range 4 { // batches of 16, resolved in between so no cell saturates
			for range 16 {
				s.OPA(x, d, eta)
			}
			s.CRS()
		}
		w := []int16{0}
		s.Weights(w)
		return s, w[0]
	}
	s16, w16 := run(DefaultInplacePlan)
	if w16 != 100 || s16.Counters().Vanished != 64 {
		t.Fatalf("16-bit set: weight %d (want 100 unchanged), %d vanished (want 64)", w16, s16.Counters().Vanished)
	}
	sf, wf := run(DefaultUpdatePlan)
	if wf != 100-16 || sf.Counters().Vanished != 0 || sf.Counters().Saturations() != 0 {
		t.Fatalf("set with 8 fraction bits: weight %d (want 100 - 64/4 = 84), %d vanished (want 0)", wf, sf.Counters().Vanished)
	}
}

func TestSaturationCountsHandComputed(t *testing.T) {
	// Slice 0 of the inplace plan is a 6-bit cell, range [-32, 31]. Weight
	// code 3 puts nominal 3 in it; ten same-sign chunks of 3 reach 33, so the
	// tenth write saturates and loses 2 (docs/numeric-model.md).
	s, err := NewSet(SetConfig{Plan: DefaultInplacePlan, Size: DefaultSize, ADC: DefaultADC}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Program([]int16{3})
	if v := s.Cell(0, 0, 0); v != 3 {
		t.Fatalf("slice 0 holds %d, want 3", v)
	}
	for i := range 10 {
		s.OPA([]int16{1 << 12}, []int16{3}, 1) // g = 1 * 4096 * 3 / 4096 = 3
		if c := s.Counters(); (i < 9 && c.SliceSat[0] != 0) || (i == 9 && c.SliceSat[0] != 1) {
			t.Fatalf("after %d updates slice 0 saturated %d times", i+1, c.SliceSat[0])
		}
	}
	c := s.Counters()
	if c.Lost != 2 || s.Cell(0, 0, 0) != 31 || c.Saturations() != 1 || c.OPAPulses != 10 || c.OPAPhases != 10 {
		t.Fatalf("lost %d (want 2), cell %d (want 31), saturations %d (want 1), pulses %d (want 10), phases %d (want 10)",
			c.Lost, s.Cell(0, 0, 0), c.Saturations(), c.OPAPulses, c.OPAPhases)
	}
	// A g beyond 2^16 - 1 is clipped once and counted.
	s.OPA([]int16{math.MaxInt16}, []int16{math.MaxInt16}, 100)
	if c := s.Counters(); c.GClips != 1 {
		t.Fatalf("g-clips %d, want 1", c.GClips)
	}
	// CRS saturates Q beyond the 16-bit range and counts it.
	s.CRS()
	if c := s.Counters(); c.QSat != 1 || s.Accumulator(0, 0) != math.MaxInt16 {
		t.Fatalf("after CRS: QSat %d (want 1), Q %d (want 32767)", c.QSat, s.Accumulator(0, 0))
	}
}

func TestVariantsRouteAsSpecified(t *testing.T) {
	w := []int16{1000, -2000, 3000, 500, -700, 1200}
	x := []int16{4096, -2048}       // rows
	d := []int16{4096, 2048, -4096} // columns
	xin := []int16{4096, 4096}      // MVM input
	din := []int16{4096, 4096, 0}   // MTVM input
	outputs := func(u *Unit) (y, yt []int16) {
		y, yt = make([]int16, 3), make([]int16, 2)
		if err := u.MVM(xin, y, nil); err != nil {
			t.Fatal(err)
		}
		if err := u.MTVM(din, yt, nil); err != nil {
			t.Fatal(err)
		}
		return y, yt
	}
	results := map[Variant][4][]int16{}
	for _, v := range []Variant{Inplace, Accumulate, Pipelined} {
		cfg := DefaultUnitConfig()
		cfg.Variant = v
		u, err := NewUnit(cfg, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		u.Program(w)
		y0, yt0 := outputs(u)
		u.OPA(x, d, -0.25)
		y1, yt1 := outputs(u)
		changed := !slices.Equal(y0, y1) || !slices.Equal(yt0, yt1)
		if v == Inplace && !changed {
			t.Fatalf("inplace: MVM/MTVM did not see the OPA at once")
		}
		if v != Inplace && changed {
			t.Fatalf("%v: MVM/MTVM saw the OPA before CRS", v)
		}
		u.CRS()
		y2, yt2 := outputs(u)
		if slices.Equal(y0, y2) || slices.Equal(yt0, yt2) {
			t.Fatalf("%v: MVM or MTVM did not see the update after CRS", v)
		}
		results[v] = [4][]int16{y1, yt1, y2, yt2}
		wantSets := map[Variant]int{Inplace: 1, Accumulate: 2, Pipelined: 3}[v]
		if n := len(u.Counters()); n != wantSets {
			t.Fatalf("%v has %d sets, want %d", v, n, wantSets)
		}
	}
	if !equalOutputs(results[Accumulate], results[Pipelined]) {
		t.Fatalf("pipelined differs from accumulate with ideal cells: %v vs %v", results[Pipelined], results[Accumulate])
	}
}

func equalOutputs(a, b [4][]int16) bool {
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestDeviceModelsAreSeeded(t *testing.T) {
	models := map[string]device.Config{
		"d2d+c2c":   {Kind: "ideal", D2D: 0.2, C2C: 0.3},
		"nonlinear": {Kind: "nonlinear", Alpha: 2, Sigma: 0.2},
		"stuck":     {Kind: "ideal", StuckLow: 0.05, StuckHigh: 0.05},
		"readnoise": {Kind: "ideal", ReadNoise: 0.5},
		"table":     {Kind: "table", TablePath: "../device/testdata/example_table.csv"},
	}
	for name, dev := range models {
		t.Run(name, func(t *testing.T) {
			if err := dev.Load(); err != nil {
				t.Fatal(err)
			}
			run := func(seed uint64) []int16 {
				cfg := DefaultUnitConfig()
				cfg.Variant, cfg.Device, cfg.Seed, cfg.Rounding = Inplace, dev, seed, fixed.Stochastic
				u, err := NewUnit(cfg, 16, 16)
				if err != nil {
					t.Fatal(err)
				}
				w := make([]int16, 256)
				for i := range w {
					w[i] = int16(i*37%200 - 100)
				}
				u.Program(w)
				x, d, y := make([]int16, 16), make([]int16, 16), make([]int16, 16)
				var out []int16
				for step := range 8 {
					for i := range x {
						x[i] = int16((i*53+step*11)%4096 - 2048)
						d[i] = int16((i*29+step*7)%4096 - 2048)
					}
					u.OPA(x, d, -1.0/16)
					u.MVM(x, y, nil)
					out = append(out, y...)
				}
				u.Weights(w)
				return append(out, w...)
			}
			a, b, c := run(1), run(1), run(2)
			if !slices.Equal(a, b) {
				t.Fatal("same seed gave different bits")
			}
			if slices.Equal(a, c) {
				t.Fatal("different seeds gave the same bits")
			}
		})
	}
}

func TestBadInputNamesParameterAndRange(t *testing.T) {
	cases := []struct {
		name string
		err  func() error
		want []string
	}{
		{"nominal sum", func() error { _, err := ParsePlan("2x7"); return err }, []string{"add up to 14", "must add up to 16"}},
		{"cell below nominal", func() error { _, err := ParsePlan("2x8/1,2x7"); return err }, []string{"slice 0 cell bits = 1", "[2 (its nominal bits), 8]"}},
		{"cell too wide", func() error { _, err := ParsePlan("2x8/9,2x7"); return err }, []string{"cell bits = 9", "8]"}},
		{"fraction bits", func() error { _, err := ParsePlan("2x20/f24"); return err }, []string{"f = 24", "[0, 16]"}},
		{"plan syntax", func() error { _, err := ParsePlan("two"); return err }, []string{`"two"`, "2x8"}},
		{"size", func() error { return (Size{Rows: 16, Cols: 128}).Validate() }, []string{"16x128", "[32, 512]"}},
		{"zero adc bits", func() error { return ADC{Bits: 0}.Validate() }, []string{"adc_bits = 0", "[1, 24]"}},
		{"adc text", func() error { _, err := ParseADC("eight"); return err }, []string{"ideal", "8"}},
		{"matrix too big", func() error {
			_, err := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: DefaultADC}, 129, 4)
			return err
		}, []string{"129x4", "[1, 128]"}},
		{"mvm shape", func() error {
			s, _ := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: DefaultADC}, 4, 3)
			return s.MVM(make([]int16, 3), make([]int16, 3), nil)
		}, []string{"4x3", "takes 4 inputs", "got 3 inputs"}},
		{"opa shape", func() error {
			s, _ := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: DefaultADC}, 4, 3)
			return s.OPA(make([]int16, 4), make([]int16, 4), 1)
		}, []string{"3 column inputs", "got 4 and 4"}},
		{"program shape", func() error {
			s, _ := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: DefaultADC}, 4, 3)
			return s.Program(make([]int16, 5))
		}, []string{"got 5 codes", "needs 12"}},
		{"eta", func() error {
			s, _ := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: DefaultADC}, 4, 3)
			return s.OPA(make([]int16, 4), make([]int16, 3), math.NaN())
		}, []string{"eta = NaN"}},
		{"variant", func() error { _, err := ParseVariant("batch"); return err }, []string{"inplace, accumulate, pipelined"}},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func TestPlanTextRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPlan(t, MaxFractionBits)
		q, err := ParsePlan(p.String())
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !slices.Equal(p.Slices, q.Slices) || p.FractionBits != q.FractionBits {
			t.Fatalf("%s read back as %s", p, q)
		}
	})
	for text, want := range map[string]string{
		"2x8/6,6,6,6,5,5,5,5": "2x8/6x4,5x4",
		"2,2,2,2,2,2,2,2":     "2x8",
		"2x12/6x8,5x4/f8":     "2x12/6x8,5x4/f8",
		"4,4,4,4/4,4,4,4":     "4x4",
	} {
		if p, err := ParsePlan(text); err != nil || p.String() != want {
			t.Errorf("ParsePlan(%q) = %v, %v; want %s", text, p, err, want)
		}
	}
}

func FuzzParsePlan(f *testing.F) {
	for _, s := range []string{"2x8/6x4,5x4", "2x12/6x8,5x4/f8", "2x8", "4,4,4,4", "16/f0", "x/", "2x99999999999", "1x16/8x16/f16"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParsePlan(text)
		if err != nil {
			return
		}
		q, err := ParsePlan(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("%q parsed as %s, which reads back as %v, %v", text, p, q, err)
		}
	})
}

func TestStateRestoreResumesBitForBit(t *testing.T) {
	for _, v := range []Variant{Inplace, Accumulate, Pipelined} {
		cfg := DefaultUnitConfig()
		cfg.Variant, cfg.Rounding, cfg.Seed = v, fixed.Stochastic, 5
		cfg.Device = device.Config{Kind: "ideal", C2C: 0.2, ReadNoise: 0.3}
		steps := func(u *Unit, from, to int) []int16 {
			var out []int16
			y := make([]int16, 8)
			for step := from; step < to; step++ {
				x := make([]int16, 8)
				for i := range x {
					x[i] = int16((i*97+step*31)%2000 - 1000)
				}
				u.OPA(x, x, -1.0/8)
				if step%3 == 2 {
					u.CRS()
				}
				u.MVM(x, y, nil)
				out = append(out, y...)
			}
			return out
		}
		newUnit := func() *Unit {
			u, err := NewUnit(cfg, 8, 8)
			if err != nil {
				t.Fatal(err)
			}
			u.Program(make([]int16, 64))
			return u
		}
		straight := newUnit()
		want := steps(straight, 0, 10)
		first := newUnit()
		got := steps(first, 0, 4)
		st, err := first.State()
		if err != nil {
			t.Fatal(err)
		}
		resumed := newUnit()
		if err := resumed.Restore(st); err != nil {
			t.Fatal(err)
		}
		got = append(got, steps(resumed, 4, 10)...)
		if !slices.Equal(got, want) {
			t.Fatalf("%v: resumed run differs from a straight one", v)
		}
		if a, b := straight.Counters(), resumed.Counters(); !slices.EqualFunc(a, b, func(x, y RoleCounters) bool {
			return x.Role == y.Role && x.Counters.ADCClips == y.Counters.ADCClips && x.Counters.OPAPulses == y.Counters.OPAPulses
		}) {
			t.Fatalf("%v: counters differ after resume", v)
		}
	}
}

// levelWiseSum is the tile tree of docs/numeric-model.md written as levels: pair neighbours,
// pass an odd last one up, repeat.
func levelWiseSum(vals []int16, flags []bool) (v int16, f bool, events int) {
	for len(vals) > 1 {
		var nv []int16
		var nf []bool
		for i := 0; i < len(vals); i += 2 {
			if i+1 == len(vals) {
				nv, nf = append(nv, vals[i]), append(nf, flags[i])
				continue
			}
			s, sat := fixed.Sat16(int64(vals[i]) + int64(vals[i+1]))
			nv, nf = append(nv, s), append(nf, flags[i] || flags[i+1] || sat)
			if sat {
				events++
			}
		}
		vals, flags = nv, nf
	}
	return vals[0], flags[0], events
}

func TestTreeSumPairsLevelByLevel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tiles := rapid.IntRange(1, 20).Draw(t, "tiles")
		n := rapid.IntRange(1, 3*treeBlock).Draw(t, "n") // several blocks
		parts := make([][]int16, tiles)
		flags := make([][]bool, tiles)
		for i := range parts {
			parts[i] = genCodes(t, n, math.MinInt16, math.MaxInt16, "part")
			if rapid.Bool().Draw(t, "has flags") { // a tile without flags has none set
				flags[i] = rapid.SliceOfN(rapid.Bool(), n, n).Draw(t, "flags")
			}
		}
		out, outFlags := make([]int16, n), make([]bool, n)
		events, err := TreeSum(parts, flags, out, outFlags)
		if err != nil {
			t.Fatal(err)
		}
		wantEvents := 0
		for i := range n {
			vals, fl := make([]int16, tiles), make([]bool, tiles)
			for k := range tiles {
				vals[k], fl[k] = parts[k][i], flags[k] != nil && flags[k][i]
			}
			v, f, ev := levelWiseSum(vals, fl)
			if out[i] != v || outFlags[i] != f {
				t.Fatalf("element %d: tree sum %d/%v, level-wise %d/%v", i, out[i], outFlags[i], v, f)
			}
			wantEvents += ev
		}
		if events != wantEvents {
			t.Fatalf("tree sum counted %d saturations, level-wise %d", events, wantEvents)
		}
	})
	// Grouping matters under saturation: ((a+b)+c) differs from (a+(b+c)).
	out := make([]int16, 1)
	TreeSum([][]int16{{30000}, {10000}, {-20000}}, nil, out, nil)
	if out[0] != 12767 { // sat(30000+10000) = 32767, then - 20000
		t.Fatalf("tree sum of 30000, 10000, -20000 = %d, want 12767", out[0])
	}
}

func TestZeroThresholdSeparatesVanishingProducts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		eta := rapid.Float64Range(1e-9, 4).Draw(t, "eta")
		f := rapid.IntRange(0, 16).Draw(t, "f")
		rounding := rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Truncate}).Draw(t, "rounding")
		sc := newScaler(eta, f, rounding)
		T := sc.zeroBelow
		if T > 1 {
			if g, _ := sc.magnitude(T-1, 0); g != 0 {
				t.Fatalf("product %d below the threshold %d rounds to %d", T-1, T, g)
			}
		}
		if T < 1<<31 {
			if g, _ := sc.magnitude(max(T, 1), 0); g == 0 {
				t.Fatalf("product at the threshold %d rounds to zero", T)
			}
		}
	})
}

// A resolved OPA is the exact digital update: each accumulator gets its
// rounded update (clipped to 2^(16+f)-1 in magnitude), saturates to the
// set's range, and the slices are left in nominal form, whatever the plan's
// headroom.
func TestResolvedOPAIsExactSaturatedUpdate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		plan := genPlan(t, 8)
		rows, cols := rapid.IntRange(1, 12).Draw(t, "rows"), rapid.IntRange(1, 12).Draw(t, "cols")
		rounding := rapid.SampledFrom([]fixed.Rounding{fixed.Nearest, fixed.Truncate}).Draw(t, "rounding")
		s, err := NewSet(SetConfig{Plan: plan, Size: DefaultSize, ADC: DefaultADC, Rounding: rounding, OPAMode: Resolved}, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Program(genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "w")); err != nil {
			t.Fatal(err)
		}
		bias, limit := plan.Bias(), int64(1)<<(16+plan.FractionBits)-1
		want := accumulators(s)
		for range rapid.IntRange(1, 3).Draw(t, "opas") {
			x := genCodes(t, rows, math.MinInt16, math.MaxInt16, "x")
			d := genCodes(t, cols, math.MinInt16, math.MaxInt16, "d")
			eta := rapid.Float64Range(-4, 4).Draw(t, "eta")
			if err := s.OPA(x, d, eta); err != nil {
				t.Fatal(err)
			}
			for r := range rows {
				for c := range cols {
					g := bigUpdate(eta, x[r], d[c], plan.FractionBits, rounding)
					g = min(max(g, -limit), limit)
					idx := r*cols + c
					want[idx] = min(max(want[idx]+g, -bias), bias-1)
				}
			}
		}
		if got := accumulators(s); !slices.Equal(got, want) {
			t.Fatalf("accumulators\n got %v\nwant %v", got, want)
		}
		for i, sl := range s.slices {
			for idx, v := range s.cells(i) {
				if v < 0 || int64(v) > int64(sl.nominalMask) {
					t.Fatalf("slice %d cell %d holds %d: not nominal", i, idx, v)
				}
			}
		}
		if c := s.Counters(); c.Saturations() != 0 || c.SerialReads != 0 || c.CRSs != 0 {
			t.Fatalf("counters %+v: a resolved OPA clamps no slice and is no CRS", c)
		}
	})
}
