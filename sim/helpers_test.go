package sim

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
)

// preset loads a preset or fails the test.
func preset(t testing.TB, name string) *arch.Arch {
	t.Helper()
	a, err := arch.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// archFile loads an architecture from testdata.
func archFile(t testing.TB, name string) *arch.Arch {
	t.Helper()
	a, err := arch.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// assemble builds a program from an assembly file in testdata (or from
// source, when src is given) for architecture a.
func assemble(t testing.TB, a *arch.Arch, name string, src ...string) *program.Program {
	t.Helper()
	var text []byte
	if len(src) > 0 {
		text = []byte(src[0])
	} else {
		var err error
		if text, err = os.ReadFile(filepath.Join("testdata", name)); err != nil {
			t.Fatal(err)
		}
	}
	code, err := isa.Assemble(a.ISA(), name, text)
	if err != nil {
		t.Fatal(err)
	}
	return &program.Program{Arch: a.ISA(), Code: code, Meta: program.Meta{Model: name}}
}

// addData appends an initial data segment to tile's code.
func addData(t testing.TB, p *program.Program, tile, addr int, words []int16) {
	t.Helper()
	for i := range p.Code.Tiles {
		tc := &p.Code.Tiles[i]
		if tc.Tile == tile {
			tc.Data = append(tc.Data, isa.Segment{Addr: addr, Words: words})
			return
		}
	}
	t.Fatalf("tile %d has no code", tile)
}

// simulate runs p on a and fails the test on any error.
func simulate(t testing.TB, a *arch.Arch, p *program.Program, opt Options) (*Sim, *Report) {
	t.Helper()
	s, err := New(a, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

// codes draws n Q4.12 codes uniform in [-lim, lim).
func codes(src *rng.Source, n, lim int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(src.IntN(2*lim) - lim)
	}
	return out
}

// coreOf returns core c of tile t.
func (s *Sim) coreOf(t testing.TB, tile, c int) *core {
	t.Helper()
	k, err := s.core(tile, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// reg returns n registers of core from data-memory word r.
func (c *core) data(r, n int) []int16 {
	base := c.s.isa.DataBase()
	return c.regs[base+r : base+r+n]
}
