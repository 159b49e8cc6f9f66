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
	// paired lanes.
	prep sync.Mutex
	// nominalOPAs is counters.OPAs when the cells were last written in
	// nominal form (Program, CRS), or -1 after ResetCounters or Restore. Only OPA
	// changes the accumulators in between, and it counts itself first, so
	// the accumulators are those of the last nominal write while the two
	// agree.
	nominalOPAs int64
	// rowPairs and colPairs hold the accumulators in paired lanes (see
	// pairBias) when every one fits 16 bits (read sets with f = 0 after
	// Program or CRS): the lines of MVM (rows) and of MTVM (columns). They
	// are made on first use after a nominal write and used only while no
	// OPA has followed; wide tells that some accumulator does not fit.
	rowPairs, colPairs         []uint64
	rowPairsLive, colPairsLive bool
	wide                       bool
	// unpaired counts the exact products of each direction (MVM, MTVM) run
	// from the accumulators since the last nominal write: the paired lanes
	// are made only for the product after pairsAfter of them.
	unpaired [2]int
}

// pairsAfter is how many exact products of one direction a set runs from
// its accumulators before it makes that direction's paired lanes. Making
// them costs a few products' time and keeps 4 bytes a cell; a layer that
// runs one product per direction between two CRSs (a dense layer at batch
// 1, the first CRS of thousands of units at once) would pay both for
// nothing, and a layer that runs many pays only the first few products'
// slower path.
const pairsAfter = 2

// productScratch is the scratch of one reader.
type productScratch struct {
	inPlanes [fixed.Width][]uint64
	lineAcc  []int64
	listed   []int // indices of the non-zero inputs
	pos, neg []int // listed inputs by sign (addPairs)
}

// forget drops what the set keeps for its products until the next nominal
// write: the accumulators changed without one (Restore), or the OPA count
// no longer tells (ResetCounters).
func (rs *readState) forget() {
	rs.nominalOPAs = -1
	rs.rowPairsLive, rs.colPairsLive = false, false
	rs.unpaired = [2]int{}
}

