package xbar

import (
	"math/bits"
	"sync"
)

// The packed form holds a set of ideal cells as the chunked OPA wants it:
// every cell's slices side by side in machine words, so that one add
// writes a chunk into every slice of a word at once (SWAR). Slice i's lane
// is CellBits_i + 1 bits wide and holds its level v + bias in
// [0, 2^CellBits_i - 1]; the lane's top bit is a guard that stays zero in
// a stored word. Adding a chunk (at most 2^NominalBits_i - 1 <= 2^CellBits_i
// - 1) cannot carry out of the lane, and the guard bit is set exactly when
// the level passed its top; subtracting from the lane with its guard bit set
// cannot borrow from the next lane, and the guard bit is then clear exactly
// when the level went below zero. Only the lanes that left their range take
// the exact per-slice clamp, so the results equal the per-slice path's bit
// for bit.
//
// A set keeps either form current, or both, or neither when its cells are
// the nominal form of its accumulators (after Program or CRS): the slices'
// cell arrays (which the bit-planes, State and Cell read) and the packed
// words are brought up to date when next used.

// packing is the packed layout of one slice plan. Plans are few, so the
// layouts are built once each and shared.
type packing struct {
	words int          // words per cell
	lanes []packedLane // per slice
	// guard and bias hold, per word, the guard bit and the bias of each of
	// its lanes.
	guard, bias []uint64
	// spread[j][b*256+v] is the part of word j that byte b of a code (an
	// update magnitude or an offset code U) with value v contributes: its
	// bits cut at slice boundaries and moved into the slices' lanes. The
	// contributions of a code's bytes add without carries.
	spread [][]uint64
	// fieldLow and fieldTop mark, over a code, every slice's nominal bits
	// but the top one, and the top one: they count non-zero chunks.
	fieldLow, fieldTop uint64
}

type packedLane struct {
	word  int
	shift uint
}

var packings sync.Map // Plan.String() -> *packing

func packingOf(p Plan) *packing {
	key := p.String()
	if pk, ok := packings.Load(key); ok {
		return pk.(*packing)
	}
	pk, _ := packings.LoadOrStore(key, newPacking(p))
	return pk.(*packing)
}

func newPacking(p Plan) *packing {
	pk := &packing{lanes: make([]packedLane, len(p.Slices))}
	used := uint(64) // bits used in the current word: start a new one
	for i, sl := range p.Slices {
		width := uint(sl.CellBits + 1)
		if used+width > 64 {
			pk.words++
			pk.guard, pk.bias = append(pk.guard, 0), append(pk.bias, 0)
			used = 0
		}
		j := pk.words - 1
		pk.lanes[i] = packedLane{word: j, shift: used}
		pk.guard[j] |= 1 << (used + uint(sl.CellBits))
		pk.bias[j] |= uint64(sl.Bias()) << used
		used += width
		mask := uint64(1)<<sl.NominalBits - 1
		pk.fieldLow |= mask >> 1 << sl.Offset
		pk.fieldTop |= (mask + 1) >> 1 << sl.Offset
	}
	codeBytes := (p.Slices[len(p.Slices)-1].Offset + p.Slices[len(p.Slices)-1].NominalBits + 7) / 8
	pk.spread = make([][]uint64, pk.words)
	for j := range pk.spread {
		pk.spread[j] = make([]uint64, codeBytes*256)
	}
	for b := range codeBytes {
		for v := range 256 {
			code := uint64(v) << (8 * b)
			for i, sl := range p.Slices {
				chunk := code >> sl.Offset & (1<<sl.NominalBits - 1)
				pk.spread[pk.lanes[i].word][b*256+v] += chunk << pk.lanes[i].shift
			}
		}
	}
	return pk
}

// spreadWord is one word's part of a code: its bytes' parts from that
// word's table t, summed (the code has no more bytes than t has tables).
func spreadWord(t []uint64, code uint64) uint64 {
	w := t[code&255]
	for b := 256; code > 255; b += 256 {
		code >>= 8
		w += t[b+int(code&255)]
	}
	return w
}

// chunks counts the non-zero chunks of an update magnitude g: a slice's
// field is non-zero when adding all ones below its top bit carries into
// the top bit, or the top bit is set.
func (pk *packing) chunks(g uint64) int {
	return bits.OnesCount64(((g & pk.fieldLow) + pk.fieldLow | g) & pk.fieldTop) // carries stop at each field's top bit
}

