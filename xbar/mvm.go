package xbar

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"

	"github.com/panther-xbar/panther/fixed"
)

// MVM computes y_c = sum_r M[r][c] x_r (docs/numeric-model.md): x has one Q4.12 code per
// row, y one per column. sat, if not nil, receives each output's saturation
// event flag.
func (s *Set) MVM(x, y []int16, sat []bool) error {
	return s.product(&s.reads.own, &s.counters, x, y, sat, false)
}

// MTVM computes y_r = sum_c M[r][c] d_c: the same crossbars driven through
// their columns, really transposed. d has one code per column, y one per row.
func (s *Set) MTVM(d, y []int16, sat []bool) error {
	return s.product(&s.reads.own, &s.counters, d, y, sat, true)
}

// A Reader runs MVM and MTVM on a set for one goroutine, with its own
// scratch and counters. Readers of one set may run products at the same
// time, but not while anything else uses the set (its own methods
// included); Flush then adds what a Reader counted to the set's counters.
// The products are the set's own, bit for bit.
type Reader struct {
	set      *Set
	scratch  productScratch
	counters Counters
}

// NewReader makes a Reader of the set.
func (s *Set) NewReader() *Reader { return &Reader{set: s} }

// MVM is the set's MVM.
func (r *Reader) MVM(x, y []int16, sat []bool) error {
	return r.set.product(&r.scratch, &r.counters, x, y, sat, false)
}

// MTVM is the set's MTVM.
func (r *Reader) MTVM(d, y []int16, sat []bool) error {
	return r.set.product(&r.scratch, &r.counters, d, y, sat, true)
}

// Flush adds the events counted since the last Flush to the set's
// counters.
func (r *Reader) Flush() {
	r.set.counters.add(r.counters)
	r.counters = Counters{}
}

// readState is what a set keeps for its products.
type readState struct {
	own productScratch // the set's own MVM and MTVM
	// prep guards what products make on first use: the bit-planes and the
	// narrow lines.
	prep sync.Mutex
	// nominalOPAs is counters.OPAs when the cells were last written in
	// nominal form (Program, CRS), or -1 after ResetCounters. Only OPA
	// changes the accumulators in between, and it counts itself first, so
	// the accumulators are those of the last nominal write while the two
	// agree.
	nominalOPAs int64
	// rows16 and cols16 hold the accumulators as int16 when every one fits
	// (read sets with f = 0 after Program or CRS): row-major for MVM and
	// transposed for MTVM, so that both products add whole contiguous
	// lines at a quarter of the memory traffic. They are made on first use
	// after a nominal write and used only while no OPA has followed;
	// wide tells that some accumulator does not fit.
	rows16, cols16         []int16
	rows16Live, cols16Live bool
	wide                   bool
}

// productScratch is the scratch of one reader.
type productScratch struct {
	inPlanes [fixed.Width][]uint64
	lineAcc  []int64
	listed   []int // indices of the non-zero inputs
}

// nominalWritten records that the cells were just written in nominal form
// from the accumulators.
func (rs *readState) nominalWritten(opas int64) {
	rs.nominalOPAs = opas
	rs.rows16Live, rs.cols16Live, rs.wide = false, false, false
}

// product runs MVM (transposed false) or MTVM, with scratch sc, counting
// into c. With an ideal ADC and no read noise the shift-and-add sum equals
// sum Q x exactly, so it is computed from the accumulators; otherwise every
// slice, input bit and line goes through the ADC, unless the ADC provably
// cannot clip.
func (s *Set) product(sc *productScratch, c *Counters, in, out []int16, sat []bool, transposed bool) error {
	nIn, nOut, name, count := s.rows, s.cols, "mvm", &c.MVMs
	if transposed {
		nIn, nOut, name, count = s.cols, s.rows, "mtvm", &c.MTVMs
	}
	if len(in) != nIn || len(out) != nOut || sat != nil && len(sat) != nOut {
		return fmt.Errorf("%s: the %dx%d cell matrix takes %d inputs and gives %d outputs; got %d inputs, %d outputs, %d flags",
			name, s.rows, s.cols, nIn, nOut, len(in), len(out), len(sat))
	}
	*count++
	acc := resize(sc.lineAcc, nOut)
	sc.lineAcc = acc
	c.InputBitSteps += int64(len(s.slices) * fixed.Width)
	c.ADCConversions += int64(len(s.slices) * fixed.Width * nOut)
	listed := sc.listed[:0]
	for i, v := range in {
		if v != 0 {
			listed = append(listed, i)
		}
	}
	sc.listed = listed

	switch {
	case s.cfg.ADC.Ideal && s.cfg.Device.ReadNoise == 0,
		s.cannotClip(len(listed)): // no step has more active lines than non-zero inputs
		s.exactProduct(in, listed, acc, transposed)
	default:
		words := s.rowWords
		if transposed {
			words = s.colWords
		}
		steps := splitInput(sc, in, words)
		if s.cannotClip(slices.Max(steps.active[:])) {
			s.exactProduct(in, listed, acc, transposed)
			break
		}
		s.analogProduct(steps, c, acc, words, transposed)
		var sumIn int64
		for _, v := range in {
			sumIn += int64(v)
		}
		bias := s.cfg.Plan.Bias()
		for o := range acc {
			acc[o] -= bias * sumIn
		}
	}

	shift := uint(12 + s.cfg.Plan.FractionBits)
	for o, a := range acc {
		var ev bool
		out[o], ev = fixed.Sat16(fixed.RoundShift(a, shift))
		if ev {
			c.OutputSat++
		}
		if sat != nil {
			sat[o] = ev
		}
	}
	return nil
}

