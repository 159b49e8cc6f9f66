// Package isa is PANTHER's instruction set: one table of instructions
// (table.go) and everything derived from it: the fixed-width binary encoding,
// operand checks, the assembler, the disassembler and docs/isa.md.
//
// It knows the architecture only through Arch, the few sizes that decide
// which operand values are valid. It knows nothing of crossbar numerics (xbar)
// or of time and energy (the simulator), and it never reads or writes program
// files (package program does).
package isa

import (
	"errors"
	"fmt"
)

// MaxMatrixUnits is the largest number of matrix units per core that the
// encoding can address: mvm carries 3 mask bits per unit and crs one.
const MaxMatrixUnits = 8

// Arch holds the architecture parameters the instruction set depends on.
// Tiles are numbered globally across nodes: tile t sits on node
// t / TilesPerNode.
type Arch struct {
	Nodes         int // nodes in the system
	TilesPerNode  int // tiles on each node
	CoresPerTile  int // cores in each tile
	MatrixUnits   int // matrix units in each core
	CrossbarSize  int // crossbar rows = columns; also the length of each crossbar buffer
	RegisterWords int // words of core data memory (the register file)
	SharedWords   int // 16-bit words of tile shared memory
	TileInstMem   int // instructions a tile's instruction memory holds
	CoreInstMem   int // instructions a core's instruction memory holds
}

// DefaultArch returns PANTHER's defaults (docs/simulator.md).
func DefaultArch() Arch {
	return Arch{
		Nodes:         1,
		TilesPerNode:  168,
		CoresPerTile:  8,
		MatrixUnits:   2,
		CrossbarSize:  128,
		RegisterWords: 2048,
		SharedWords:   32768, // 64 KB
		TileInstMem:   2048,
		CoreInstMem:   512,
	}
}

// Validate reports the first parameter outside what the architecture model
// and the encoding support, naming the field and its valid range.
func (a Arch) Validate() error {
	const fieldLimit = 1 << 16 // every address, tile and branch field is 16 bits wide
	checks := []struct {
		name    string
		v       int
		lo, hi  int
		because string
	}{
		{"Nodes", a.Nodes, 1, 256, ""},
		{"TilesPerNode", a.TilesPerNode, 1, fieldLimit, ""},
		{"CoresPerTile", a.CoresPerTile, 1, 256, ""},
		{"MatrixUnits", a.MatrixUnits, 1, MaxMatrixUnits, "the mvm mask has room for 8 units"},
		{"CrossbarSize", a.CrossbarSize, 32, 512, "crossbars are 32 to 512 lines, docs/numeric-model.md"},
		{"RegisterWords", a.RegisterWords, 1, fieldLimit, ""},
		{"SharedWords", a.SharedWords, 1, fieldLimit, "shared-memory addresses are 16 bits"},
		{"TileInstMem", a.TileInstMem, 1, fieldLimit, ""},
		{"CoreInstMem", a.CoreInstMem, 1, fieldLimit, "branch targets are 16 bits"},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.hi {
			msg := fmt.Sprintf("arch: %s = %d is out of range %d..%d", c.name, c.v, c.lo, c.hi)
			if c.because != "" {
				msg += " (" + c.because + ")"
			}
			return errors.New(msg)
		}
	}
	if t := a.Nodes * a.TilesPerNode; t > fieldLimit {
		return fmt.Errorf("arch: Nodes x TilesPerNode = %d tiles exceeds %d (tile numbers are 16 bits)", t, fieldLimit)
	}
	if s := a.RegisterSpace(); s > fieldLimit {
		return fmt.Errorf("arch: register space of %d words (6 x MatrixUnits x CrossbarSize + RegisterWords) exceeds %d (register addresses are 16 bits); reduce RegisterWords", s, fieldLimit)
	}
	return nil
}

// Tiles is the number of tiles in the whole system.
func (a Arch) Tiles() int { return a.Nodes * a.TilesPerNode }

// XbarOp names one of the three operations a matrix unit runs, and with it
// one of the unit's three input and three output buffers.
type XbarOp uint8

// The crossbar operations, in the order of their mvm mask bits.
const (
	XbarMVM  XbarOp = iota // y = M^T x: rows driven, columns read
	XbarMTVM               // y = M d: columns driven, rows read
	XbarOPA                // M += eta x d^T
)

var xbarOpNames = [...]string{"mvm", "mtvm", "opa"}

func (k XbarOp) String() string {
	if int(k) < len(xbarOpNames) {
		return xbarOpNames[k]
	}
	return fmt.Sprintf("XbarOp(%d)", uint8(k))
}

// XbarIn is the register address of the input buffer of matrix unit m for
// operation k: the MVM input, the MTVM input, or the OPA row input.
func (a Arch) XbarIn(m int, k XbarOp) int { return (3*m + int(k)) * a.CrossbarSize }

// XbarOut is the register address of the output-area buffer of matrix unit m
// for operation k: the MVM output, the MTVM output, or the OPA column input.
func (a Arch) XbarOut(m int, k XbarOp) int {
	return 3*a.MatrixUnits*a.CrossbarSize + a.XbarIn(m, k)
}

// DataBase is the register address of data-memory word 0 (register r0).
func (a Arch) DataBase() int { return 6 * a.MatrixUnits * a.CrossbarSize }

// RegisterSpace is the number of register addresses: the crossbar buffers
// followed by the data memory.
func (a Arch) RegisterSpace() int { return a.DataBase() + a.RegisterWords }
