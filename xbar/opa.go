package xbar

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/panther-xbar/panther/fixed"
)

// OPA adds eta x d^T to the cell matrix (docs/numeric-model.md): row r is driven by x_r,
// column c by d_c, and cell (r, c) gets g = eta X_r D_c 2^(f-12) accumulator
// units, rounded once with the set's rounding mode and spread over the slices
// without carries. Gradient descent passes eta = -lr.
func (s *Set) OPA(x, d []int16, eta float64) error {
	if len(x) != s.rows || len(d) != s.cols {
		return fmt.Errorf("opa: the %dx%d cell matrix takes %d row inputs and %d column inputs; got %d and %d",
			s.rows, s.cols, s.rows, s.cols, len(x), len(d))
	}
	if math.IsNaN(eta) || math.IsInf(eta, 0) {
		return fmt.Errorf("opa: learning-rate factor eta = %v is not a finite number", eta)
	}
	s.counters.OPAs++
	s.countPhases(x, d)
	sc := newScaler(eta, s.cfg.Plan.FractionBits, s.cfg.Rounding)
	var draws []uint32
	if s.cfg.Rounding == fixed.Stochastic {
		// One draw per cell of M per OPA, row-major, whatever the data.
		draws = resize(s.scratch.draws, len(s.acc))
		s.scratch.draws = draws
		for i := range draws {
			draws[i] = s.rounding.Uint32()
		}
	}
	switch s.cfg.OPAMode {
	case Chunked:
		s.opaChunked(x, d, sc, draws)
	case Resolved:
		s.opaResolved(x, d, sc, draws)
	default:
		s.opaBitstream(x, d, sc, draws)
	}
	s.recordOPA(x, d, sc, draws)
	return nil
}

// opaResolved adds every cell's rounded update to its accumulator, then
// resolves the set as a CRS does (without counting serial accesses: the
// design's update mechanism charges its own read and write).
func (s *Set) opaResolved(x, d []int16, sc scaler, draws []uint32) {
	cols := s.cols
	for r, xv := range x {
		if xv == 0 {
			continue
		}
		ax, negRow := abs16(xv), (xv < 0) != sc.negative
		for c, dv := range d {
			if dv == 0 {
				continue
			}
			var k uint32
			if draws != nil {
				k = draws[r*cols+c]
			}
			g, clipped := sc.magnitude(ax*abs16(dv), k)
			if clipped {
				s.counters.GClips++
			}
			if g == 0 {
				if sc.m != 0 {
					s.counters.Vanished++
				}
				continue
			}
			if negRow != (dv < 0) {
				s.acc[r*cols+c] -= int64(g)
			} else {
				s.acc[r*cols+c] += int64(g)
			}
		}
	}
	s.resolve()
}

// countPhases counts the sign phases (++, +-, -+, --) that drive a cell.
func (s *Set) countPhases(x, d []int16) {
	var xs, ds [2]bool // [0] positive present, [1] negative present
	for _, v := range x {
		xs[0] = xs[0] || v > 0
		xs[1] = xs[1] || v < 0
	}
	for _, v := range d {
		ds[0] = ds[0] || v > 0
		ds[1] = ds[1] || v < 0
	}
	for _, a := range xs {
		for _, b := range ds {
			if a && b {
				s.counters.OPAPhases++
			}
		}
	}
}