// inputSteps holds the input's bit-planes, one per step, and facts about them.
type inputSteps struct {
	planes  *[fixed.Width][]uint64
	active  [fixed.Width]int  // input lines whose bit p is set
	repeats [fixed.Width]bool // step p's bits equal step p-1's
}

// splitInput splits the input into its 16 bit-planes over the input lines,
// in sc's scratch.
func splitInput(sc *productScratch, in []int16, words int) inputSteps {
	st := inputSteps{planes: &sc.inPlanes}
	for p := range st.planes {
		st.planes[p] = resize(st.planes[p], words)
	}
	for i, x := range in {
		for u := uint16(x); u != 0; u &= u - 1 {
			st.planes[bits.TrailingZeros16(u)][i>>6] |= 1 << (i & 63)
		}
	}
	for p := range st.active {
		for _, w := range st.planes[p] {
			st.active[p] += bits.OnesCount64(w)
		}
		st.repeats[p] = p > 0 && st.active[p] > 0 && slices.Equal(st.planes[p], st.planes[p-1])
	}
	return st
}

// cannotClip reports whether a finite ADC (step 1, no read noise) must pass
// every partial sum unchanged when no step drives more than a lines: a step
// with a lines has P within [a min v, a max v]. The shift-and-add sum is
// then exactly sum Q x.
func (s *Set) cannotClip(a int) bool {
	if s.cfg.Device.ReadNoise > 0 || s.cfg.ADC.Shift != 0 {
		return false
	}
	lo, hi := s.adcRange()
	return int64(a)*s.minCell >= lo && int64(a)*s.maxCell <= hi
}

// exactProduct sets acc to sum Q x over the listed (non-zero) inputs; zero
// inputs, common after ReLU and in masked errors, cost nothing.
func (s *Set) exactProduct(in []int16, listed []int, acc []int64, transposed bool) {
	if lines := s.lines16(transposed); lines != nil {
		addLines(acc, lines, in, listed)
		return
	}
	if !transposed {
		addLines(acc, s.acc, in, listed)
		return
	}
	cols := s.cols
	for r := range acc {
		row := s.acc[r*cols : (r+1)*cols]
		var sum int64
		for _, c := range listed {
			sum += row[c] * int64(in[c])
		}
		acc[r] = sum
	}
}

// addLines adds in[i] times line i to acc for every listed input i, where
// line i is lines[i*len(acc) : (i+1)*len(acc)]. Four lines per pass load
// and store acc a quarter as often; integer sums do not depend on the order.
func addLines[T int16 | int64](acc []int64, lines []T, in []int16, listed []int) {
	n := len(acc)
	k := 0
	for ; k+4 <= len(listed); k += 4 {
		i0, i1, i2, i3 := listed[k], listed[k+1], listed[k+2], listed[k+3]
		x0, x1, x2, x3 := int64(in[i0]), int64(in[i1]), int64(in[i2]), int64(in[i3])
		l0, l1, l2, l3 := lines[i0*n:][:n], lines[i1*n:][:n], lines[i2*n:][:n], lines[i3*n:][:n]
		for c := range acc {
			acc[c] += int64(l0[c])*x0 + int64(l1[c])*x1 + int64(l2[c])*x2 + int64(l3[c])*x3
		}
	}
	for ; k < len(listed); k++ {
		i := listed[k]
		x, l := int64(in[i]), lines[i*n:][:n]
		for c := range acc {
			acc[c] += int64(l[c]) * x
		}
	}
}

