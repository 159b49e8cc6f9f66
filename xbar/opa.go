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
		b := drawBuffers.get(len(s.acc))
		defer drawBuffers.put(b)
		draws = *b
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
	xPos, xNeg := signsPresent(x)
	dPos, dNeg := signsPresent(d)
	s.counters.OPAPhases += (b2i(xPos) + b2i(xNeg)) * (b2i(dPos) + b2i(dNeg))
}

// signsPresent tells whether v holds a positive and a negative value.
func signsPresent(v []int16) (pos, neg bool) {
	var lo, hi int16
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return hi > 0, lo < 0
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// opaChunked adds every cell's rounded update at once. It works a row at a
// time: first the row's updates, then slice by slice along the row, which is
// also the order in which device models see the writes. Errors are sparse
// (most are zero after the activation's derivative and rounding), so the
// columns with a non-zero error are listed once and the rows visit those
// alone.
func (s *Set) opaChunked(x, d []int16, sc scaler, draws []uint32) {
	if sc.m == 0 {
		return // eta = 0 adds nothing and rounds nothing away
	}
	o := &s.scratch.opaLists
	o.errCols, o.errMags, o.errSigns = o.errCols[:0], o.errMags[:0], o.errSigns[:0]
	var maxD uint64
	for c, dv := range d {
		if dv != 0 {
			o.errCols = append(o.errCols, c)
			o.errMags = append(o.errMags, abs16(dv))
			o.errSigns = append(o.errSigns, int64(dv>>15))
			maxD = max(maxD, abs16(dv))
		}
	}
	n := len(o.errCols)
	errCols, errMags, errSigns := o.errCols, o.errMags[:n], o.errSigns[:n]
	o.mags = resize(o.mags, n)
	mags := o.mags[:n] // one row's update magnitudes, by position in errCols
	packed := s.idealCells() && !s.rowPlanesLive && !s.colPlanesLive
	if packed {
		s.ensurePacked()
	} else {
		s.ensureSlices()
		s.packedLive = false
	}
	for r, xv := range x {
		if xv == 0 {
			continue
		}
		ax := abs16(xv)
		// Every cell of the row rounds to zero when even the largest product
		// does; only the vanished count is left to do.
		if ax*maxD < sc.zeroBelow {
			s.counters.Vanished += int64(n)
			continue
		}
		// reach, the OR of the row's magnitudes, has the top bit of the
		// largest: it tells how many slices the updates touch.
		var reach uint64
		var vanished int64
		if sc.floor && ax*maxD < sc.clipFrom {
			reach, vanished = sc.floorRow(ax, errMags, mags)
		} else {
			var k uint32 // the cell's draw for stochastic rounding
			for i, dm := range errMags {
				if draws != nil {
					k = draws[r*s.cols+errCols[i]]
				}
				g, clipped := sc.magnitude(ax*dm, k)
				if clipped {
					s.counters.GClips++
				}
				if g == 0 {
					vanished++
				}
				mags[i] = g
				reach |= g
			}
		}
		s.counters.Vanished += vanished
		// The update of column errCols[i] has the sign rowSign ^ errSigns[i]
		// (-1 for negative).
		rowSign := int64(0)
		if (xv < 0) != sc.negative {
			rowSign = -1
		}
		if packed {
			s.addRowPacked(r, errCols, mags, errSigns, rowSign, reach)
			s.slicesStale = true
		} else {
			s.addRow(r, errCols, mags, errSigns, rowSign, reach)
		}
	}
}

// opaScratch holds a chunked OPA's lists: the columns with a non-zero error
// (magnitude and sign -1 for negative), and one row's update magnitudes of
// those columns.
type opaScratch struct {
	errCols       []int
	errMags, mags []uint64
	errSigns      []int64
}

// addRow adds each listed column's update of row r (by list position:
// magnitude mags[k], zero adding nothing, and sign rowSign ^ signs[k], -1
// for negative), chunked at slice boundaries, through pulse. reach has the
// top bit of the largest magnitude.
func (s *Set) addRow(r int, columns []int, mags []uint64, signs []int64, rowSign int64, reach uint64) {
	base := r * s.cols
	for i := range s.slices {
		sl := &s.slices[i]
		off := uint(sl.Offset) & 63
		if reach>>off == 0 {
			return
		}
		for k, c := range columns {
			chunk := int32(mags[k] >> off & sl.nominalMask)
			if chunk == 0 {
				continue
			}
			sign := int32(rowSign ^ signs[k])
			s.pulse(sl, i, base+c, (chunk^sign)-sign)
		}
	}
}

// Scratch of one OPA, lent (see scratchPool): the stochastic rounding
// draws, and the bitstream's previous magnitudes and clip marks per cell.
var (
	drawBuffers scratchPool[uint32]
	prevBuffers scratchPool[uint64]
	clipBuffers scratchPool[bool]
)

// opaBitstream drives the cells as the hardware does: four sign phases, and
// in each the row input's magnitude bits LSB first.
func (s *Set) opaBitstream(x, d []int16, sc scaler, draws []uint32) {
	cols := s.cols
	pb, cb := prevBuffers.get(len(s.acc)), clipBuffers.get(len(s.acc))
	defer prevBuffers.put(pb)
	defer clipBuffers.put(cb)
	prev, clipped := *pb, *cb
	clear(prev)
	clear(clipped)
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
	old := sl.level(idx)
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
	// floor is set for nearest and truncate rounding when 0 < shift = -t
	// < 128, the cases floorRow computes.
	floor bool
	shift uint
	// roundHi:roundLo is what the rounding adds to m P before the shift:
	// 2^(shift-1) for nearest, 0 for truncate.
	roundHi, roundLo uint64
	// zeroBelow: every product P below it rounds to zero (nearest and
	// truncate; 0 for stochastic rounding, which may round anything up).
	zeroBelow uint64
	// clipFrom (where floor is set): no product P below it is clipped.
	clipFrom uint64
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
	sc.zeroBelow = zeroThreshold(sc.m, sc.t, rounding)
	if sc.t >= 0 || sc.t <= -128 || rounding == fixed.Stochastic {
		return sc
	}
	sc.floor, sc.shift = true, uint(-sc.t)
	if rounding == fixed.Nearest {
		if half := sc.shift - 1; half < 64 {
			sc.roundLo = 1 << half
		} else {
			sc.roundHi = 1 << (half - 64)
		}
	}
	sc.clipFrom = sc.clipThreshold()
	return sc
}

// clipThreshold is the smallest product P (up to 2^31) whose magnitude is
// clipped, where floor is set: the rounded m P 2^-shift exceeds the limit
// when m P + round >= (limit + 1) 2^shift = 2^(16+f+shift), so P >=
// ceil((2^(16+f+shift) - round) / m).
func (sc *scaler) clipThreshold() uint64 {
	const ceiling = 1 << 31 // above every product of two int16 magnitudes
	e := uint(bits.Len64(sc.limit)) + sc.shift
	if e >= 128 {
		return ceiling // m P + round < 2^84 + 2^126
	}
	var hi, lo uint64
	if e >= 64 {
		hi = 1 << (e - 64)
	} else {
		lo = 1 << e
	}
	lo, borrow := bits.Sub64(lo, sc.roundLo, 0)
	hi, _ = bits.Sub64(hi, sc.roundHi, borrow) // round < 2^e
	if hi >= sc.m {
		return ceiling // the quotient is at least 2^64
	}
	q, r := bits.Div64(hi, lo, sc.m)
	if r != 0 {
		q++
	}
	return min(q, ceiling)
}

// floorRow sets mags[i] to magnitude(ax * dms[i]) where floor is set and
// no product is clipped: (m P + round) >> shift in 128 bits, with no branch
// on the data. It returns the OR of the magnitudes and how many rounded to
// zero.
func (sc *scaler) floorRow(ax uint64, dms, mags []uint64) (or uint64, zeros int64) {
	m, roundLo, roundHi := sc.m, sc.roundLo, sc.roundHi
	wide, sh := sc.shift >= 64, sc.shift&63 // wide: shift by 64, then by sh
	mags = mags[:len(dms)]
	for i, dm := range dms {
		hi, lo := bits.Mul64(m, ax*dm)
		lo, carry := bits.Add64(lo, roundLo, 0)
		hi += roundHi + carry // m P < 2^84: no carry out
		if wide {
			lo, hi = hi, 0
		}
		g := lo>>sh | hi<<((64-sh)&63) // sh = 0 only when hi = 0
		if g == 0 {
			zeros++
		}
		mags[i] = g
		or |= g
	}
	return or, zeros
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
