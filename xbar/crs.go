package xbar

import "github.com/panther-xbar/panther/fixed"

// CRS resolves carries (docs/numeric-model.md): it reads every cell exactly, saturates
// each accumulator Q to [-2^(15+f), 2^(15+f)-1] and rewrites the set in
// nominal form, keeping the fraction bits (one pass clamps; the cells are
// written from the accumulators when next used). It counts a serial read
// and a serial write of every slice array.
func (s *Set) CRS() {
	s.counters.CRSs++
	s.counters.SerialReads += int64(len(s.slices))
	s.counters.SerialWrites += int64(len(s.slices))
	s.resolve()
}

// resolve saturates every accumulator to the set's range, counting QSat, and
// rewrites the cells in nominal form.
func (s *Set) resolve() {
	s.counters.QSat += int64(s.clampRows(0, s.rows))
	s.writeNominal()
}

// clampRows saturates the accumulators of rows r0..r1-1 to the set's range
// and returns how many it changed.
func (s *Set) clampRows(r0, r1 int) (saturated int) {
	bias := s.cfg.Plan.Bias()
	acc := s.acc[r0*s.cols : r1*s.cols]
	for idx, q := range acc {
		if c := min(max(q, -bias), bias-1); c != q {
			saturated++
			acc[idx] = c
		}
	}
	return saturated
}

// crsRows is CRS when only the rows marked in changed can differ from the
// set's last CRS or programming: the other rows' accumulators are in range
// already. It also writes the marked rows' weights q = sat16(round_half_away(Q/2^f))
// into dst (row-major, the set's shape) and each one's count of saturated
// weights into rowSat.
func (s *Set) crsRows(changed []bool, dst []int16, rowSat []int) {
	s.counters.CRSs++
	s.counters.SerialReads += int64(len(s.slices))
	s.counters.SerialWrites += int64(len(s.slices))
	for r, ch := range changed {
		if ch {
			s.counters.QSat += int64(s.clampRows(r, r+1))
		}
	}
	// The weights are read after the nominal write: stuck cells can make
	// the resolved accumulators differ from the clamped ones.
	s.writeNominal()
	f := uint(s.cfg.Plan.FractionBits)
	for r, ch := range changed {
		if !ch {
			continue
		}
		rowSat[r] = 0
		for c, q := range s.acc[r*s.cols : (r+1)*s.cols] {
			var sat bool
			if dst[r*s.cols+c], sat = fixed.Sat16(fixed.RoundShift(q, f)); sat {
				rowSat[r]++
			}
		}
	}
}
