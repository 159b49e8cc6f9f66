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
	for i0 := 0; i0 < n; i0 += treeBlock {
		i1 := min(i0+treeBlock, n)
		var of []bool
		if outFlags != nil {
			of = outFlags[i0:i1]
		}
		events += st.sumBlock(parts, flags, i0, i1, out[i0:i1], of)
	}
	return events, nil
}

// treeBlock is how many elements a tree sum reduces together: the tree's
// bookkeeping is shared by the block, and each addition is a loop over it.
const treeBlock = 32

// treeState holds one pending partial sum per tree level, like a binary
// counter, which gives the level-wise pairing without a second array. A level
// is read only after it was written for the current block, so the arrays
// need no clearing between blocks.
type treeState struct {
	pending     [64][treeBlock]int16
	pendingFlag [64][treeBlock]bool
}

// sumBlock reduces elements i0..i1-1 of every tile into out and outFlags
// (nil to ignore) and returns the saturation events.
func (st *treeState) sumBlock(parts [][]int16, flags [][]bool, i0, i1 int, out []int16, outFlags []bool) (events int) {
	n := i1 - i0
	var full uint64
	for t := range parts {
		// The tile's values enter at level 0 and carry up through the full
		// levels, each time as the right operand.
		k := bits.TrailingZeros64(^full)
		v, f := st.pending[k][:n], st.pendingFlag[k][:n]
		copy(v, parts[t][i0:i1])
		if flags != nil && flags[t] != nil {
			copy(f, flags[t][i0:i1])
		} else {
			clear(f)
		}
		for j := range k {
			events += addLevel(st.pending[j][:n], st.pendingFlag[j][:n], v, f)
		}
		full = full&^(1<<k-1) | 1<<k
	}
	// Odd partial sums move up unchanged; combine what is left from the
	// lowest level up, each as the right operand of the higher one.
	low := bits.TrailingZeros64(full)
	v, f := st.pending[low][:n], st.pendingFlag[low][:n]
	for full &= full - 1; full != 0; full &= full - 1 {
		k := bits.TrailingZeros64(full)
		events += addLevel(st.pending[k][:n], st.pendingFlag[k][:n], v, f)
	}
	copy(out, v)
	if outFlags != nil {
		copy(outFlags, f)
	}
	return events
}

// addLevel sets v = sat16(left + v) element by element, ORing the left
// operand's flag and the saturation into f, and returns the saturations.
func addLevel(left []int16, leftFlag []bool, v []int16, f []bool) (events int) {
	left, leftFlag, f = left[:len(v)], leftFlag[:len(v)], f[:len(v)]
	for e, r := range v {
		s, sat := fixed.Sat16(int64(left[e]) + int64(r))
		v[e], f[e] = s, f[e] || leftFlag[e] || sat
		if sat {
			events++
		}
	}
	return events
}