// nominalWritten records that the cells were just written in nominal form
// from the accumulators.
func (rs *readState) nominalWritten(opas int64) {
	rs.nominalOPAs = opas
	rs.rowPairsLive, rs.colPairsLive, rs.wide = false, false, false
	rs.unpaired = [2]int{}
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
	acc := resize(sc.lineAcc, nOut+1)[:nOut] // room for a pad lane
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

	analog := false // line sums read from the cells through the ADC
	switch {
	case s.cfg.ADC.Ideal && s.cfg.Device.ReadNoise == 0,
		s.cannotClip(len(listed)): // no step has more active lines than non-zero inputs
		s.exactProduct(sc, in, listed, acc, transposed)
	default:
		words := s.rowWords
		if transposed {
			words = s.colWords
		}
		steps := splitInput(sc, in, words)
		if s.cannotClip(slices.Max(steps.active[:])) {
			s.exactProduct(sc, in, listed, acc, transposed)
			break
		}
		analog = true
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
	s.recordProduct(c, in, acc, transposed, analog)

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
func (s *Set) exactProduct(sc *productScratch, in []int16, listed []int, acc []int64, transposed bool) {
	if pairs := s.linePairs(transposed); pairs != nil {
		addPairs(sc, acc, pairs, in, listed)
		return
	}
	cols := s.cols
	if !transposed {
		for _, r := range listed {
			x, row := int64(in[r]), s.acc[r*cols:(r+1)*cols]
			for c, q := range row {
				acc[c] += q * x
			}
		}
		return
	}
	for r := range acc {
		row := s.acc[r*cols : (r+1)*cols]
		var sum int64
		for _, c := range listed {
			sum += row[c] * int64(in[c])
		}
		acc[r] = sum
	}
}

// Paired lanes hold a line of 16-bit values two to a word: value 2k plus
// pairBias in the low 32 bits of word k, value 2k+1 plus pairBias in the
// high 32 bits (0 past the end of an odd line). One 64-bit multiply by an
// input magnitude m <= 2^14 then gives both products, each below 2^16 m
// <= 2^30, so four of them add in a lane without reaching the other: four
// lines cost four multiplies per pair of outputs.
const (
	pairBias   = 1 << 15
	pairMaxMag = 1 << 14
)

// addPairs sets acc to the sum of in[i] times line i of pairs (paired
// lanes) over the listed inputs i. Inputs are taken by sign, four at a time,
// and each lane's sum of magnitude times biased value added or subtracted;
// the bias times the inputs' sum comes off at the end. An input of larger
// magnitude goes alone (one product fits a lane).
func addPairs(sc *productScratch, acc []int64, pairs []uint64, in []int16, listed []int) {
	words := (len(acc) + 1) / 2
	lanes := acc[:2*words] // the pad lane of an odd line is scratch
	clear(lanes)
	pos, neg := sc.pos[:0], sc.neg[:0]
	var sumIn int64
	for k, i := range listed {
		x := in[i]
		sumIn += int64(x)
		switch {
		case x > 0 && x <= pairMaxMag:
			pos = append(pos, i)
		case x < 0 && x >= -pairMaxMag:
			neg = append(neg, i)
		default:
			addPairLines(lanes, pairs, in, listed[k:k+1])
		}
	}
	sc.pos, sc.neg = pos, neg
	addPairLines(lanes, pairs, in, pos)
	addPairLines(lanes, pairs, in, neg)
	for o := range acc {
		acc[o] -= pairBias * sumIn
	}
}

// addPairLines adds in[i] times line i of pairs to lanes for the lines
// given, which share a sign and have magnitudes of at most pairMaxMag when
// there is more than one.
func addPairLines(lanes []int64, pairs []uint64, in []int16, lines []int) {
	if len(lines) == 0 {
		return
	}
	words := len(lanes) / 2
	neg := int64(in[lines[0]] >> 15) // -1 for negative inputs: the sums are subtracted
	mag := func(i int) uint64 { return uint64(max(int64(in[i]), -int64(in[i]))) }
	k := 0
	for ; k+4 <= len(lines); k += 4 {
		m0, m1, m2, m3 := mag(lines[k]), mag(lines[k+1]), mag(lines[k+2]), mag(lines[k+3])
		p0, p1 := pairs[lines[k]*words:][:words], pairs[lines[k+1]*words:][:words]
		p2, p3 := pairs[lines[k+2]*words:][:words], pairs[lines[k+3]*words:][:words]
		for w := range p0 {
			sum := p0[w]*m0 + p1[w]*m1 + p2[w]*m2 + p3[w]*m3
			lanes[2*w] += (int64(uint32(sum)) ^ neg) - neg
			lanes[2*w+1] += (int64(sum>>32) ^ neg) - neg
		}
	}
	for ; k < len(lines); k++ {
		m, p := mag(lines[k]), pairs[lines[k]*words:][:words]
		for w, v := range p {
			sum := v * m
			lanes[2*w] += (int64(uint32(sum)) ^ neg) - neg
			lanes[2*w+1] += (int64(sum>>32) ^ neg) - neg
		}
	}
}

// linePairs returns the lines of MVM (rows, transposed false) or MTVM
// (columns) in paired lanes, making them on first use, or nil when an OPA
// changed the accumulators since the last nominal write (an inplace set
// between CRSs: the lines would be stale at once) or some accumulator does
// not fit 16 bits.
func (s *Set) linePairs(transposed bool) []uint64 {
	rs := &s.reads
	if s.counters.OPAs != rs.nominalOPAs {
		return nil
	}
	rs.prep.Lock()
	defer rs.prep.Unlock()
	if rs.wide {
		return nil
	}
	if transposed && rs.colPairsLive {
		return rs.colPairs
	}
	if !transposed && rs.rowPairsLive {
		return rs.rowPairs
	}
	if n := &rs.unpaired[b2i(transposed)]; *n < pairsAfter {
		*n++
		return nil
	}
	for _, q := range s.acc {
		if q != int64(int16(q)) {
			rs.wide = true
			return nil
		}
	}
	pairs := &rs.rowPairs
	if transposed {
		pairs = &rs.colPairs
	}
	// Line i's value j is at acc[i*stride + j*step]; values j and j+1 go
	// into one word. The loops run along the accumulators' rows.
	lines, length, stride, step := s.rows, s.cols, s.cols, 1
	if transposed {
		lines, length, stride, step = s.cols, s.rows, 1, s.cols
	}
	words := (length + 1) / 2
	*pairs = resize(*pairs, lines*words)
	put := func(i, j int) {
		lo := s.acc[i*stride+j*step]
		hi := int64(-pairBias) // the pad of an odd line holds 0
		if j+1 < length {
			hi = s.acc[i*stride+(j+1)*step]
		}
		(*pairs)[i*words+j/2] = uint64(lo+pairBias) | uint64(hi+pairBias)<<32
	}
	if transposed {
		for j := 0; j < length; j += 2 {
			for i := range lines {
				put(i, j)
			}
		}
	} else {
		for i := range lines {
			for j := 0; j < length; j += 2 {
				put(i, j)
			}
		}
	}
	if transposed {
		rs.colPairsLive = true
	} else {
		rs.rowPairsLive = true
	}
	return *pairs
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
		var planes []uint64 // only this orientation's: another reader may be making the other
		if transposed {
			planes = sl.colPlanes
		} else {
			planes = sl.rowPlanes
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