// opaChunked adds every cell's rounded update at once. It works a row at a
// time: first the row's updates, then slice by slice along the row, which is
// also the order in which device models see the writes.
func (s *Set) opaChunked(x, d []int16, sc scaler, draws []uint32) {
	cols := s.cols
	// One row's updates by column (magnitude, sign -1 for negative; zero
	// where nothing is added) and the list of columns that get one.
	columns := resize(s.scratch.rowCols, cols)
	mags := resize(s.scratch.rowMags, cols)
	signs := resize(s.scratch.rowSigns, cols)
	s.scratch.rowCols, s.scratch.rowMags, s.scratch.rowSigns = columns, mags, signs
	packed := s.idealCells() && !s.rowPlanesLive && !s.colPlanesLive
	if packed {
		s.ensurePacked()
	} else {
		s.ensureSlices()
		s.packedLive = false
	}
	maxD := maxAbs16(d)
	m, limit, zeroBelow := sc.m, sc.limit, sc.zeroBelow
	nearest, stochastic := sc.rounding == fixed.Nearest, sc.rounding == fixed.Stochastic
	for r, xv := range x {
		if xv == 0 {
			continue
		}
		ax := abs16(xv)
		// Every cell of the row rounds to zero when even the largest product
		// does; only the vanished count is left to do.
		if ax*maxD < zeroBelow {
			if m != 0 {
				for _, dv := range d {
					if dv != 0 {
						s.counters.Vanished++
					}
				}
			}
			continue
		}
		var reach uint64 // OR of the row's magnitudes: how many slices they touch
		listed := 0
		rowSign := int32(0)
		if (xv < 0) != sc.negative {
			rowSign = -1
		}
		for c, dv := range d {
			mags[c] = 0
			if dv == 0 {
				continue
			}
			P := ax * abs16(dv)
			if P < zeroBelow {
				s.counters.Vanished++ // zeroBelow > 0 only when m != 0
				continue
			}
			var k uint32
			if draws != nil {
				k = draws[r*cols+c]
			}
			var g uint64
			var clipped bool
			if sc.inline {
				// magnitude's arithmetic for 0 < shift < 128, written out so
				// that it compiles into the loop; the first case (the product
				// fits a word and the shift is below 64) is the common one.
				hi, lo := bits.Mul64(m, P)
				sh := sc.shift
				var whole, frac uint64
				sticky, over := false, false
				switch {
				case hi == 0 && sh < 64:
					whole, frac = lo>>sh, lo<<(64-sh)
				case sh < 64:
					whole, frac, over = lo>>sh|hi<<(64-sh), lo<<(64-sh), hi>>sh != 0
				default:
					whole, frac, sticky = hi>>(sh-64), hi<<(128-sh)|lo>>(sh-64), lo<<(128-sh) != 0
				}
				if nearest {
					whole += frac >> 63
				} else if stochastic {
					if u := uint64(k) << 32; u < frac || u == frac && sticky {
						whole++
					}
				}
				g, clipped = min(whole, limit), over || whole > limit
				if over {
					g = limit
				}
			} else {
				g, clipped = sc.magnitude(P, k)
			}
			if clipped {
				s.counters.GClips++
			}
			if g == 0 {
				if m != 0 {
					s.counters.Vanished++
				}
				continue
			}
			reach |= g
			columns[listed], mags[c] = c, g
			signs[c] = rowSign ^ int32(dv>>15) // -1 when the update is negative
			listed++
		}
		if packed {
			s.addRowPacked(r, columns[:listed], mags, signs)
			s.slicesStale = true
		} else {
			s.addRow(r, columns[:listed], mags, signs, reach)
		}
	}
}

// addRow adds each listed column's update of row r (magnitude, and sign -1
// for negative), chunked at slice boundaries, through pulse.
func (s *Set) addRow(r int, columns []int, mags []uint64, signs []int32, reach uint64) {
	base := r * s.cols
	for i := range s.slices {
		sl := &s.slices[i]
		off := uint(sl.Offset) & 63
		if reach>>off == 0 {
			return
		}
		for _, c := range columns {
			chunk := int32(mags[c] >> off & sl.nominalMask)
			if chunk == 0 {
				continue
			}
			s.pulse(sl, i, base+c, (chunk^signs[c])-signs[c])
		}
	}
}

