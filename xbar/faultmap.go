package xbar

import (
	"math/bits"
	"slices"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/rng"
)

// Fault-aware mapping (docs/devices.md). Each slice array of a set has
// spare rows and columns beyond the matrix; the cells of the whole physical
// array, spares included, are drawn at creation. A test read finds the
// stuck cells; the mapper then moves the logical rows, and after them the
// logical columns, that stuck cells hurt most onto the spare lines, the
// same lines in every slice of the set (they share the input and output
// wiring). Beyond the spares, every write in nominal form (programming,
// CRS) stores the code nearest the wanted one among those the stuck cells
// of that weight allow, instead of the wanted code with the stuck digits
// forced in; then, most significant first, the free cells of that weight
// take up what is still missing as far as their range allows (this is
// what lets cells with headroom make up for a stuck cell beyond the
// nominal range).

// cellFault is one matrix cell with at least one stuck slice: the free
// nominal bits of its code and the part of the code the stuck cells fix.
type cellFault struct {
	idx   int
	free  uint32 // nominal bits of the code held by free cells
	fixed int64  // sum over stuck slices of v << offset
}

// newMappedCells draws every slice's cells on the physical array of
// (rows+spareRows) x (cols+spareCols) cells, chooses the line maps from a
// test read (counted as a serial read of every slice array) and returns
// each slice's cells in matrix order.
func (s *Set) newMappedCells() []*device.Cells {
	cfg := s.cfg.Device
	pr, pc := s.rows+cfg.SpareRows, s.cols+cfg.SpareCols
	phys := make([]*device.Cells, len(s.slices))
	for i := range s.slices {
		phys[i] = device.NewCells(cfg, 1<<s.slices[i].CellBits, pr*pc, rng.Derive(s.cfg.Seed, "device", i))
	}
	s.counters.SerialReads += int64(len(s.slices))
	// harm[r*pc+c] weighs the stuck cells at physical (r, c): the largest
	// error each can cause, the span of its slice's values times 2^offset.
	harm := make([]float64, pr*pc)
	for i, d := range phys {
		w := s.slices[i].stuckHarm()
		for idx := range harm {
			if _, stuck := d.Stuck(idx); stuck {
				harm[idx] += w
			}
		}
	}
	rowMap, colMap := identity(s.rows), identity(s.cols)
	remapLines(rowMap, s.rows, cfg.SpareRows, func(phys int) float64 {
		var h float64
		for _, c := range colMap {
			h += harm[phys*pc+c]
		}
		return h
	})
	remapLines(colMap, s.cols, cfg.SpareCols, func(phys int) float64 {
		var h float64
		for _, r := range rowMap {
			h += harm[r*pc+phys]
		}
		return h
	})
	order := make([]int, s.rows*s.cols)
	for r, p := range rowMap {
		for c, q := range colMap {
			order[r*s.cols+c] = p*pc + q
		}
	}
	for _, d := range phys {
		d.Remap(order)
	}
	return phys
}

func identity(n int) []int {
	m := make([]int, n)
	for i := range m {
		m[i] = i
	}
	return m
}

// remapLines moves the most harmed of n logical lines onto the spare
// physical lines n..n+spares-1, each to the least harmed spare left, while
// that lowers its harm. harm(phys) is the harm of physical line phys under
// the other orientation's current map. Ties keep the lower index.
func remapLines(lineMap []int, n, spares int, harm func(phys int) float64) {
	if spares == 0 {
		return
	}
	byHarm := identity(n)
	own := make([]float64, n)
	for l := range own {
		own[l] = harm(l)
	}
	slices.SortStableFunc(byHarm, func(a, b int) int {
		switch {
		case own[a] > own[b]:
			return -1
		case own[a] < own[b]:
			return 1
		}
		return 0
	})
	used := make([]bool, spares)
	for _, l := range byHarm {
		if own[l] == 0 {
			return
		}
		best, bestHarm := -1, own[l]
		for k := range spares {
			if h := harm(n + k); !used[k] && h < bestHarm {
				best, bestHarm = k, h
			}
		}
		if best < 0 {
			continue
		}
		used[best] = true
		lineMap[l] = n + best
	}
}

