package arch

import (
	"fmt"

	"github.com/panther-xbar/panther/isa"
)

// isaField ties one isa.Arch parameter to its key under structure, with the
// range isa.Arch.Validate allows.
type isaField struct {
	key    string // YAML key under structure
	name   string // isa.Arch field
	lo, hi int
	get    func(*isa.Arch) int
}

var isaFields = []isaField{
	{"nodes", "Nodes", 1, 256, func(a *isa.Arch) int { return a.Nodes }},
	{"tiles_per_node", "TilesPerNode", 1, 1 << 16, func(a *isa.Arch) int { return a.TilesPerNode }},
	{"cores_per_tile", "CoresPerTile", 1, 256, func(a *isa.Arch) int { return a.CoresPerTile }},
	{"matrix_units", "MatrixUnits", 1, isa.MaxMatrixUnits, func(a *isa.Arch) int { return a.MatrixUnits }},
	{"crossbar_size", "CrossbarSize", 32, 512, func(a *isa.Arch) int { return a.CrossbarSize }},
	{"register_words", "RegisterWords", 1, 1 << 16, func(a *isa.Arch) int { return a.RegisterWords }},
	{"shared_words", "SharedWords", 1, 1 << 16, func(a *isa.Arch) int { return a.SharedWords }},
	{"tile_inst_mem", "TileInstMem", 1, 1 << 16, func(a *isa.Arch) int { return a.TileInstMem }},
	{"core_inst_mem", "CoreInstMem", 1, 1 << 16, func(a *isa.Arch) int { return a.CoreInstMem }},
}

// ISA is the part of the architecture the instruction set depends on.
func (a *Arch) ISA() isa.Arch {
	s := a.Structure
	return isa.Arch{
		Nodes:         s.Nodes,
		TilesPerNode:  s.TilesPerNode,
		CoresPerTile:  s.CoresPerTile,
		MatrixUnits:   s.MatrixUnits,
		CrossbarSize:  s.CrossbarSize,
		RegisterWords: s.RegisterWords,
		SharedWords:   s.SharedWords,
		TileInstMem:   s.TileInstMem,
		CoreInstMem:   s.CoreInstMem,
	}
}

// CheckProgram reports whether a program built for recorded can run on a:
// every parameter must be equal. The error names the first that differs.
func (a *Arch) CheckProgram(recorded isa.Arch) error {
	own := a.ISA()
	for _, f := range isaFields {
		if got, want := f.get(&recorded), f.get(&own); got != want {
			return fmt.Errorf("the program was built for %s = %d, but architecture %s has structure.%s = %d: "+
				"rebuild the program for this architecture, or run it on one with %s: %d",
				f.name, got, a.Name, f.key, want, f.key, got)
		}
	}
	return nil
}