// opaBitstream drives the cells as the hardware does: four sign phases, and
// in each the row input's magnitude bits LSB first.
func (s *Set) opaBitstream(x, d []int16, sc scaler, draws []uint32) {
	cols := s.cols
	prev := resize(s.scratch.prevG, len(s.acc))
	s.scratch.prevG = prev
	clipped := resize(s.scratch.clipped, len(s.acc))
	s.scratch.clipped = clipped
	perStep := s.cfg.OPAMode == PerStep
	s.ensureSlices()
	s.packedLive = false
	rows, columns := s.scratch.phaseRows[:0], s.scratch.phaseCols[:0]
	for phase := 0; phase < 4; phase++ {
		rowNeg, colNeg := phase >= 2, phase%2 == 1
		rows, columns = rows[:0], columns[:0]
		for r, xv := range x {
			if xv != 0 && (xv < 0) == rowNeg {
				rows = append(rows, r)
			}
		}
		for c, dv := range d {
			if dv != 0 && (dv < 0) == colNeg {
				columns = append(columns, c)
			}
		}
		negative := rowNeg != colNeg != sc.negative
		for p := 0; p < fixed.Width; p++ {
			for _, r := range rows {
				ax := abs16(x[r])
				if ax>>p&1 == 0 {
					continue // this step adds nothing to the row's cells
				}
				var part uint64 // the input bits streamed so far, or this step's bit
				if perStep {
					part = 1 << p
				} else {
					part = ax & (2<<p - 1)
				}
				for _, c := range columns {
					idx := r*cols + c
					var k uint32
					if draws != nil {
						k = draws[idx]
					}
					g, clip := sc.magnitude(part*abs16(d[c]), k)
					clipped[idx] = clipped[idx] || clip
					step := g
					if perStep {
						prev[idx] += g
					} else {
						step = g - prev[idx]
						prev[idx] = g
					}
					if step != 0 {
						s.addChunks(idx, step, negative)
					}
				}
			}
		}
	}
	s.scratch.phaseRows, s.scratch.phaseCols = rows, columns
	for r, xv := range x {
		for c, dv := range d {
			idx := r*cols + c
			if clipped[idx] {
				s.counters.GClips++
			}
			if xv != 0 && dv != 0 && sc.m != 0 && prev[idx] == 0 {
				s.counters.Vanished++
			}
		}
	}
}

// addChunks adds sign * ((g >> o_i) & (2^nb_i - 1)) to every slice of a
// cell, each clamped to the slice's range.
func (s *Set) addChunks(idx int, g uint64, negative bool) {
	for i := range s.slices {
		sl := &s.slices[i]
		rest := g >> uint(sl.Offset)
		if rest == 0 {
			return
		}
		chunk := int32(rest & sl.nominalMask)
		if chunk == 0 {
			continue
		}
		if negative {
			chunk = -chunk
		}
		s.pulse(sl, i, idx, chunk)
	}
}

// pulse moves one cell of slice i by delta levels through the device model,
// clamps it to the slice's range and counts what the clamp removed.
func (s *Set) pulse(sl *sliceCells, i, idx int, delta int32) {
	s.counters.OPAPulses++
	old := int32(sl.v[idx])
	target := old + delta
	if sl.dev != nil {
		target = int32(sl.dev.Write(idx, int(old+sl.bias), int(delta))) - sl.bias
	}
	v := min(max(target, sl.lo), sl.hi)
	if v != target {
		s.counters.SliceSat[i]++
		s.counters.Lost += int64(target-v) << uint(sl.Offset)
	}
	if v != old {
		s.setCell(sl, idx, old, v)
	}
}

// scaler computes |g| = |eta| P 2^(f-12) for a product P = |X||D| exactly:
// |eta| = m 2^e with m odd, so |g| = m P 2^t with t = e + f - 12, evaluated
// in 128-bit integers and rounded once.
type scaler struct {
	m        uint64
	t        int
	limit    uint64 // 2^(16+f) - 1, the largest magnitude a set accepts
	rounding fixed.Rounding
	negative bool // eta < 0
	// inline is set when 0 < shift = -t < 128, the cases the chunked loop
	// computes in place.
	inline bool
	shift  uint
	// zeroBelow: every product P below it rounds to zero (nearest and
	// truncate; 0 for stochastic rounding, which may round anything up).
	zeroBelow uint64
}

func newScaler(eta float64, f int, rounding fixed.Rounding) scaler {
	sc := scaler{limit: 1<<(fixed.Width+f) - 1, rounding: rounding, negative: eta < 0}
	frac, exp := math.Frexp(math.Abs(eta))
	if frac == 0 {
		return sc
	}
	m := uint64(math.Ldexp(frac, 53)) // exact: frac has 53 significant bits
	tz := bits.TrailingZeros64(m)
	sc.m = m >> tz
	sc.t = exp - 53 + tz + f - 12
	sc.inline = sc.t < 0 && sc.t > -128
	sc.shift = uint(-sc.t) & 127
	sc.zeroBelow = zeroThreshold(sc.m, sc.t, rounding)
	return sc
}

