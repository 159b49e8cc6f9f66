package program

import "github.com/panther-xbar/panther/isa"

// Summary is what `panther inspect` shows: the shape of a program without
// its contents.
type Summary struct {
	FormatVersion int               `json:"format_version"`
	Model         string            `json:"model"`
	Options       map[string]string `json:"options,omitempty"`
	Arch          isa.Arch          `json:"arch"`
	Tiles         []TileSummary     `json:"tiles"`
	Insts         UnitCounts        `json:"instructions"` // over the whole program
	Weights       []WeightSummary   `json:"weights"`
}

// UnitCounts counts instructions by the unit that executes them.
type UnitCounts map[string]int

// TileSummary describes one tile.
type TileSummary struct {
	Tile      int           `json:"tile"`
	Node      int           `json:"node"`
	Insts     UnitCounts    `json:"instructions"` // the tile control unit's program
	Cores     []CoreSummary `json:"cores"`
	Segments  int           `json:"data_segments"`
	DataWords int           `json:"data_words"`
}

// CoreSummary describes one core's program.
type CoreSummary struct {
	Core  int        `json:"core"`
	Insts UnitCounts `json:"instructions"`
}

// WeightSummary describes one weight image.
type WeightSummary struct {
	Tile int     `json:"tile"`
	Core int     `json:"core"`
	Unit int     `json:"unit"`
	Rows int     `json:"rows"`
	Cols int     `json:"cols"`
	Eta  float64 `json:"eta"`
}

// Total is the number of instructions counted.
func (c UnitCounts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Summarize describes p.
func (p *Program) Summarize() Summary {
	s := Summary{
		FormatVersion: Version,
		Model:         p.Meta.Model,
		Options:       p.Meta.Options,
		Arch:          p.Arch,
		Insts:         UnitCounts{},
		Tiles:         []TileSummary{},
		Weights:       []WeightSummary{},
	}
	count := func(insts []isa.Inst) UnitCounts {
		c := UnitCounts{}
		for _, in := range insts {
			unit := isa.Lookup(in.Op).Unit.String() // a valid program has only known opcodes
			c[unit]++
			s.Insts[unit]++
		}
		return c
	}
	for _, t := range p.Code.Tiles {
		ts := TileSummary{Tile: t.Tile, Node: t.Tile / p.Arch.TilesPerNode, Insts: count(t.Insts), Cores: []CoreSummary{}, Segments: len(t.Data)}
		for _, c := range t.Cores {
			ts.Cores = append(ts.Cores, CoreSummary{Core: c.Core, Insts: count(c.Insts)})
		}
		for _, seg := range t.Data {
			ts.DataWords += len(seg.Words)
		}
		s.Tiles = append(s.Tiles, ts)
	}
	for _, w := range p.Weights {
		s.Weights = append(s.Weights, WeightSummary{Tile: w.Tile, Core: w.Core, Unit: w.Unit, Rows: w.Rows, Cols: w.Cols, Eta: w.Eta})
	}
	return s
}
