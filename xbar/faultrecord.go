package xbar

import (
	"math/bits"
	"slices"

	"github.com/panther-xbar/panther/fixed"
)

// The fault record (docs/devices.md): a small digital table beside each set
// with fault-aware mapping, filled from the test read. It holds up to
// FaultRecord cells, the faulty cells whose stuck slices can harm them most
// (the same harm that ranks lines for the spares), each with its wanted
// accumulator W, the value the cell would hold without stuck cells. The set
// computes with W:
//
//   - programming and every nominal write (CRS) set W to the code written,
//     and the cells get the nearest allowed code as without a record;
//   - OPA adds the cell's update rounded once, sign(eta X D) |g|, to W,
//     saturated to [-2^(15+f), 2^(15+f)-1], whatever the cells do;
//   - CRS, and the weights a set hands on, read W;
//   - MVM and MTVM convert the stored cells as always and then add, before
//     the final rounding, the exact x (W - S) of every recorded cell, S the
//     accumulator of its stored cells.
//
// Inside the set the accumulator of a recorded cell holds W, so that exact
// products, CRS and Weights read it unchanged; only the analog product,
// which reads the cells, needs the correction. The record keeps S beside W
// as the hardware's entry does, brought up to date where the cells are
// written (nominal writes and OPA), so a product reads both and recomputes
// nothing.

// RecordEntryBits is the size of one record entry of a set with plan p on
// crossbars of the given size: the cell's position, and what the set's
// operations need. A set that OPA updates keeps W (16+f bits); one that
// products read keeps the stored accumulator S beside it, or, when nothing
// but programming changes it (a read set), only the correction W - S
// (17+f bits).
func RecordEntryBits(size Size, p Plan, products, updates bool) int {
	n := bits.Len(uint(size.Rows*size.Cols - 1))
	w := fixed.Width + p.FractionBits
	switch {
	case products && updates:
		n += 2 * w
	case products:
		n += w + 1
	case updates:
		n += w
	}
	return n
}

// faultRecord is a set's record: its cells (ascending), their wanted
// accumulators W and the accumulators S of their stored cells.
type faultRecord struct {
	idx    []int
	want   []int64
	stored []int64
}

// newFaultRecord fills the record with the n most harmed faulty cells
// (ties to the lower index), each wanting the unprogrammed value.
func (s *Set) newFaultRecord(n int) faultRecord {
	if n == 0 || len(s.faults) == 0 {
		return faultRecord{}
	}
	harm := make([]float64, len(s.faults))
	for k, f := range s.faults {
		for i := range s.slices {
			if _, stuck := s.slices[i].dev.Stuck(f.idx); stuck {
				harm[k] += s.slices[i].stuckHarm()
			}
		}
	}
	order := identity(len(s.faults))
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case harm[a] > harm[b]:
			return -1
		case harm[a] < harm[b]:
			return 1
		}
		return 0
	})
	order = order[:min(n, len(order))]
	slices.Sort(order)
	rec := faultRecord{idx: make([]int, len(order)), want: make([]int64, len(order)), stored: make([]int64, len(order))}
	for k, o := range order {
		rec.idx[k] = s.faults[o].idx
		rec.want[k] = -s.cfg.Plan.Bias() // every slice at 0
	}
	return rec
}

// stuckHarm is the largest error a stuck cell of the slice can cause: the
// span of the slice's values times 2^offset.
func (sl *sliceCells) stuckHarm() float64 {
	return float64(int64(sl.hi-sl.lo+1) << uint(sl.Offset))
}

// capture takes each recorded cell's wanted accumulator from the biased
// codes of a nominal write, before the codes are adjusted to the stuck cells.
func (r *faultRecord) capture(codes []uint32, bias int64) {
	for k, idx := range r.idx {
		r.want[k] = int64(codes[idx]) - bias
	}
}

// apply takes each recorded cell's S from acc, which holds what the cells
// store, and puts its wanted accumulator there instead.
func (r *faultRecord) apply(acc []int64) {
	for k, idx := range r.idx {
		r.stored[k] = acc[idx]
		acc[idx] = r.want[k]
	}
}

// recordOPA adds each recorded cell's update, rounded once with the cell's
// draw, to its wanted accumulator, saturated to the set's range, and puts it
// back into the accumulators that the OPA moved with the cells, from W by
// what the cells moved S. A resolved OPA needs nothing: it adds the same
// update to the accumulator and its nominal write captures the result.
func (s *Set) recordOPA(x, d []int16, sc scaler, draws []uint32) {
	rec := &s.record
	if len(rec.idx) == 0 {
		return
	}
	s.counters.RecordOps += int64(len(rec.idx))
	if s.cfg.OPAMode == Resolved {
		return
	}
	bias := s.cfg.Plan.Bias()
	for k, idx := range rec.idx {
		rec.stored[k] += s.acc[idx] - rec.want[k]
		xv, dv := x[idx/s.cols], d[idx%s.cols]
		if xv != 0 && dv != 0 {
			var draw uint32
			if draws != nil {
				draw = draws[idx]
			}
			g, _ := sc.magnitude(abs16(xv)*abs16(dv), draw)
			if (xv < 0) != (dv < 0) != sc.negative {
				rec.want[k] = max(rec.want[k]-int64(g), -bias)
			} else {
				rec.want[k] = min(rec.want[k]+int64(g), bias-1)
			}
		}
		s.acc[idx] = rec.want[k]
	}
}

// recordProduct adds the record's correction x (W - S) to a product's line
// sums when they came from the cells (analog), and counts the record's
// multiply-adds, which the hardware does on every product.
func (s *Set) recordProduct(c *Counters, in []int16, acc []int64, transposed, analog bool) {
	rec := &s.record
	if len(rec.idx) == 0 {
		return
	}
	c.RecordOps += int64(len(rec.idx))
	if !analog {
		return // the accumulators already hold W
	}
	for k, idx := range rec.idx {
		r, c := idx/s.cols, idx%s.cols
		line, out := r, c
		if transposed {
			line, out = c, r
		}
		acc[out] += int64(in[line]) * (rec.want[k] - rec.stored[k])
	}
}