// magnitude returns the rounded, clipped |g| for product P and uniform draw
// k (used by stochastic rounding only), and whether it was clipped.
func (sc scaler) magnitude(P uint64, k uint32) (g uint64, clipped bool) {
	hi, lo := bits.Mul64(sc.m, P)
	if hi == 0 && lo == 0 {
		return 0, false
	}
	if sc.t >= 0 {
		if hi != 0 || sc.t >= 64 || lo > sc.limit>>uint(sc.t) {
			return sc.limit, true
		}
		return lo << uint(sc.t), false
	}
	s := uint(-sc.t)
	if hi == 0 && s < 64 { // the common case: the product fits one word
		whole, frac := lo>>s, lo<<(64-s)
		return sc.round(whole, frac, false, k)
	}
	whole, overflow := shiftRight128(hi, lo, s)
	if overflow || whole > sc.limit {
		return sc.limit, true
	}
	// The fraction's top 64 bits and whether any bit below them is set.
	var frac uint64
	var sticky bool
	if s <= 64 {
		frac = lo << (64 - s) // drops the whole part; s == 64 shifts by 0
	} else {
		remHi := hi
		if s < 128 {
			remHi &= 1<<(s-64) - 1
		}
		frac, _ = shiftRight128(remHi, lo, s-64)
		sticky = lowBitsSet(remHi, lo, s-64)
	}
	return sc.round(whole, frac, sticky, k)
}

// round applies the rounding mode to whole + frac/2^64 (+ a bit below when
// sticky), then clips.
func (sc scaler) round(whole, frac uint64, sticky bool, k uint32) (uint64, bool) {
	switch sc.rounding {
	case fixed.Nearest:
		if frac >= 1<<63 {
			whole++
		}
	case fixed.Stochastic:
		u := uint64(k) << 32
		if u < frac || u == frac && sticky {
			whole++
		}
	}
	if whole > sc.limit {
		return sc.limit, true
	}
	return whole, false
}

// zeroThreshold is the smallest product P (up to 2^31) whose update does not
// round to zero: m P >= 2^(s-1) for nearest, m P >= 2^s for truncate, with
// s = -t. It is 0 when nothing can be ruled out.
func zeroThreshold(m uint64, t int, rounding fixed.Rounding) uint64 {
	const ceiling = 1 << 31 // above every product of two int16 magnitudes
	if m == 0 || t >= 0 || rounding == fixed.Stochastic {
		return 0
	}
	e := -t // |g| = m P / 2^e
	if rounding == fixed.Nearest {
		e-- // rounds up from one half
	}
	if e-bits.Len64(m) >= 31 { // 2^e / m >= 2^31
		return ceiling
	}
	// ceil(2^e / m) with 2^e < m 2^31 < 2^85: big enough for 128 bits.
	hi, lo := uint64(0), uint64(0)
	if e >= 64 {
		hi = 1 << (e - 64)
	} else {
		lo = 1 << e
	}
	q, r := bits.Div64(hi, lo, m) // hi < m: 2^e < m 2^32 keeps the quotient in 64 bits
	if r != 0 {
		q++
	}
	return min(q, ceiling)
}

// shiftRight128 returns the low 64 bits of (hi:lo) >> s and whether the
// result needs more than 64 bits.
func shiftRight128(hi, lo uint64, s uint) (uint64, bool) {
	switch {
	case s >= 128:
		return 0, false
	case s >= 64:
		return hi >> (s - 64), false
	case s == 0:
		return lo, hi != 0
	}
	return lo>>s | hi<<(64-s), hi>>s != 0
}

// lowBitsSet reports whether any of the low n bits of (hi:lo) is set.
func lowBitsSet(hi, lo uint64, n uint) bool {
	switch {
	case n >= 128:
		return hi != 0 || lo != 0
	case n >= 64:
		return lo != 0 || hi&(1<<(n-64)-1) != 0
	}
	return lo&(1<<n-1) != 0
}

func abs16(v int16) uint64 {
	if v < 0 {
		return uint64(-int32(v))
	}
	return uint64(v)
}

func maxAbs16(v []int16) uint64 {
	var m uint64
	for _, x := range v {
		m = max(m, abs16(x))
	}
	return m
}
