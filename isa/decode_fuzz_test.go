package isa_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/panther-xbar/panther/isa"
)

// FuzzDecode runs the decoder and the disassembler on their own, on any
// 16 bytes and any valid architecture: they never panic; a word that
// decodes is canonical (it encodes back to itself), passes Check, and its
// disassembly assembles back to the same instruction.
func FuzzDecode(f *testing.F) {
	a := isa.DefaultArch()
	for _, in := range []isa.Inst{
		{Op: isa.OpNop},
		{Op: isa.OpSet, D1: a.DataBase(), Vec: 1},
		{Op: isa.OpMvm, Mask: isa.MvmBit(1, isa.XbarMTVM) | isa.MvmBit(0, isa.XbarOPA)},
		{Op: isa.OpSend, Addr: 128, Tile: 1, Width: 16, Vec: 8},
	} {
		w, err := isa.Encode(a, in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(w[:], uint8(a.MatrixUnits), uint16(a.CrossbarSize), uint16(a.RegisterWords))
	}
	f.Add(make([]byte, 16), uint8(1), uint16(32), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, units uint8, xbarSize, registers uint16) {
		if len(b) != len(isa.Word{}) {
			return
		}
		a := largestArch()
		a.MatrixUnits, a.CrossbarSize = int(units), int(xbarSize)
		a.RegisterWords = int(registers)
		if a.Validate() != nil {
			a = isa.DefaultArch()
		}
		w := isa.Word(b)
		in, err := isa.Decode(a, w)
		if err != nil {
			return
		}
		if err := isa.Check(a, in); err != nil {
			t.Fatalf("decoded %v, which Check refuses: %v", in, err)
		}
		again, err := isa.Encode(a, in)
		if err != nil || again != w {
			t.Fatalf("%x decodes to %v, which encodes to %x (%v)", w, in, again, err)
		}
		text := isa.Format(a, in)
		if strings.HasPrefix(text, "#") {
			t.Fatalf("a decoded instruction formats as %q", text)
		}
		// Alone in its processor's program, as the disassembler writes it.
		code := isa.Code{Tiles: []isa.TileCode{{Tile: 0}}}
		if isa.Lookup(in.Op).Proc == isa.OnTile {
			code.Tiles[0].Insts = []isa.Inst{in}
		} else {
			code.Tiles[0].Cores = []isa.CoreCode{{Core: 0, Insts: []isa.Inst{in}}}
		}
		if code.Validate(a) != nil {
			return // a branch past its one-instruction program
		}
		var src strings.Builder
		if err := isa.Disassemble(&src, a, code); err != nil {
			t.Fatal(err)
		}
		back, err := isa.Assemble(a, "fuzz.s", []byte(src.String()))
		if err != nil {
			t.Fatalf("the disassembly does not assemble:\n%v\n%s", err, src.String())
		}
		if diff := cmp.Diff(code, back); diff != "" {
			t.Fatalf("disassemble -> assemble changed the instruction:\n%s\n%s", diff, src.String())
		}
	})
}
