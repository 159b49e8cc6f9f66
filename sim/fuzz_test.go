package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"pgregory.net/rapid"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/isa/isatest"
	"github.com/panther-xbar/panther/program"
)

// archFor is the panther preset with the structure a program records.
func archFor(ia isa.Arch) *arch.Arch {
	a := arch.Default()
	s := &a.Structure
	s.Nodes, s.TilesPerNode, s.CoresPerTile, s.MatrixUnits = ia.Nodes, ia.TilesPerNode, ia.CoresPerTile, ia.MatrixUnits
	s.CrossbarSize, s.RegisterWords, s.SharedWords = ia.CrossbarSize, ia.RegisterWords, ia.SharedWords
	s.TileInstMem, s.CoreInstMem = ia.TileInstMem, ia.CoreInstMem
	return a
}

// runAny loads and runs p on the architecture it records and checks that
// whatever happens is an answer: a load error, or a report with no error or
// one of the run's error types.
func runAny(t interface{ Fatalf(string, ...any) }, p *program.Program) {
	s, err := New(archFor(p.Arch), p, Options{MaxCycles: 20_000})
	if err != nil {
		return
	}
	r, err := s.Run(context.Background())
	if r == nil {
		t.Fatalf("no report")
	}
	var dl *DeadlockError
	var le *LimitError
	var re *RuntimeError
	if err != nil && !errors.As(err, &dl) && !errors.As(err, &le) && !errors.As(err, &re) {
		t.Fatalf("unexpected error %v", err)
	}
	if r.Partial != (err != nil) {
		t.Fatalf("partial %v with error %v", r.Partial, err)
	}
}

// randomProgram draws a small program of valid instructions: programs that
// loop, deadlock, name missing units or run off the end are all wanted.
func randomProgram(t *rapid.T) *program.Program {
	ia := isa.Arch{
		Nodes:         rapid.IntRange(1, 2).Draw(t, "nodes"),
		TilesPerNode:  rapid.IntRange(1, 3).Draw(t, "tilesPerNode"),
		CoresPerTile:  rapid.IntRange(1, 2).Draw(t, "cores"),
		MatrixUnits:   rapid.IntRange(1, 2).Draw(t, "units"),
		CrossbarSize:  32,
		RegisterWords: rapid.IntRange(32, 256).Draw(t, "registers"),
		SharedWords:   rapid.IntRange(16, 512).Draw(t, "shared"),
		TileInstMem:   4,
		CoreInstMem:   rapid.IntRange(1, 12).Draw(t, "coreInsts"),
	}
	p := &program.Program{Arch: ia}
	for tile := range ia.Tiles() {
		if !rapid.Bool().Draw(t, "hasTile") {
			continue
		}
		tc := isa.TileCode{Tile: tile}
		tc.Insts = rapid.SliceOfN(isatest.Inst(ia, isa.OnTile), 0, ia.TileInstMem).Draw(t, "tileInsts")
		for c := range ia.CoresPerTile {
			insts := rapid.SliceOfN(isatest.Inst(ia, isa.OnCore), ia.CoreInstMem, ia.CoreInstMem).Draw(t, "coreInsts")
			tc.Cores = append(tc.Cores, isa.CoreCode{Core: c, Insts: insts})
			for u := range ia.MatrixUnits {
				if rapid.Bool().Draw(t, "hasImage") {
					rows, cols := rapid.IntRange(1, 32).Draw(t, "rows"), rapid.IntRange(1, 32).Draw(t, "cols")
					p.Weights = append(p.Weights, program.Weights{Tile: tile, Core: c, Unit: u, Rows: rows, Cols: cols,
						Codes: rapid.SliceOfN(rapid.Int16(), rows*cols, rows*cols).Draw(t, "codes"),
						Eta:   rapid.SampledFrom([]float64{0, -1.0 / 64, 0.3}).Draw(t, "eta")})
				}
			}
		}
		if n := rapid.IntRange(0, ia.SharedWords).Draw(t, "dataWords"); n > 0 {
			tc.Data = []isa.Segment{{Addr: ia.SharedWords - n, Words: rapid.SliceOfN(rapid.Int16(), n, n).Draw(t, "data")}}
		}
		p.Code.Tiles = append(p.Code.Tiles, tc)
	}
	return p
}

// Random programs, through the container format, never make the simulator
// panic or hang.
func TestRandomProgramsGiveAnAnswer(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := randomProgram(t)
		b, err := program.Encode(p)
		if err != nil {
			t.Fatalf("the generator made an invalid program: %v", err)
		}
		back, err := program.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		runAny(t, back)
	})
}

// sealEnvelope rewrites a container's length field and checksum, so that
// mutations reach the sections instead of failing the checksum.
func sealEnvelope(b []byte) []byte {
	const lengthAt, headerLen = 12, 20
	if len(b) < headerLen+4 {
		return b
	}
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(b[lengthAt:], uint64(len(b)))
	sum := crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli))
	binary.LittleEndian.PutUint32(b[len(b)-4:], sum)
	return b
}

// FuzzLoad feeds mutated containers to the loader and runs what loads.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"counters.s", "deadlock.s", "timing.s", "vector.s"} {
		a := preset(f, "panther")
		a.Structure.TilesPerNode = 4 // keep the fuzzed programs' tiles few
		p := assemble(f, a, name)
		b, err := program.Encode(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := program.Decode(sealEnvelope(b))
		if err != nil || len(p.Code.Tiles) > 16 {
			return // refused, or too large to run quickly
		}
		runAny(t, p)
	})
}
