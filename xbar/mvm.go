package xbar

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/panther-xbar/panther/fixed"
)

// MVM computes y_c = sum_r M[r][c] x_r (docs/numeric-model.md): x has one Q4.12 code per
// row, y one per column. sat, if not nil, receives each output's saturation
// event flag.
func (s *Set) MVM(x, y []int16, sat []bool) error {
	if len(x) != s.rows || len(y) != s.cols || sat != nil && len(sat) != s.cols {
		return fmt.Errorf("mvm: the %dx%d cell matrix takes %d inputs and gives %d outputs; got %d inputs, %d outputs, %d flags",
			s.rows, s.cols, s.rows, s.cols, len(x), len(y), len(sat))
	}
	s.counters.MVMs++
	s.product(x, y, sat, false)
	return nil
}

// MTVM computes y_r = sum_c M[r][c] d_c: the same crossbars driven through
// their columns, really transposed. d has one code per column, y one per row.
func (s *Set) MTVM(d, y []int16, sat []bool) error {
	if len(d) != s.cols || len(y) != s.rows || sat != nil && len(sat) != s.rows {
		return fmt.Errorf("mtvm: the %dx%d cell matrix takes %d inputs and gives %d outputs; got %d inputs, %d outputs, %d flags",
			s.rows, s.cols, s.cols, s.rows, len(d), len(y), len(sat))
	}
	s.counters.MTVMs++
	s.product(d, y, sat, true)
	return nil
}

// product runs MVM (transposed false) or MTVM. With an ideal ADC and no read
// noise the shift-and-add sum equals sum Q x exactly, so it is computed from
// the accumulators; otherwise every slice, input bit and line goes through
// the ADC.
func (s *Set) product(in, out []int16, sat []bool, transposed bool) {
	nOut := len(out)
	acc := resize(s.scratch.lineAcc, nOut)
	s.scratch.lineAcc = acc
	s.counters.InputBitSteps += int64(len(s.slices) * fixed.Width)
	s.counters.ADCConversions += int64(len(s.slices) * fixed.Width * nOut)

	analog := false // line sums read from the cells through the ADC
	if s.cfg.ADC.Ideal && s.cfg.Device.ReadNoise == 0 {
		s.exactProduct(in, acc, transposed)
	} else {
		words := s.rowWords
		if transposed {
			words = s.colWords
		}
		steps := s.inputSteps(in, words)
		if s.cannotClip(steps) {
			s.exactProduct(in, acc, transposed)
		} else {
			analog = true
			s.analogProduct(steps, acc, words, transposed)
			var sumIn int64
			for _, v := range in {
				sumIn += int64(v)
			}
			bias := s.cfg.Plan.Bias()
			for o := range acc {
				acc[o] -= bias * sumIn
			}
		}
	}
	s.recordProduct(in, acc, transposed, analog)

	shift := uint(12 + s.cfg.Plan.FractionBits)
	for o, a := range acc {
		var ev bool
		out[o], ev = fixed.Sat16(fixed.RoundShift(a, shift))
		if ev {
			s.counters.OutputSat++
		}
		if sat != nil {
			sat[o] = ev
		}
	}
}

// inputSteps holds the input's bit-planes, one per step, and facts about them.
type inputSteps struct {
	planes  *[fixed.Width][]uint64
	active  [fixed.Width]int  // input lines whose bit p is set
	repeats [fixed.Width]bool // step p's bits equal step p-1's
}

// inputSteps splits the input into its 16 bit-planes over the input lines.
func (s *Set) inputSteps(in []int16, words int) inputSteps {
	st := inputSteps{planes: &s.scratch.inPlanes}
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
// every partial sum unchanged: a step with a active lines has P within
// [a min v, a max v]. The shift-and-add sum is then exactly sum Q x.
func (s *Set) cannotClip(st inputSteps) bool {
	if s.cfg.Device.ReadNoise > 0 || s.cfg.ADC.Shift != 0 {
		return false
	}
	a := int64(slices.Max(st.active[:]))
	lo, hi := s.adcRange()
	return a*s.minCell >= lo && a*s.maxCell <= hi
}

// exactProduct adds sum Q x into acc; zero inputs (common after ReLU) are
// skipped.
func (s *Set) exactProduct(in []int16, acc []int64, transposed bool) {
	cols := s.cols
	if !transposed {
		for r, x := range in {
			if x == 0 {
				continue
			}
			xv := int64(x)
			row := s.acc[r*cols : (r+1)*cols]
			for c, q := range row {
				acc[c] += q * xv
			}
		}
		return
	}
	// Errors are often sparse (masked, or zero below a ReLU): list the
	// non-zero inputs once, then take each row's dot product over them.
	nonzero := s.scratch.nonzero[:0]
	for c, v := range in {
		if v != 0 {
			nonzero = append(nonzero, c)
		}
	}
	s.scratch.nonzero = nonzero
	if len(nonzero) == len(in) {
		for r := range acc {
			row := s.acc[r*cols : (r+1)*cols]
			var sum int64
			for c, q := range row {
				sum += q * int64(in[c])
			}
			acc[r] = sum
		}
		return
	}
	for r := range acc {
		row := s.acc[r*cols : (r+1)*cols]
		var sum int64
		for _, c := range nonzero {
			sum += row[c] * int64(in[c])
		}
		acc[r] = sum
	}
}

// analogProduct forms acc = sum_(i,p) s_p ADC(P[i][p]) 2^(o_i+p) for every
// output line, before the offset is removed.
func (s *Set) analogProduct(st inputSteps, acc []int64, words int, transposed bool) {
	s.ensurePlanes(transposed)
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
					s.counters.ADCClips++
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
