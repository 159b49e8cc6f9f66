package xbar

import (
	"testing"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/rng"
)

// The benchmarks run on one full 128 x 128 crossbar set with the inplace
// plan of docs/numeric-model.md (8 slices, cells 6,6,6,6,5,5,5,5), weights uniform in
// [-0.5, 0.5), inputs and errors uniform in [-1, 1): every input bit step
// has active rows and every OPA cell gets an update that spans several
// slices (eta = -1/16 gives |g| up to 256 LSB). The Naive benchmarks time
// the reference loops of ref_test.go on the same data.

func benchSet(b *testing.B, adc ADC, mode OPAMode) (s *Set, x, d []int16) {
	b.Helper()
	s, err := NewSet(SetConfig{Plan: DefaultInplacePlan, Size: DefaultSize, ADC: adc, OPAMode: mode, Rounding: fixed.Nearest}, 128, 128)
	if err != nil {
		b.Fatal(err)
	}
	src := rng.New(7)
	s.Program(src.Int16s(128*128, -1<<11, 1<<11))
	return s, src.Int16s(128, -1<<12, 1<<12), src.Int16s(128, -1<<12, 1<<12)
}

func BenchmarkMVMIdeal128(b *testing.B) {
	s, x, _ := benchSet(b, ADC{Ideal: true}, Chunked)
	y := make([]int16, 128)
	for b.Loop() {
		s.MVM(x, y, nil)
	}
}

func BenchmarkMVMADC8bit128(b *testing.B) {
	s, x, _ := benchSet(b, DefaultADC, Chunked)
	y := make([]int16, 128)
	for b.Loop() {
		s.MVM(x, y, nil)
	}
}

func BenchmarkMTVMADC8bit128(b *testing.B) {
	s, _, d := benchSet(b, DefaultADC, Chunked)
	y := make([]int16, 128)
	for b.Loop() {
		s.MTVM(d, y, nil)
	}
}

// benchOPA alternates the sign of the update so the cells stay in range.
// With livePlanes an MVM through the ADC has built the bit-planes first, so
// every write also patches them (the inplace variant with a finite ADC);
// otherwise the set is only written, as an update set is.
func benchOPA(b *testing.B, mode OPAMode, livePlanes bool) {
	s, x, d := benchSet(b, DefaultADC, mode)
	if livePlanes {
		s.MVM(x, make([]int16, 128), nil)
	}
	eta := -1.0 / 16
	for b.Loop() {
		s.OPA(x, d, eta)
		eta = -eta
	}
}

func BenchmarkOPAChunked128(b *testing.B)           { benchOPA(b, Chunked, false) }
func BenchmarkOPAChunked128LivePlanes(b *testing.B) { benchOPA(b, Chunked, true) }
func BenchmarkOPABitstream128(b *testing.B)         { benchOPA(b, Bitstream, false) }

func BenchmarkCRS128(b *testing.B) {
	s, x, d := benchSet(b, DefaultADC, Chunked)
	s.OPA(x, d, -1.0/16)
	for b.Loop() {
		s.CRS()
	}
}

// benchRecordMVM is BenchmarkMVMADC8bit128 on a set with 2% of its cells
// stuck low and 2% stuck high, fault-aware mapping and a fault record of n
// entries (docs/devices.md): every product through the ADC adds the
// record's corrections.
func benchRecordMVM(b *testing.B, n int) {
	dev := device.Config{StuckLow: 0.02, StuckHigh: 0.02, FaultMap: true, FaultRecord: n}
	s, err := NewSet(SetConfig{Plan: DefaultInplacePlan, Size: DefaultSize, ADC: DefaultADC, Device: dev, Rounding: fixed.Nearest}, 128, 128)
	if err != nil {
		b.Fatal(err)
	}
	if len(s.record.idx) != n {
		b.Fatalf("the record holds %d cells, want %d", len(s.record.idx), n)
	}
	src := rng.New(7)
	s.Program(src.Int16s(128*128, -1<<11, 1<<11))
	x, y := src.Int16s(128, -1<<12, 1<<12), make([]int16, 128)
	for b.Loop() {
		s.MVM(x, y, nil)
	}
}

func BenchmarkMVMFaultRecord256(b *testing.B)  { benchRecordMVM(b, 256) }
func BenchmarkMVMFaultRecord4096(b *testing.B) { benchRecordMVM(b, device.MaxFaultRecord) }

func BenchmarkNaiveMVMIdeal128(b *testing.B) {
	s, x, _ := benchSet(b, ADC{Ideal: true}, Chunked)
	for b.Loop() {
		refProduct(s, x, false)
	}
}

