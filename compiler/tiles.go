package compiler

import (
	"slices"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/program"
)

// A matrix stage's cell matrix is cut into crossbar tiles of at most
// CrossbarSize rows and columns, in model row order, exactly as the trainer
// cuts it: the tiles' rounded products are added in xbar.TreeSum's order, so
// the tile boundaries are part of the numerics. Within a row tile the
// compiler may order the rows freely (a crossbar's sum does not depend on
// the order of its lines): it orders them by input group (the channels one
// core owns), then window offset (i, j), then channel. Each offset's
// channels of a group are then consecutive in the crossbar's input buffer
// and in the pixel-major maps, so one copy fills them, and each group's
// input errors are consecutive in the MTVM output, so its owner gets them
// in one record.

// rowTile is the physical layout of one row tile of a matrix stage.
type rowTile struct {
	r0, r1 int   // model rows [r0, r1)
	phys   []int // phys[k] is the model row at input-buffer line k
	runs   []run // lines grouped by window offset, in line order
	bias   int   // the line of the bias row, or -1
	// groups[k] is the lines [l0, l1) of input group k (of the stage's
	// input groups), empty when the tile has none of its channels.
	groups [][2]int
}

// run is the lines of one window offset in a row tile: channels [c0, c1)
// at offset (i, j), on buffer lines [line, line+c1-c0).
type run struct {
	i, j, c0, c1, line int
}

func (s *stage) rowTile(rt int) rowTile {
	t := rowTile{r0: s.rowB[rt], r1: s.rowB[rt+1], bias: -1, groups: make([][2]int, len(s.inGroups))}
	groupOf := func(c int) int {
		for k, g := range s.inGroups {
			if c >= g.c0 && c < g.c1 {
				return k
			}
		}
		return 0
	}
	biasRow := -1
	if s.bias {
		biasRow = s.rows - 1
	}
	for r := t.r0; r < t.r1; r++ {
		if r != biasRow {
			t.phys = append(t.phys, r)
		}
	}
	slices.SortFunc(t.phys, func(a, b int) int {
		ca, ia, ja := s.win.rowPos(a)
		cb, ib, jb := s.win.rowPos(b)
		if ga, gb := groupOf(ca), groupOf(cb); ga != gb {
			return ga - gb
		}
		if ia != ib {
			return ia - ib
		}
		if ja != jb {
			return ja - jb
		}
		return ca - cb
	})
	for k, r := range t.phys {
		c, i, j := s.win.rowPos(r)
		gk := groupOf(c)
		if t.groups[gk][1] == 0 {
			t.groups[gk][0] = k
		}
		t.groups[gk][1] = k + 1
		if n := len(t.runs); n > 0 && t.runs[n-1].i == i && t.runs[n-1].j == j && t.runs[n-1].c1 == c && groupOf(c-1) == gk {
			t.runs[n-1].c1++
			continue
		}
		t.runs = append(t.runs, run{i: i, j: j, c0: c, c1: c + 1, line: k})
	}
	if biasRow >= t.r0 && biasRow < t.r1 {
		t.bias = len(t.phys)
		t.phys = append(t.phys, biasRow)
	}
	return t
}

// image returns the cell-matrix block of tile (rt, ct) in physical row
// order, row-major.
func (s *stage) image(t rowTile, ct int) []int16 {
	c0, c1 := s.colB[ct], s.colB[ct+1]
	out := make([]int16, 0, len(t.phys)*(c1-c0))
	for _, r := range t.phys {
		out = append(out, s.m[r*s.cols+c0:r*s.cols+c1]...)
	}
	return out
}

// origin is the origin of tile (rt, ct)'s image: the block the trainer
// numbers rt*colTiles+ct in the stage's layer, and the block row each
// crossbar row holds (nil when in block order), so that the simulator
// draws the trainer's devices for it.
func (s *stage) origin(t rowTile, rt, ct int) *program.Origin {
	o := &program.Origin{Layer: s.layer, Block: rt*(len(s.colB)-1) + ct}
	for k, r := range t.phys {
		if r-t.r0 != k {
			o.Rows = make([]int, len(t.phys))
			for k, r := range t.phys {
				o.Rows[k] = r - t.r0
			}
			break
		}
	}
	return o
}

// biasInput is the input code that drives a bias row: 1.0.
const biasInput = alu.One
