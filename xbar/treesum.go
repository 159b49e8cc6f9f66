package xbar

import (
	"fmt"
	"math/bits"

	"github.com/panther-xbar/panther/fixed"
)

// TileBounds cuts n rows (or columns) of a cell matrix into crossbar tiles
// of at most size, in order: the tile starts, then n. The trainer and the
// compiler cut alike, so their tile trees meet.
func TileBounds(n, size int) []int {
	var b []int
	for s := 0; s < n; s += size {
		b = append(b, s)
	}
	return append(b, n)
}

// TreeSum adds the rounded outputs of the crossbar tiles that make up one
// larger product (docs/numeric-model.md): in Q4.12 with saturation, as a balanced pairwise
// tree in tile order. Each level adds neighbours (0+1, 2+3, ...); an odd last
// partial sum moves up a level unchanged. The simulator and the trainer use
// this one order, so they agree bit for bit.
//
// parts[t] is tile t's output vector and flags[t] its saturation flags (nil
// for none). The sum goes to out, which may be one of the parts; outFlags
// (nil to ignore) receives the OR of every event along the way, the inputs'
// included. It returns the number of saturation events.
func TreeSum(parts [][]int16, flags [][]bool, out []int16, outFlags []bool) (events int, err error) {
	if len(parts) == 0 {
		return 0, fmt.Errorf("tree sum: no tiles")
	}
	n := len(out)
	for t, p := range parts {
		if len(p) != n {
			return 0, fmt.Errorf("tree sum: tile %d has %d outputs, want %d", t, len(p), n)
		}
		if flags != nil && flags[t] != nil && len(flags[t]) != n {
			return 0, fmt.Errorf("tree sum: tile %d has %d flags, want %d", t, len(flags[t]), n)
		}
	}
	switch len(parts) {
	case 1: // nothing to add: the tile's outputs and flags pass through
		copy(out, parts[0])
		if outFlags != nil {
			for i := range outFlags {
				outFlags[i] = flags != nil && flags[0] != nil && flags[0][i]
			}
		}
		return 0, nil
	}
	var st treeState
	for i := range n {
		sum, flag, ev := st.sumAt(parts, flags, i)
		events += ev
		out[i] = sum
		if outFlags != nil {
			outFlags[i] = flag
		}
	}
	return events, nil
}

// treeState holds one pending partial sum per tree level, like a binary
// counter, which gives the level-wise pairing without a second array. A level
// is read only after it was written for the current element, so the arrays
// need no clearing between elements.
type treeState struct {
	pending     [64]int16
	pendingFlag [64]bool
}

// sumAt reduces element i of every tile.
func (st *treeState) sumAt(parts [][]int16, flags [][]bool, i int) (int16, bool, int) {
	events := 0
	var full uint64
	for t := range parts {
		v, f := parts[t][i], flags != nil && flags[t] != nil && flags[t][i]
		k := 0
		for full>>k&1 == 1 {
			s, sat := fixed.Sat16(int64(st.pending[k]) + int64(v))
			if sat {
				events++
			}
			v, f = s, f || st.pendingFlag[k] || sat
			full &^= 1 << k
			k++
		}
		st.pending[k], st.pendingFlag[k] = v, f
		full |= 1 << k
	}
	// Odd partial sums move up unchanged; combine what is left from the
	// lowest level up, each as the right operand of the higher one.
	var v int16
	var f bool
	started := false
	for ; full != 0; full &= full - 1 {
		k := bits.TrailingZeros64(full)
		if !started {
			v, f, started = st.pending[k], st.pendingFlag[k], true
			continue
		}
		s, sat := fixed.Sat16(int64(st.pending[k]) + int64(v))
		if sat {
			events++
		}
		v, f = s, f || st.pendingFlag[k] || sat
	}
	return v, f, events
}
