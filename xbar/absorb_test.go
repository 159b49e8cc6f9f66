package xbar

import (
	"testing"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/rng"
)

// stuckWeightError programs target into an update set with stuck cells,
// then runs steps rounds of gradient descent on |W - target|^2 through OPA
// (one row at a time, input 1.0 on that row), with a CRS after every round
// when crs is set. It returns, per slice, the mean |W - target| in weight
// LSB over the weights whose most significant stuck cell is in that slice,
// after programming and after training.
func stuckWeightError(t *testing.T, dev device.Config, crs bool, steps int) (before, after []float64) {
	const n = 32
	s, err := NewSet(SetConfig{Plan: DefaultUpdatePlan, Size: DefaultSize, ADC: DefaultADC, Device: dev, Seed: 9}, n, n)
	if err != nil {
		t.Fatal(err)
	}
	src := rng.New(4)
	target := make([]int16, n*n)
	for i := range target {
		target[i] = int16(src.IntN(2048) - 1024) // within +-0.25
	}
	if err := s.Program(target); err != nil {
		t.Fatal(err)
	}
	// The weights by their most significant stuck slice.
	faulty := make([][]int, len(s.slices))
	for idx := range target {
		for i := len(s.slices) - 1; i >= 0; i-- {
			if _, stuck := s.slices[i].dev.Stuck(idx); stuck {
				faulty[i] = append(faulty[i], idx)
				break
			}
		}
	}
	f := uint(s.cfg.Plan.FractionBits)
	meanErr := func() []float64 {
		out := make([]float64, len(faulty))
		for i, cells := range faulty {
			for _, idx := range cells {
				e := float64(s.acc[idx]>>f) - float64(target[idx])
				out[i] += max(e, -e) / float64(len(cells))
			}
		}
		return out
	}
	before = meanErr()
	x, d := make([]int16, n), make([]int16, n)
	for range steps {
		for r := range n {
			clear(x)
			x[r] = 1 << 12 // 1.0
			for c := range n {
				e := int64(target[r*n+c]) - s.acc[r*n+c]>>f
				d[c] = int16(min(max(e, -1<<15), 1<<15-1))
			}
			if err := s.OPA(x, d, 0.5); err != nil {
				t.Fatal(err)
			}
		}
		if crs {
			s.CRS()
		}
	}
	return before, meanErr()
}

// TestTrainingAbsorbsStuckErrors measures how much of the error of weights
// with a stuck cell training removes by moving the weight's other slices,
// with and without fault-aware mapping, with and without a CRS after every
// round (which rewrites the nominal form and so undoes what the free cells'
// headroom absorbed). docs/devices.md reports the figures it logs.
func TestTrainingAbsorbsStuckErrors(t *testing.T) {
	plain := device.Config{StuckLow: 0.005, StuckHigh: 0.005}
	mapped := plain
	mapped.FaultMap = true
	results := map[string][2][]float64{}
	for _, tc := range []struct {
		name string
		dev  device.Config
		crs  bool
	}{{"plain, no CRS", plain, false}, {"plain, CRS", plain, true}, {"mapped, no CRS", mapped, false}, {"mapped, CRS", mapped, true}} {
		b, a := stuckWeightError(t, tc.dev, tc.crs, 20)
		results[tc.name] = [2][]float64{b, a}
		t.Logf("%-15s mean |error| in LSB by most significant stuck slice (0..11), programmed -> after 20 rounds:", tc.name)
		for i := range b {
			t.Logf("  slice %2d: %8.1f -> %8.1f", i, b[i], a[i])
		}
	}
	// Slice 3 (offset 6: fraction bits below the weight's LSB) and slice 8
	// (offset 16: weight bits 8 and 9), one low and one high.
	for _, i := range []int{3, 8} {
		if r := results["plain, no CRS"]; !(r[1][i] < r[0][i]/2) {
			t.Errorf("slice %d: without CRS training should absorb most of a stuck cell's error: %v -> %v", i, r[0][i], r[1][i])
		}
		if r, m := results["plain, CRS"], results["mapped, CRS"]; !(m[1][i] < r[1][i]) {
			t.Errorf("slice %d: mapping should lower the error left with CRS: plain %v, mapped %v", i, r[1][i], m[1][i])
		}
	}
}