// lines16 returns the accumulators as int16 lines for MVM (row-major) or
// MTVM (transposed), making them on first use, or nil when an OPA changed
// the accumulators since the last nominal write (an inplace set between
// CRSs: the lines would be stale at once) or some accumulator does not fit.
func (s *Set) lines16(transposed bool) []int16 {
	rs := &s.reads
	if s.counters.OPAs != rs.nominalOPAs {
		return nil
	}
	rs.prep.Lock()
	defer rs.prep.Unlock()
	if rs.wide {
		return nil
	}
	if transposed && rs.cols16Live {
		return rs.cols16
	}
	if !transposed && rs.rows16Live {
		return rs.rows16
	}
	for _, q := range s.acc {
		if q != int64(int16(q)) {
			rs.wide = true
			return nil
		}
	}
	if !transposed {
		rs.rows16 = resize(rs.rows16, len(s.acc))
		for i, q := range s.acc {
			rs.rows16[i] = int16(q)
		}
		rs.rows16Live = true
		return rs.rows16
	}
	rs.cols16 = resize(rs.cols16, len(s.acc))
	for r := range s.rows {
		for c, q := range s.acc[r*s.cols : (r+1)*s.cols] {
			rs.cols16[c*s.rows+r] = int16(q)
		}
	}
	rs.cols16Live = true
	return rs.cols16
}

// analogProduct forms acc = sum_(i,p) s_p ADC(P[i][p]) 2^(o_i+p) for every
// output line, before the offset is removed.
func (s *Set) analogProduct(st inputSteps, c *Counters, acc []int64, words int, transposed bool) {
	s.reads.prep.Lock()
	s.ensurePlanes(transposed)
	s.reads.prep.Unlock()
	active, repeats := st.active, st.repeats

	lo, hi := s.adcRange()
	adc := s.cfg.ADC
	shift := uint(adc.Shift)
	for i := range s.slices {
		sl := &s.slices[i]
		planes := sl.rowPlanes
		if transposed {
			planes = sl.colPlanes
		}
		cb := sl.CellBits
		lineWords := cb * words
		topWeightNegative := sl.Signed()
		noisy := sl.dev != nil && s.cfg.Device.ReadNoise > 0
		for o := range acc {
			cells := planes[o*lineWords : (o+1)*lineWords]
			var sum, converted int64
			clipped := false
			for p := 0; p < fixed.Width; p++ {
				if active[p] == 0 {
					continue // every partial sum is 0, which no ADC changes
				}
				// A step whose input bits equal the previous step's (the sign
				// extension of small inputs) converts the same partial sum.
				if !repeats[p] || noisy {
					partial := linePartial(cells, st.planes[p], cb, words, topWeightNegative)
					if noisy {
						partial = int64(math.Round(float64(partial) + sl.dev.ReadNoise(active[p])))
					}
					converted, clipped = partial, false
					if !adc.Ideal {
						q := fixed.RoundShift(partial, shift)
						if q < lo || q > hi {
							q = min(max(q, lo), hi)
							clipped = true
						}
						converted = q << shift
					}
				}
				if clipped {
					c.ADCClips++
				}
				if p == fixed.Width-1 {
					sum -= converted << p
				} else {
					sum += converted << p
				}
			}
			acc[o] += sum << uint(sl.Offset)
		}
	}
}

// adcRange is the finite ADC's code range for this set (docs/numeric-model.md).
func (s *Set) adcRange() (lo, hi int64) {
	b := s.cfg.ADC.Bits
	if s.cfg.Plan.HasHeadroom() {
		return -(1 << (b - 1)), 1<<(b-1) - 1
	}
	return 0, 1<<b - 1
}

// linePartial is P = sum over the input lines of v * bit: for each cell bit
// k, the popcount of the cells' plane k ANDed with the input bit-plane,
// weighted 2^k, or -2^k for the top bit of signed (two's-complement) cells.
func linePartial(cells, in []uint64, cellBits, words int, signed bool) int64 {
	var partial int64
	top := cellBits - 1
	if words == 2 { // up to 128 lines, PANTHER's default: unrolled
		in0, in1 := in[0], in[1]
		cells = cells[:2*cellBits]
		for k := 0; k < top; k++ {
			partial += int64(bits.OnesCount64(cells[2*k]&in0)+bits.OnesCount64(cells[2*k+1]&in1)) << k
		}
		n := int64(bits.OnesCount64(cells[2*top]&in0)+bits.OnesCount64(cells[2*top+1]&in1)) << top
		if signed {
			return partial - n
		}
		return partial + n
	}
	for k := 0; k <= top; k++ {
		n := 0
		for w, m := range cells[k*words : (k+1)*words] {
			n += bits.OnesCount64(m & in[w])
		}
		if k == top && signed {
			partial -= int64(n) << k
		} else {
			partial += int64(n) << k
		}
	}
	return partial
}
