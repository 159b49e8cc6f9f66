package xbar

import (
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/rng"
	"pgregory.net/rapid"
)

// TestRowOrderMeetsMatrixOrderDevices checks SetConfig.RowOrder: a unit
// whose crossbar rows hold a block's rows in another order, fed the inputs
// in that order, holds every cell exactly as the unit in matrix order with
// the same seed does, through programming, MVM, MTVM, OPA and CRS, with
// stuck cells, d2d and nonlinear writes, with and without fault-aware
// mapping and spare lines: its cells meet the same devices.
func TestRowOrderMeetsMatrixOrderDevices(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rows, cols := rapid.IntRange(1, 12).Draw(t, "rows"), rapid.IntRange(1, 12).Draw(t, "cols")
		order := rapid.Permutation(identity(rows)).Draw(t, "order")
		cfg := DefaultUnitConfig()
		cfg.Size = Size{Rows: 32, Cols: 32}
		cfg.Variant = Variant(rapid.IntRange(0, int(Pipelined)).Draw(t, "variant"))
		cfg.Seed = rapid.Uint64().Draw(t, "seed")
		cfg.Device = device.Config{Kind: device.KindNonlinear, Alpha: 2, D2D: 0.3, StuckLow: 0.03, StuckHigh: 0.03}
		if rapid.Bool().Draw(t, "fault map") {
			cfg.Device.FaultMap = true
			cfg.Device.SpareRows, cfg.Device.SpareCols = rapid.IntRange(0, 3).Draw(t, "spare rows"), rapid.IntRange(0, 3).Draw(t, "spare cols")
		}
		plain, err := NewUnit(cfg, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RowOrder = order
		placed, err := NewUnit(cfg, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		src := rng.New(rapid.Uint64().Draw(t, "data"))
		m := src.Int16s(rows*cols, -1<<11, 1<<11)
		if err := plain.Program(m); err != nil {
			t.Fatal(err)
		}
		if err := placed.Program(permuteRows(m, order, cols)); err != nil {
			t.Fatal(err)
		}
		checkSameCells(t, "programmed", plain, placed, order, cols)

		x, d := src.Int16s(rows, 0, 1<<12), src.Int16s(cols, -1<<8, 1<<8)
		xp := permuteRows(x, order, 1)
		y, yp := make([]int16, cols), make([]int16, cols)
		if err := plain.MVM(x, y, nil); err != nil {
			t.Fatal(err)
		}
		if err := placed.MVM(xp, yp, nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y, yp) {
			t.Fatalf("MVM: matrix order %v, row order %v", y, yp)
		}
		e, ep := make([]int16, rows), make([]int16, rows)
		if err := plain.MTVM(d, e, nil); err != nil {
			t.Fatal(err)
		}
		if err := placed.MTVM(d, ep, nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(permuteRows(e, order, 1), ep) {
			t.Fatalf("MTVM: matrix order %v, row order %v", e, ep)
		}
		if err := plain.OPA(x, d, -0.25); err != nil {
			t.Fatal(err)
		}
		if err := placed.OPA(xp, d, -0.25); err != nil {
			t.Fatal(err)
		}
		checkSameCells(t, "after OPA", plain, placed, order, cols)
		plain.CRS()
		placed.CRS()
		checkSameCells(t, "after CRS", plain, placed, order, cols)
	})
}

// permuteRows returns the rows of m (row-major, cols wide) in order.
func permuteRows(m []int16, order []int, cols int) []int16 {
	out := make([]int16, 0, len(m))
	for _, r := range order {
		out = append(out, m[r*cols:(r+1)*cols]...)
	}
	return out
}

// checkSameCells compares every slice cell of every set: crossbar row k of
// placed against matrix row order[k] of plain.
func checkSameCells(t *rapid.T, when string, plain, placed *Unit, order []int, cols int) {
	ps, qs := plain.Counters(), placed.Counters()
	for s := range ps {
		a, b := setOf(plain, ps[s].Role), setOf(placed, qs[s].Role)
		for i := range a.Config().Plan.Slices {
			for k, r := range order {
				for c := range cols {
					if va, vb := a.Cell(i, r, c), b.Cell(i, k, c); va != vb {
						t.Fatalf("%s: %s set slice %d, matrix row %d column %d: %d in matrix order, %d in row order", when, ps[s].Role, i, r, c, va, vb)
					}
				}
			}
		}
	}
}

func setOf(u *Unit, role string) *Set {
	switch role {
	case RoleForward, RoleRead, RoleInplace:
		return u.Forward()
	case RoleBackward:
		return u.Backward()
	}
	return u.Update()
}

// TestRowOrderMatters shows the test above is not vacuous: with stuck cells,
// a unit fed the rows in another order without saying so meets other
// devices, and a row order that is not a permutation is refused.
func TestRowOrderMatters(t *testing.T) {
	cfg := DefaultUnitConfig()
	cfg.Size = Size{Rows: 32, Cols: 32}
	cfg.Seed = 5
	cfg.Device = device.Config{StuckLow: 0.05, StuckHigh: 0.05}
	const rows, cols = 8, 8
	order := []int{7, 6, 5, 4, 3, 2, 1, 0}
	m := rng.New(1).Int16s(rows*cols, -1<<11, 1<<11)
	plain, err := NewUnit(cfg, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	unsaid, err := NewUnit(cfg, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Program(m); err != nil {
		t.Fatal(err)
	}
	if err := unsaid.Program(permuteRows(m, order, cols)); err != nil {
		t.Fatal(err)
	}
	differ := 0
	for k, r := range order {
		for c := range cols {
			if plain.Update().Accumulator(r, c) != unsaid.Update().Accumulator(k, c) {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Fatal("reordered rows met the same stuck cells without a row order")
	}
	for _, bad := range [][]int{{0, 1}, {0, 1, 2, 3, 4, 5, 6, 6}, {0, 1, 2, 3, 4, 5, 6, 8}} {
		cfg.RowOrder = bad
		if _, err := NewUnit(cfg, rows, cols); err == nil || !strings.Contains(err.Error(), "row order") {
			t.Errorf("row order %v: got %v, want a row order error", bad, err)
		}
	}
}