// ensurePacked makes the packed form current.
func (s *Set) ensurePacked() {
	if s.packedLive {
		return
	}
	s.allocPacked()
	s.packedLive = true
	if s.slicesFromAcc {
		s.writePackedCodes(s.accCodes())
		s.slicesFromAcc, s.slicesStale = false, true
		return
	}
	pk := s.pk
	for idx := range s.acc {
		copy(s.packed[idx*pk.words:][:pk.words], pk.bias)
	}
	for i := range s.slices {
		sl, ln := &s.slices[i], pk.lanes[i]
		for idx, v := range sl.v {
			s.packed[idx*pk.words+ln.word] += uint64(int32(v)) << ln.shift
		}
	}
}

// allocPacked makes room for the packed form.
func (s *Set) allocPacked() {
	if s.pk == nil {
		s.pk = packingOf(s.cfg.Plan)
		s.packed = make([]uint64, len(s.acc)*s.pk.words)
	}
}

// ensureSlices brings the slices' cell arrays up to date (making them on
// first use) when the accumulators or the packed form alone are current.
func (s *Set) ensureSlices() {
	if !s.slicesFromAcc && !s.slicesStale {
		return
	}
	for i := range s.slices {
		if sl := &s.slices[i]; sl.v == nil {
			sl.v = make([]int16, len(s.acc))
		}
	}
	if s.slicesFromAcc {
		s.writeSlices(s.accCodes())
		s.slicesFromAcc = false
		return
	}
	pk := s.pk
	for i := range s.slices {
		sl, ln := &s.slices[i], pk.lanes[i]
		mask := uint64(1)<<(sl.CellBits+1) - 1
		for idx := range sl.v {
			sl.v[idx] = int16(int32(s.packed[idx*pk.words+ln.word]>>ln.shift&mask) - sl.bias)
		}
	}
	s.slicesStale = false
}

// addRowPacked adds each listed column's update of row r (magnitude, and
// sign -1 for negative) to the packed cells: the same writes, clamps and
// counts as addRow on ideal cells.
func (s *Set) addRowPacked(r int, columns []int, mags []uint64, signs []int32) {
	pk := s.pk
	words := pk.words
	base := r * s.cols
	acc := s.acc[base : base+s.cols]
	cells := s.packed[base*words : (base+s.cols)*words]
	var pulses int64
	for _, c := range columns {
		g, sign := mags[c], signs[c]
		pulses += int64(pk.chunks(g))
		acc[c] += (int64(g) ^ int64(sign)) - int64(sign)
		for j, t := range pk.spread {
			a := spreadWord(t, g)
			if a == 0 {
				continue
			}
			idx := c*words + j
			guard := pk.guard[j]
			w := cells[idx]
			if sign == 0 {
				w += a
				if w&guard != 0 {
					w = s.clampLanes(j, w, &acc[c], false)
				}
			} else {
				w = (w | guard) - a
				if w&guard != guard {
					w = s.clampLanes(j, w, &acc[c], true)
				}
				w &^= guard
			}
			cells[idx] = w
		}
	}
	s.counters.OPAPulses += pulses
}

// clampLanes clamps the lanes of word j that left their range after an add
// (negative: a subtract from lanes with their guard bits set), counts each
// as a slice saturation with the amount it removed, and takes that amount
// back out of the cell's accumulator q.
func (s *Set) clampLanes(j int, w uint64, q *int64, negative bool) uint64 {
	pk := s.pk
	var lost int64
	for i, ln := range pk.lanes {
		if ln.word != j {
			continue
		}
		sl := &s.slices[i]
		top := uint64(1) << sl.CellBits
		lane := w >> ln.shift & (2*top - 1)
		var removed int64 // target level - clamped level
		switch {
		case !negative && lane >= top:
			removed = int64(lane - (top - 1))
			w -= uint64(removed) << ln.shift
		case negative && lane < top:
			removed = int64(lane) - int64(top) // the level went below zero by this
			w += (top - lane) << ln.shift
		default:
			continue
		}
		s.counters.SliceSat[i]++
		lost += removed << uint(sl.Offset)
	}
	s.counters.Lost += lost
	*q -= lost
	return w
}

// writePackedCodes writes every cell's packed words from its biased code U.
func (s *Set) writePackedCodes(codes []uint32) {
	pk := s.pk
	words := pk.words
	for j, t := range pk.spread {
		bias := pk.bias[j]
		packed := s.packed[j:]
		for idx, u := range codes {
			packed[idx*words] = bias + spreadWord(t, uint64(u))
		}
	}
}
