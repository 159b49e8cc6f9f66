// Package isatest generates random valid architectures, instructions and
// code for property tests of isa and of the packages built on it. It draws
// every operand from the instruction table, so a new instruction is tested
// as soon as its row exists.
package isatest

import (
	"slices"

	"pgregory.net/rapid"

	"github.com/panther-xbar/panther/isa"
)

// Arch draws a valid architecture, small enough that programs for it stay
// small, but spanning the parameter ranges that change operand validity.
func Arch() *rapid.Generator[isa.Arch] {
	return rapid.Custom(func(t *rapid.T) isa.Arch {
		a := isa.Arch{
			Nodes:        rapid.IntRange(1, 4).Draw(t, "nodes"),
			TilesPerNode: rapid.IntRange(1, 168).Draw(t, "tilesPerNode"),
			CoresPerTile: rapid.IntRange(1, 8).Draw(t, "coresPerTile"),
			MatrixUnits:  rapid.IntRange(1, isa.MaxMatrixUnits).Draw(t, "matrixUnits"),
			CrossbarSize: rapid.IntRange(32, 512).Draw(t, "crossbarSize"),
			SharedWords:  rapid.IntRange(1, 1<<16).Draw(t, "sharedWords"),
			TileInstMem:  rapid.IntRange(1, 2048).Draw(t, "tileInstMem"),
			CoreInstMem:  rapid.IntRange(1, 1<<16).Draw(t, "coreInstMem"),
		}
		a.RegisterWords = rapid.IntRange(1, min(4096, 1<<16-a.DataBase())).Draw(t, "registerWords")
		return a
	})
}

// Inst draws a valid instruction that runs on proc.
func Inst(a isa.Arch, proc isa.Proc) *rapid.Generator[isa.Inst] {
	var defs []*isa.Def
	for i := range isa.Defs() {
		if d := &isa.Defs()[i]; d.Proc == proc {
			defs = append(defs, d)
		}
	}
	return rapid.Custom(func(t *rapid.T) isa.Inst {
		d := rapid.SampledFrom(defs).Draw(t, "op")
		// Each field is drawn from its range; a few combinations break a rule
		// between fields (alu sig with an r2, mvm shift >= seg), so draw again.
		// At least a third of the draws are valid for every row.
		for try := 0; ; try++ {
			in := isa.Inst{Op: d.Op}
			for i := range d.Fields {
				f := &d.Fields[i]
				lo, hi := f.Range(a)
				f.Set(&in, rapid.IntRange(lo, hi).Draw(t, f.Name))
			}
			if isa.Check(a, in) == nil {
				return in
			}
			if try == 100 {
				t.Fatalf("isatest: no valid %s found in 100 draws", d.Name)
			}
		}
	})
}

// Code draws valid code: a few tiles, each with a program, a few cores with
// programs, and initial shared-memory segments.
func Code(a isa.Arch) *rapid.Generator[isa.Code] {
	return rapid.Custom(func(t *rapid.T) isa.Code {
		var c isa.Code
		for _, tile := range distinctSorted(t, "tiles", a.Tiles(), 3) {
			tc := isa.TileCode{Tile: tile, Insts: program(t, a, isa.OnTile, a.TileInstMem)}
			for _, core := range distinctSorted(t, "cores", a.CoresPerTile, 3) {
				tc.Cores = append(tc.Cores, isa.CoreCode{Core: core, Insts: program(t, a, isa.OnCore, a.CoreInstMem)})
			}
			tc.Data = segments(t, a)
			c.Tiles = append(c.Tiles, tc)
		}
		return c
	})
}

// distinctSorted draws up to most distinct values in 0..n-1, in increasing order.
func distinctSorted(t *rapid.T, label string, n, most int) []int {
	v := rapid.SliceOfNDistinct(rapid.IntRange(0, n-1), 0, min(n, most), rapid.ID[int]).Draw(t, label)
	slices.Sort(v)
	return v
}

// program draws up to 8 instructions (nil for none, as the readers return).
func program(t *rapid.T, a isa.Arch, proc isa.Proc, capacity int) []isa.Inst {
	insts := rapid.SliceOfN(Inst(a, proc), 0, min(8, capacity)).Draw(t, "insts")
	if len(insts) == 0 {
		return nil
	}
	return insts
}

// segments draws up to three increasing, non-overlapping data segments.
func segments(t *rapid.T, a isa.Arch) []isa.Segment {
	var segs []isa.Segment
	next := 0
	for range rapid.IntRange(0, 3).Draw(t, "segments") {
		addr := next + rapid.IntRange(0, 100).Draw(t, "gap")
		if addr >= a.SharedWords {
			break
		}
		n := rapid.IntRange(1, min(40, a.SharedWords-addr)).Draw(t, "words")
		segs = append(segs, isa.Segment{Addr: addr, Words: rapid.SliceOfN(rapid.Int16(), n, n).Draw(t, "data")})
		next = addr + n
	}
	return segs
}
