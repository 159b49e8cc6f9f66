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
// The words are stored word by word: word j of every cell, row-major, then
// word j+1, so that a row's pass over one word reads consecutive memory and
// stops at the first word its updates do not reach.
//
// A set keeps either form current, or both, or neither when its cells are
// the nominal form of its accumulators (after Program or CRS): the slices'
// cell arrays (which the bit-planes, State and Cell read) and the packed
// words are brought up to date when next used.

// packing is the packed layout of one slice plan. Plans are few, so the
// layouts are built once each and shared.
type packing struct {
	lanes []packedLane // per slice
	words []packedWord // per word of a cell
	// fieldLow and fieldTop mark, over a code, every slice's nominal bits
	// but the top one, and the top one: they count non-zero chunks.
	fieldLow, fieldTop uint64
}

type packedLane struct {
	word  int
	shift uint
}

// packedWordCodeBits is how many bits of a code one word takes at most:
// two table look-ups spread them.
const packedWordCodeBits = 16

// packedWord is one word of a cell's packed form. Its slices take the code
// bits (of an update magnitude or an offset code U) from first up, at most
// packedWordCodeBits of them; a code below 2^first leaves the word, and
// every later one, unchanged.
type packedWord struct {
	guard, bias uint64 // the guard bit and the bias of each of its lanes
	first       uint
	// spread[b][v] is what byte b of code >> first, with value v,
	// contributes to the word: its bits cut at slice boundaries and moved
	// into the lanes. The two bytes' contributions add without carries.
	spread *[2][256]uint64
}

// spreadCode returns a word's part of a code shifted right by the word's
// first bit, from its table (bits above the word's are ignored).
func spreadCode(spread *[2][256]uint64, rest uint64) uint64 {
	return spread[0][rest&255] + spread[1][rest>>8&255]
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
	used, codeBits := uint(64), 0 // lane bits and code bits of the current word
	for i, sl := range p.Slices {
		width := uint(sl.CellBits + 1)
		if used+width > 64 || codeBits+sl.NominalBits > packedWordCodeBits {
			pk.words = append(pk.words, packedWord{first: uint(sl.Offset), spread: new([2][256]uint64)})
			used, codeBits = 0, 0
		}
		j := len(pk.words) - 1
		pw := &pk.words[j]
		pk.lanes[i] = packedLane{word: j, shift: used}
		pw.guard |= 1 << (used + uint(sl.CellBits))
		pw.bias |= uint64(sl.Bias()) << used
		mask := uint64(1)<<sl.NominalBits - 1
		for b := range pw.spread {
			for v := range 256 {
				code := uint64(v) << (pw.first + 8*uint(b))
				pw.spread[b][v] += code >> sl.Offset & mask << used
			}
		}
		used += width
		codeBits += sl.NominalBits
		pk.fieldLow |= mask >> 1 << sl.Offset
		pk.fieldTop |= (mask + 1) >> 1 << sl.Offset
	}
	return pk
}

// chunks counts the non-zero chunks of an update magnitude g: a slice's
// field is non-zero when adding all ones below its top bit carries into
// the top bit, or the top bit is set.
func (pk *packing) chunks(g uint64) int {
	return bits.OnesCount64(((g & pk.fieldLow) + pk.fieldLow | g) & pk.fieldTop) // carries stop at each field's top bit
}

// packedWords returns word j of every cell.
func (s *Set) packedWords(j int) []uint64 {
	n := len(s.acc)
	return s.packed[j*n : (j+1)*n]
}

// ensurePacked makes the packed form current. Where the cells are the
// nominal form of the accumulators, it only marks every row: a row's words
// are written from its accumulators when an OPA first writes the row (just
// before its scattered writes, which then find it in the cache) or when
// the slices' arrays are made from the packed form. Rows no OPA writes
// between two CRSs are not written at all.
func (s *Set) ensurePacked() {
	if s.packedLive {
		return
	}
	s.allocPacked()
	s.packedLive = true
	if s.slicesFromAcc {
		for r := range s.rowsFromAcc {
			s.rowsFromAcc[r] = true
		}
		s.slicesFromAcc, s.slicesStale = false, true
		return
	}
	clear(s.rowsFromAcc)
	clear(s.packed)
	for i := range s.slices { // a lane holds v + bias, as the slice's bytes do
		sl, ln := &s.slices[i], s.pk.lanes[i]
		words := s.packedWords(ln.word)
		for idx, b := range sl.biased {
			words[idx] += uint64(b) << ln.shift
		}
	}
}