// findFaults lists the matrix cells with a stuck slice.
func (s *Set) findFaults() []cellFault {
	var all uint32
	for i := range s.slices {
		all |= uint32(s.slices[i].nominalMask) << uint(s.slices[i].Offset)
	}
	var faults []cellFault
	for idx := range s.acc {
		f := cellFault{idx: idx, free: all}
		for i := range s.slices {
			sl := &s.slices[i]
			if level, stuck := sl.dev.Stuck(idx); stuck {
				f.free &^= uint32(sl.nominalMask) << uint(sl.Offset)
				f.fixed += int64(int32(level)-sl.bias) << uint(sl.Offset)
			}
		}
		if f.free != all {
			faults = append(faults, f)
		}
	}
	return faults
}

// nearestCodes replaces each faulty cell's code by the code nearest it whose
// free part uses only the free cells' bits: what a write-and-verify that
// knows the stuck map stores. It keeps the wanted codes for takeUpResiduals,
// and the fault record's for products.
func (s *Set) nearestCodes(codes []uint32) {
	s.record.capture(codes, s.cfg.Plan.Bias())
	s.scratch.wanted = resize(s.scratch.wanted, len(s.faults))
	for k, f := range s.faults {
		s.scratch.wanted[k] = codes[f.idx]
		want := int64(codes[f.idx]) - f.fixed // what the free cells should hold
		codes[f.idx] = uint32(nearestIn(want, f.free) + f.fixed)
	}
}

// takeUpResiduals moves each faulty cell's free slices, most significant
// first, toward its wanted code U = sum v_i 2^o_i, within each slice's
// range. The caller recomputes the accumulators.
func (s *Set) takeUpResiduals() {
	for k, f := range s.faults {
		miss := int64(s.scratch.wanted[k])
		for i := range s.slices {
			miss -= int64(s.slices[i].level(f.idx)) << uint(s.slices[i].Offset)
		}
		for i := len(s.slices) - 1; i >= 0 && miss != 0; i-- {
			sl := &s.slices[i]
			if _, stuck := sl.dev.Stuck(f.idx); stuck {
				continue
			}
			v := int64(sl.level(f.idx))
			step := miss / (1 << uint(sl.Offset)) // toward zero: |miss| only shrinks
			nv := min(max(v+step, int64(sl.lo)), int64(sl.hi))
			sl.setLevel(f.idx, int32(nv))
			miss -= (nv - v) << uint(sl.Offset)
		}
	}
}

// nearestIn returns the value nearest u among those whose set bits lie in
// free (ties to the lower one).
func nearestIn(u int64, free uint32) int64 {
	lo, hi := floorIn(u, free), ceilIn(u, free)
	if hi < 0 || u-lo <= hi-u {
		return lo
	}
	return hi
}

// floorIn is the largest x <= u with x's bits in free, or 0 when u < 0.
func floorIn(u int64, free uint32) int64 {
	switch {
	case u <= 0:
		return 0
	case u >= int64(free):
		return int64(free)
	}
	var x int64
	for b := 31; b >= 0; b-- {
		bit := int64(1) << b
		if u&bit == 0 {
			continue
		}
		if int64(free)&bit == 0 {
			return x | int64(free)&(bit-1) // every free bit below the forced one
		}
		x |= bit
	}
	return x
}

// ceilIn is the smallest x >= u with x's bits in free, or -1 when there is
// none.
func ceilIn(u int64, free uint32) int64 {
	switch {
	case u <= 0:
		return 0
	case u > int64(free):
		return -1
	}
	violating := uint32(u) &^ free
	if violating == 0 {
		return u
	}
	for c := 32 - bits.LeadingZeros32(violating); c < 32; c++ {
		bit := int64(1) << c
		if int64(free)&bit != 0 && u&bit == 0 {
			return u>>(c+1)<<(c+1) | bit
		}
	}
	return -1
}