func BenchmarkNaiveMVMADC8bit128(b *testing.B) {
	s, x, _ := benchSet(b, DefaultADC, Chunked)
	for b.Loop() {
		refProduct(s, x, false)
	}
}

func BenchmarkNaiveMTVMADC8bit128(b *testing.B) {
	s, _, d := benchSet(b, DefaultADC, Chunked)
	for b.Loop() {
		refProduct(s, d, true)
	}
}

// refOPAChunked is the naive chunked OPA: per cell, an exact big-rational
// update, then every slice in turn.
func refOPAChunked(s *Set, x, d []int16, eta float64) {
	s.ensureSlices()
	for r, xv := range x {
		for c, dv := range d {
			g := bigUpdate(eta, xv, dv, s.cfg.Plan.FractionBits, fixed.Nearest)
			mag, neg := uint64(g), false
			if g < 0 {
				mag, neg = uint64(-g), true
			}
			for i, sl := range s.cfg.Plan.Slices {
				chunk := int32(mag >> sl.Offset & (1<<sl.NominalBits - 1))
				if neg {
					chunk = -chunk
				}
				lo, hi := sl.Range()
				cells := &s.slices[i]
				cells.setLevel(r*s.cols+c, min(max(cells.level(r*s.cols+c)+chunk, lo), hi))
			}
		}
	}
}

func BenchmarkNaiveOPAChunked128(b *testing.B) {
	s, x, d := benchSet(b, DefaultADC, Chunked)
	eta := -1.0 / 16
	for b.Loop() {
		refOPAChunked(s, x, d, eta)
		eta = -eta
	}
}

// refCRS recomputes every accumulator from the slices and rewrites them.
func refCRS(s *Set) {
	s.ensureSlices()
	p := s.cfg.Plan
	for r := range s.rows {
		for c := range s.cols {
			q := bigAccumulator(s, r, c).Int64()
			q = min(max(q, -p.Bias()), p.Bias()-1)
			u := uint64(q + p.Bias())
			for i, sl := range p.Slices {
				s.slices[i].setLevel(r*s.cols+c, int32(u>>sl.Offset&(1<<sl.NominalBits-1)))
			}
		}
	}
}

func BenchmarkNaiveCRS128(b *testing.B) {
	s, _, _ := benchSet(b, DefaultADC, Chunked)
	for b.Loop() {
		refCRS(s)
	}
}

// BenchmarkOPAChunked128Training is the OPA of a training step on the
// accumulate variant's update set (2x12/6x8,5x4/f8): activations in [0, 1),
// errors in [-1/64, 1/64), eta = -2^-7, so most updates are a few fraction
// LSBs and touch the lowest slices only.
func BenchmarkOPAChunked128Training(b *testing.B) {
	s, err := NewSet(SetConfig{Plan: DefaultUpdatePlan, Size: DefaultSize, ADC: DefaultADC}, 128, 128)
	if err != nil {
		b.Fatal(err)
	}
	src := rng.New(7)
	s.Program(src.Int16s(128*128, -1<<11, 1<<11))
	x, d := src.Int16s(128, 0, 1<<12), src.Int16s(128, -1<<6, 1<<6)
	eta := -1.0 / 128
	for b.Loop() {
		s.OPA(x, d, eta)
		eta = -eta
	}
}

// BenchmarkProductsTraining is one MVM and one MTVM of a training step on
// the accumulate variant's read set (2x8, 8-bit ADC): activations in
// [0, 1) with every other one zero (as after a ReLU), errors in
// [-1/64, 1/64) likewise.
func BenchmarkProductsTraining(b *testing.B) {
	s, err := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: DefaultADC}, 128, 128)
	if err != nil {
		b.Fatal(err)
	}
	src := rng.New(7)
	s.Program(src.Int16s(128*128, -1<<11, 1<<11))
	x, d := src.Int16s(128, 0, 1<<12), src.Int16s(128, -1<<6, 1<<6)
	for i := 0; i < 128; i += 2 {
		x[i], d[i] = 0, 0
	}
	y, yt := make([]int16, 128), make([]int16, 128)
	for b.Loop() {
		s.MVM(x, y, nil)
		s.MTVM(d, yt, nil)
	}
}

// BenchmarkTreeSum7x128 adds the outputs of seven row tiles, as the first
// layer of the mlp preset does for each of its column tiles.
func BenchmarkTreeSum7x128(b *testing.B) {
	src := rng.New(7)
	parts, flags := make([][]int16, 7), make([][]bool, 7)
	for t := range parts {
		parts[t], flags[t] = src.Int16s(128, -1<<13, 1<<13), make([]bool, 128)
	}
	out, outFlags := make([]int16, 128), make([]bool, 128)
	for b.Loop() {
		TreeSum(parts, flags, out, outFlags)
	}
}
