package xbar

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
	bias := s.cfg.Plan.Bias()
	var saturated int64
	for idx, q := range s.acc {
		if c := min(max(q, -bias), bias-1); c != q {
			saturated++
			s.acc[idx] = c
		}
	}
	s.counters.QSat += saturated
	s.writeNominal()
}
