// Package quickstart is the first thing a new user runs: it puts one random
// 128 x 128 matrix on PANTHER crossbars, drives MVM, MTVM, OPA and CRS
// through ideal and finite ADCs, and measures each result against the exact
// integer arithmetic it stands for. It only drives package xbar and reports;
// it knows nothing of programs or training.
package quickstart

import (
	"fmt"
	"math"
	"time"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// Options select the experiment.
type Options struct {
	Seed uint64
	Size int // rows = columns of the matrix and crossbar
	// Eta is the OPA's learning-rate factor (negative for descent).
	Eta float64
	// Repeats is how often each kernel is timed.
	Repeats int
}

// DefaultOptions is what `panther quickstart` runs without flags.
func DefaultOptions() Options { return Options{Seed: 1, Size: 128, Eta: -1.0 / 64, Repeats: 200} }

// ProductRow is one product through one set and ADC.
type ProductRow struct {
	Operation   string  `json:"operation"` // MVM or MTVM
	Set         string  `json:"set"`       // the set's role and plan
	ADC         string  `json:"adc"`
	WrongOut    int     `json:"wrong_outputs"` // outputs that differ from the exact result
	Outputs     int     `json:"outputs"`
	MaxErrorLSB int     `json:"max_error_lsb"`
	ClipRate    float64 `json:"adc_clip_rate"` // clipped conversions / conversions
	Microsec    float64 `json:"us_per_op"`
}

// UpdateResult is the OPA and CRS experiment on the inplace set.
type UpdateResult struct {
	Plan          string  `json:"plan"`
	Eta           float64 `json:"eta"`
	Rounding      string  `json:"rounding"`
	WrongWeights  int     `json:"wrong_weights"` // weights after CRS that differ from exact W + eta x d^T
	Weights       int     `json:"weights"`
	Vanished      int64   `json:"vanished"`
	Pulses        int64   `json:"opa_pulses"`
	SliceSat      []int64 `json:"slice_sat"`
	OPAMicrosec   float64 `json:"opa_us_per_op"`
	CRSMicrosec   float64 `json:"crs_us_per_op"`
	BitstreamSame bool    `json:"bitstream_equals_chunked"`
}

// Result is everything the quickstart measured.
type Result struct {
	Options  Options      `json:"options"`
	Products []ProductRow `json:"products"`
	Update   UpdateResult `json:"update"`
	Notes    []string     `json:"notes"`
}

// Run performs the experiment. Matrix weights are uniform in [-0.5, 0.5),
// MVM inputs uniform in [0, 1) (activations), MTVM inputs and errors uniform
// in [-0.25, 0.25).
func Run(o Options) (*Result, error) {
	if o.Size < 1 || o.Size > xbar.DefaultSize.Rows {
		return nil, fmt.Errorf("size %d is out of range [1, %d]", o.Size, xbar.DefaultSize.Rows)
	}
	if frac, _ := math.Frexp(o.Eta); frac != 0.5 && frac != -0.5 {
		return nil, fmt.Errorf("eta %v must be a power of two (plus or minus), as the hardware's is", o.Eta)
	}
	if o.Repeats < 1 {
		return nil, fmt.Errorf("repeats %d must be at least 1", o.Repeats)
	}
	n := o.Size
	src := rng.New(o.Seed)
	w := src.Int16s(n*n, -2048, 2048)
	x := src.Int16s(n, 0, 4096)
	d := src.Int16s(n, -1024, 1024)
	res := &Result{Options: o}

	exactMVM := exactProduct(w, n, x, false)
	exactMTVM := exactProduct(w, n, d, true)
	for _, plan := range []struct {
		role string
		plan xbar.Plan
	}{{xbar.RoleRead, xbar.DefaultReadPlan}, {xbar.RoleInplace, xbar.DefaultInplacePlan}} {
		for _, adc := range []xbar.ADC{{Ideal: true}, {Bits: 8}, {Bits: 9}} {
			set, err := xbar.NewSet(xbar.SetConfig{Plan: plan.plan, Size: xbar.DefaultSize, ADC: adc, Seed: o.Seed}, n, n)
			if err != nil {
				return nil, err
			}
			if err := set.Program(w); err != nil {
				return nil, err
			}
			name := fmt.Sprintf("%s %s", plan.role, plan.plan)
			for _, op := range []struct {
				name  string
				in    []int16
				exact []int16
				run   func(in, out []int16) error
			}{{"MVM", x, exactMVM, func(in, out []int16) error { return set.MVM(in, out, nil) }},
				{"MTVM", d, exactMTVM, func(in, out []int16) error { return set.MTVM(in, out, nil) }}} {
				set.ResetCounters()
				out := make([]int16, n)
				if err := op.run(op.in, out); err != nil {
					return nil, err
				}
				c := set.Counters()
				row := ProductRow{Operation: op.name, Set: name, ADC: adcName(adc), Outputs: n,
					ClipRate: float64(c.ADCClips) / float64(c.ADCConversions)}
				for i := range out {
					if e := abs(int(out[i]) - int(op.exact[i])); e > 0 {
						row.WrongOut++
						row.MaxErrorLSB = max(row.MaxErrorLSB, e)
					}
				}
				row.Microsec = timeIt(o.Repeats, func() { op.run(op.in, out) })
				res.Products = append(res.Products, row)
			}
		}
	}
	upd, err := runUpdate(o, w, x, d)
	if err != nil {
		return nil, err
	}
	res.Update = *upd
	res.Notes = []string{
		"exact: sat16(round_half_away(sum W x / 2^12)) in 64-bit integers, independent of the crossbar model",
		"an 8-bit ADC clips on sets with headroom (signed range) and corrupts outputs; the 2-bit read set and 9 bits do not clip here",
	}
	return res, nil
}

func runUpdate(o Options, w, x, d []int16) (*UpdateResult, error) {
	n := o.Size
	mk := func(mode xbar.OPAMode) (*xbar.Set, error) {
		s, err := xbar.NewSet(xbar.SetConfig{Plan: xbar.DefaultInplacePlan, Size: xbar.DefaultSize, ADC: xbar.DefaultADC,
			Rounding: fixed.Nearest, OPAMode: mode, Seed: o.Seed}, n, n)
		if err != nil {
			return nil, err
		}
		return s, s.Program(w)
	}
	chunked, err := mk(xbar.Chunked)
	if err != nil {
		return nil, err
	}
	bitstream, err := mk(xbar.Bitstream)
	if err != nil {
		return nil, err
	}
	for _, s := range []*xbar.Set{chunked, bitstream} {
		if err := s.OPA(x, d, o.Eta); err != nil {
			return nil, err
		}
		s.CRS()
	}
	got, other := make([]int16, n*n), make([]int16, n*n)
	chunked.Weights(got)
	bitstream.Weights(other)
	c := chunked.Counters()
	res := &UpdateResult{Plan: xbar.DefaultInplacePlan.String(), Eta: o.Eta, Rounding: fixed.Nearest.String(),
		Weights: n * n, Vanished: c.Vanished, Pulses: c.OPAPulses, SliceSat: c.SliceSat, BitstreamSame: true}
	for i := range got {
		r, col := i/n, i%n
		if got[i] != exactUpdatedWeight(w[i], x[r], d[col], o.Eta) {
			res.WrongWeights++
		}
		res.BitstreamSame = res.BitstreamSame && got[i] == other[i]
	}
	eta := o.Eta
	res.OPAMicrosec = timeIt(o.Repeats, func() { chunked.OPA(x, d, eta); eta = -eta })
	res.CRSMicrosec = timeIt(o.Repeats, chunked.CRS)
	return res, nil
}

// exactUpdatedWeight is sat16(w + round_nearest(eta x d / 2^12)) for an eta
// that is a power of two, where float64 is exact.
func exactUpdatedWeight(w, x, d int16, eta float64) int16 {
	g := eta * float64(x) * float64(d) / 4096
	mag := math.Floor(math.Abs(g) + 0.5) // round half up on |g|
	if g < 0 {
		mag = -mag
	}
	v, _ := fixed.Sat16(int64(w) + int64(mag))
	return v
}

// exactProduct is the layer product on the cell matrix m (rows = cols = n):
// y_c = sum_r m[r][c] in_r, or transposed, rounded once.
func exactProduct(m []int16, n int, in []int16, transposed bool) []int16 {
	out := make([]int16, n)
	for o := range n {
		var acc int64
		for i := range n {
			cell := m[i*n+o]
			if transposed {
				cell = m[o*n+i]
			}
			acc += int64(cell) * int64(in[i])
		}
		out[o], _ = fixed.Sat16(fixed.RoundShift(acc, 12))
	}
	return out
}

func timeIt(repeats int, f func()) float64 {
	f() // warm caches and lazily built bit-planes
	start := time.Now()
	for range repeats {
		f()
	}
	return time.Since(start).Seconds() * 1e6 / float64(repeats)
}

func adcName(a xbar.ADC) string {
	if a.Ideal {
		return "ideal"
	}
	return fmt.Sprintf("%d-bit", a.Bits)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
