// Package program is PANTHER's program container: one file that holds
// everything a run starts from: the architecture it was built for, the code
// of every tile and core, the initial shared memory (inputs), the weight
// image of every matrix unit, and metadata.
//
// It uses package isa to encode and check instructions, and to assemble and
// disassemble code; it reads and writes the container directives (.arch,
// .model, .option, .weights, .order, .codes) that carry the rest of a container as
// assembly text. It knows nothing of crossbar numerics (a weight image is
// codes and an eta, not slices) or of simulation.
//
// # File format, version 2
//
// All integers are little-endian. A file is
//
//	magic    8 bytes  "PNTHPROG"
//	version  u32      2
//	length   u64      bytes in the whole file, checksum included
//	sections          ARCH, META, TILE, WGHT, each once, in this order:
//	                  tag (4 ASCII bytes), payload length u64, payload
//	checksum u32      CRC-32C (Castagnoli) of every byte before it
//
// Strings are a u32 byte count and UTF-8 bytes; lists are a u32 count and
// their items. Payloads:
//
//	ARCH  the nine isa.Arch parameters as u32, in declaration order
//	META  model name; options as a list of (key, value) in increasing key order
//	TILE  list of tiles: tile u32, tile program (list of 16-byte isa.Words),
//	      list of cores (core u32, program), list of segments (addr u32, list of i16)
//	WGHT  list of images: tile, core, unit, rows, cols as u32, eta as float64 bits (u64),
//	      origin u32 (0: none; 1: layer u32, block u32, row order as a list of
//	      u32, empty for block order), rows*cols i16 codes, row-major
//
// Lists of tiles, cores, segments and images are in increasing order, so
// one program has exactly one file.
package program

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/panther-xbar/panther/isa"
)

// Program is the content of one container file.
type Program struct {
	Arch    isa.Arch
	Code    isa.Code
	Weights []Weights // in increasing (Tile, Core, Unit) order, one per unit at most
	Meta    Meta
}

// Weights is the initial image of one matrix unit: the cell matrix M = W^T
// of the layer block it holds (rows are MVM inputs, columns MVM outputs).
// Rows and columns beyond Rows x Cols hold 0.
type Weights struct {
	Tile, Core, Unit int
	Rows, Cols       int
	Codes            []int16 // Q4.12 codes, row-major, Rows*Cols of them
	Eta              float64 // multiplier of every OPA on this unit: minus the learning rate
	// Origin says which block of a model the image holds; nil for an
	// image not compiled from a model.
	Origin *Origin
}

// Origin is where an image comes from in a model: block Block of layer
// Layer's cell matrix (its crossbar tiles numbered row-major, as the
// trainer cuts it), its rows in the order Rows (crossbar row k holds block
// row Rows[k]; nil is block order). The simulator seeds the unit and draws
// its devices by it, so a compiled program's units meet the stuck cells
// the trainer's do (docs/devices.md).
type Origin struct {
	Layer, Block int
	Rows         []int
}

// Meta says where a program came from.
type Meta struct {
	Model   string
	Options map[string]string // compile options; written in key order
}

// Validate checks the whole program against its Arch and says what is wrong
// and where: the section, then the tile, core, instruction or image.
func (p *Program) Validate() error {
	if err := p.Arch.Validate(); err != nil {
		return fmt.Errorf("ARCH: %w", err)
	}
	if err := p.Code.Validate(p.Arch); err != nil {
		return fmt.Errorf("TILE: %w", err)
	}
	for i := range p.Weights {
		if err := p.checkWeights(i); err != nil {
			w := &p.Weights[i]
			return fmt.Errorf("WGHT: image %d (tile %d core %d unit %d): %w", i, w.Tile, w.Core, w.Unit, err)
		}
	}
	if !utf8.ValidString(p.Meta.Model) {
		return fmt.Errorf("META: model name is not valid UTF-8")
	}
	for k, v := range p.Meta.Options {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("META: option %q: keys must be non-empty and keys and values valid UTF-8", k)
		}
	}
	return nil
}

func (p *Program) checkWeights(i int) error {
	a := p.Arch
	w := &p.Weights[i]
	switch {
	case w.Tile < 0 || w.Tile >= a.Tiles():
		return fmt.Errorf("tile %d does not exist (tiles are 0..%d)", w.Tile, a.Tiles()-1)
	case w.Core < 0 || w.Core >= a.CoresPerTile:
		return fmt.Errorf("core %d does not exist (cores are 0..%d)", w.Core, a.CoresPerTile-1)
	case w.Unit < 0 || w.Unit >= a.MatrixUnits:
		return fmt.Errorf("matrix unit %d does not exist (units are 0..%d, MatrixUnits = %d)", w.Unit, a.MatrixUnits-1, a.MatrixUnits)
	}
	if err := checkShape(a, w.Rows, w.Cols); err != nil {
		return err
	}
	switch {
	case len(w.Codes) != w.Rows*w.Cols:
		return fmt.Errorf("%d codes for a %dx%d image; want %d", len(w.Codes), w.Rows, w.Cols, w.Rows*w.Cols)
	case math.IsNaN(w.Eta) || math.IsInf(w.Eta, 0):
		return fmt.Errorf("eta is %v; it must be finite", w.Eta)
	}
	if err := w.Origin.check(w.Rows); err != nil {
		return err
	}
	if i > 0 {
		prev := &p.Weights[i-1]
		if !less(prev, w) {
			return fmt.Errorf("comes after tile %d core %d unit %d: images must be listed once per unit, in increasing order", prev.Tile, prev.Core, prev.Unit)
		}
	}
	return nil
}

// check accepts a nil origin, or one whose row order is empty or a
// permutation of the image's rows.
func (o *Origin) check(rows int) error {
	switch {
	case o == nil:
		return nil
	case o.Layer < 0 || o.Layer > math.MaxUint32 || o.Block < 0 || o.Block > math.MaxUint32:
		return fmt.Errorf("origin: layer %d block %d: both must lie in 0..%d", o.Layer, o.Block, uint32(math.MaxUint32))
	case o.Rows == nil:
		return nil
	}
	if len(o.Rows) != rows {
		return fmt.Errorf("origin: the row order lists %d rows, the image has %d", len(o.Rows), rows)
	}
	seen := make([]bool, rows)
	for k, r := range o.Rows {
		if r < 0 || r >= rows || seen[r] {
			return fmt.Errorf("origin: crossbar row %d holds block row %d, which is out of 0..%d or held twice: the row order must name each row once", k, r, rows-1)
		}
		seen[r] = true
	}
	return nil
}

// checkShape checks an image's rows and columns against the crossbar.
func checkShape(a isa.Arch, rows, cols int) error {
	if rows < 1 || rows > a.CrossbarSize || cols < 1 || cols > a.CrossbarSize {
		return fmt.Errorf("shape %dx%d does not fit a %dx%d crossbar", rows, cols, a.CrossbarSize, a.CrossbarSize)
	}
	return nil
}

func less(x, y *Weights) bool {
	if x.Tile != y.Tile {
		return x.Tile < y.Tile
	}
	if x.Core != y.Core {
		return x.Core < y.Core
	}
	return x.Unit < y.Unit
}
