package xbar

// CRS resolves carries (docs/numeric-model.md): it reads every cell exactly, saturates
// each accumulator Q to [-2^(15+f), 2^(15+f)-1] and rewrites the set in
// nominal form, keeping the fraction bits (one pass clamps and converts,
// writeCodes writes the slices). It counts a serial read and a
// serial write of every slice array.
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
	codes := s.codeBuffer()
	var saturated int64
	for idx, q := range s.acc {
		c := min(max(q, -bias), bias-1)
		if c != q {
			saturated++
			s.acc[idx] = c
		}
		codes[idx] = uint32(c + bias)
	}
	s.counters.QSat += saturated
	s.writeCodes(codes)
}
