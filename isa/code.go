package isa

import "fmt"

// Code is what an assembly file defines: for each tile, the program of its
// control unit and of each of its cores, and the initial contents of its
// shared memory. Lists are in increasing order of tile, core and address;
// Validate insists, so that one program has one representation.
type Code struct {
	Tiles []TileCode
}

// TileCode is the code and initial shared memory of one tile.
type TileCode struct {
	Tile  int        // global tile number (node = Tile / TilesPerNode)
	Insts []Inst     // the tile control unit's program
	Cores []CoreCode // cores that have a program
	Data  []Segment  // initial shared-memory words, not overlapping
}

// CoreCode is the program of one core.
type CoreCode struct {
	Core  int
	Insts []Inst
}

// Segment is a run of initial shared-memory words starting at Addr.
type Segment struct {
	Addr  int
	Words []int16
}

// Validate checks a and every part of c against a: tile and core numbers,
// their order, program sizes, each instruction (Check) and where it runs,
// and that data segments lie in shared memory without overlapping. Errors
// name the tile, core and instruction index or segment.
func (c *Code) Validate(a Arch) error {
	if err := a.Validate(); err != nil {
		return err
	}
	prevTile := -1
	for _, t := range c.Tiles {
		if t.Tile < 0 || t.Tile >= a.Tiles() {
			return fmt.Errorf("tile %d does not exist: the architecture has %d tiles (0..%d)", t.Tile, a.Tiles(), a.Tiles()-1)
		}
		if t.Tile <= prevTile {
			return fmt.Errorf("tile %d comes after tile %d: tiles must be listed once each, in increasing order", t.Tile, prevTile)
		}
		prevTile = t.Tile
		if err := checkProgram(a, OnTile, t.Insts); err != nil {
			return fmt.Errorf("tile %d: %w", t.Tile, err)
		}
		prevCore := -1
		for _, c := range t.Cores {
			if c.Core < 0 || c.Core >= a.CoresPerTile {
				return fmt.Errorf("tile %d core %d does not exist: a tile has %d cores (0..%d)", t.Tile, c.Core, a.CoresPerTile, a.CoresPerTile-1)
			}
			if c.Core <= prevCore {
				return fmt.Errorf("tile %d core %d comes after core %d: cores must be listed once each, in increasing order", t.Tile, c.Core, prevCore)
			}
			prevCore = c.Core
			if err := checkProgram(a, OnCore, c.Insts); err != nil {
				return fmt.Errorf("tile %d core %d: %w", t.Tile, c.Core, err)
			}
		}
		if err := checkSegments(a, t.Data); err != nil {
			return fmt.Errorf("tile %d: %w", t.Tile, err)
		}
	}
	return nil
}

// checkProgram checks the program of one processor: that it fits the
// instruction memory and that every instruction is valid and runs on proc.
func checkProgram(a Arch, proc Proc, insts []Inst) error {
	capacity := a.CoreInstMem
	if proc == OnTile {
		capacity = a.TileInstMem
	}
	if len(insts) > capacity {
		return fmt.Errorf("%d instructions do not fit the %s instruction memory of %d", len(insts), proc, capacity)
	}
	for i, in := range insts {
		if err := Check(a, in); err != nil {
			return fmt.Errorf("instruction %d: %w", i, err)
		}
		if err := checkPlacement(in.Op, proc); err != nil {
			return fmt.Errorf("instruction %d: %w", i, err)
		}
	}
	return nil
}

func checkPlacement(op Opcode, proc Proc) error {
	if d := Lookup(op); d != nil && d.Proc != proc {
		return fmt.Errorf("%s is a %s instruction and cannot run on a %s", d.Name, d.Proc, proc)
	}
	return nil
}

func checkSegments(a Arch, segs []Segment) error {
	prevEnd := 0
	for i, s := range segs {
		end := s.Addr + len(s.Words)
		switch {
		case len(s.Words) == 0:
			return fmt.Errorf("data segment %d at %d is empty", i, s.Addr)
		case s.Addr < 0 || end > a.SharedWords:
			return fmt.Errorf("data segment %d at %d..%d lies outside shared memory (0..%d)", i, s.Addr, end-1, a.SharedWords-1)
		case i > 0 && s.Addr < prevEnd:
			return fmt.Errorf("data segment %d at %d..%d starts before the end of segment %d (%d): segments must be in increasing order and not overlap", i, s.Addr, end-1, i-1, prevEnd-1)
		}
		prevEnd = end
	}
	return nil
}