// allocPacked makes room for the packed form.
func (s *Set) allocPacked() {
	if s.pk == nil {
		s.pk = packingOf(s.cfg.Plan)
		s.packed = make([]uint64, len(s.acc)*len(s.pk.words))
		s.rowsFromAcc = make([]bool, s.rows)
	}
}

// ensureSlices brings the slices' cell arrays up to date (making them on
// first use) when the accumulators or the packed form alone are current.
func (s *Set) ensureSlices() {
	if !s.slicesFromAcc && !s.slicesStale {
		return
	}
	for i := range s.slices {
		if sl := &s.slices[i]; sl.biased == nil {
			sl.biased = make([]uint8, len(s.acc))
		}
	}
	if s.slicesFromAcc {
		s.writeSlicesFromAcc()
		s.slicesFromAcc = false
		return
	}
	for r, fromAcc := range s.rowsFromAcc {
		if fromAcc {
			s.writePackedRow(r)
		}
	}
	for i := range s.slices {
		sl, ln := &s.slices[i], s.pk.lanes[i]
		mask := uint64(1)<<(sl.CellBits+1) - 1
		words := s.packedWords(ln.word)
		for idx := range sl.biased {
			sl.biased[idx] = uint8(words[idx] >> ln.shift & mask)
		}
	}
	s.slicesStale = false
}

// addRowPacked is addRow on the packed cells, with the same writes, clamps
// and counts. A subtract sets the word's guard bits first, so both signs
// are one add and one test, with no branch. A word that left its range is
// stored with the guard bits of the lanes that did (a subtract's flipped),
// and clamped after the pass over the row.
func (s *Set) addRowPacked(r int, columns []int, mags []uint64, signs []int64, rowSign int64, reach uint64) {
	if s.rowsFromAcc[r] {
		s.writePackedRow(r)
	}
	mags, signs = mags[:len(columns)], signs[:len(columns)]
	base := r * s.cols
	acc := s.acc[base : base+s.cols]
	pk := s.pk
	var pulses int
	for k, c := range columns {
		sign := rowSign ^ signs[k]
		acc[c] += (int64(mags[k]) ^ sign) - sign
		pulses += pk.chunks(mags[k])
	}
	s.counters.OPAPulses += int64(pulses)
	for j := range s.pk.words {
		pw := &s.pk.words[j]
		if reach>>pw.first == 0 {
			break // no update reaches this word or a later one
		}
		cells := s.packedWords(j)[base : base+s.cols]
		guard, first, spread := pw.guard, pw.first&63, pw.spread
		var left uint64 // the guard bits of lanes that left their range
		for k, c := range columns {
			sign := uint64(rowSign ^ signs[k])
			rest := mags[k] >> first
			borrow := guard & sign // the guard bits, for a subtract
			w := (cells[c] | borrow) + (spreadCode(spread, rest) ^ sign) - sign
			out := (w ^ borrow) & guard
			left |= out
			cells[c] = w&^guard | out
		}
		if left == 0 {
			continue
		}
		for k, c := range columns {
			if cells[c]&guard != 0 {
				sign := rowSign ^ signs[k]
				borrow := guard & uint64(sign)
				cells[c] = s.clampLanes(j, cells[c]^borrow, &acc[c], sign != 0) &^ guard
			}
		}
	}
}

// clampLanes clamps the lanes of word j that left their range after an add
// (negative: a subtract from lanes with their guard bits set), counts each
// as a slice saturation with the amount it removed, and takes that amount
// back out of the cell's accumulator q.
func (s *Set) clampLanes(j int, w uint64, q *int64, negative bool) uint64 {
	var lost int64
	for i, ln := range s.pk.lanes {
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

// writePackedRow writes the packed words of row r from its accumulators,
// through each cell's biased code U = Q + bias.
func (s *Set) writePackedRow(r int) {
	bias := s.cfg.Plan.Bias()
	base := r * s.cols
	acc := s.acc[base : base+s.cols]
	for j := range s.pk.words {
		pw := &s.pk.words[j]
		words, first := s.packedWords(j)[base:base+s.cols], pw.first&63
		for c, q := range acc {
			words[c] = pw.bias + spreadCode(pw.spread, uint64(q+bias)>>first)
		}
	}
	s.rowsFromAcc[r] = false
}
