package isa_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/isa/isatest"
)

var update = flag.Bool("update", false, "rewrite the golden files and docs/isa.md from the current code")

// largestArch stretches every parameter that widens an operand range to the
// most the encoding allows.
func largestArch() isa.Arch {
	a := isa.Arch{Nodes: 1, TilesPerNode: 1 << 16, CoresPerTile: 256, MatrixUnits: isa.MaxMatrixUnits,
		CrossbarSize: 512, SharedWords: 1 << 16, TileInstMem: 1 << 16, CoreInstMem: 1 << 16}
	a.RegisterWords = 1<<16 - a.DataBase()
	return a
}

func TestArchValidate(t *testing.T) {
	if err := isa.DefaultArch().Validate(); err != nil {
		t.Fatalf("default arch: %v", err)
	}
	if err := largestArch().Validate(); err != nil {
		t.Fatalf("largest arch: %v", err)
	}
	a := isa.DefaultArch()
	a.MatrixUnits = 9
	wantError(t, a.Validate(), "arch: MatrixUnits = 9 is out of range 1..8")
	a = isa.DefaultArch()
	a.RegisterWords = 1 << 16
	wantError(t, a.Validate(), "register space of 67072 words", "reduce RegisterWords")
}

// Every field's valid values must fit its bits, for every architecture.
func TestFieldRangesFitTheirBits(t *testing.T) {
	for _, a := range []isa.Arch{isa.DefaultArch(), largestArch()} {
		for _, d := range isa.Defs() {
			used := 8
			for _, f := range d.Fields {
				used += f.Kind.Bits
				lo, hi := f.Range(a)
				min, max := 0, 1<<f.Kind.Bits-1
				if f.Kind.Signed {
					min, max = -1<<(f.Kind.Bits-1), 1<<(f.Kind.Bits-1)-1
				}
				if lo < min || hi > max {
					t.Errorf("%s %s: range %d..%d does not fit %d bits", d.Name, f.Name, lo, hi, f.Kind.Bits)
				}
			}
			if used > isa.WordBits {
				t.Errorf("%s: fields take %d bits, more than a word", d.Name, used)
			}
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := isatest.Arch().Draw(t, "arch")
		proc := rapid.SampledFrom([]isa.Proc{isa.OnCore, isa.OnTile}).Draw(t, "proc")
		in := isatest.Inst(a, proc).Draw(t, "inst")
		w, err := isa.Encode(a, in)
		if err != nil {
			t.Fatalf("encode %+v: %v", in, err)
		}
		got, err := isa.Decode(a, w)
		if err != nil {
			t.Fatalf("decode %x: %v", w, err)
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Fatalf("decode(encode(x)) != x (-want +got):\n%s", diff)
		}
	})
}

// Any word the decoder accepts is the encoding of what it decodes to: no
// two words mean the same instruction.
func TestDecodeIsCanonical(t *testing.T) {
	var opcodes []byte
	for _, d := range isa.Defs() {
		opcodes = append(opcodes, byte(d.Op))
	}
	rapid.Check(t, func(t *rapid.T) {
		var w isa.Word
		w[0] = rapid.SampledFrom(opcodes).Draw(t, "opcode")
		rest := rapid.SliceOfN(rapid.Byte(), len(w)-1, len(w)-1).Draw(t, "rest")
		copy(w[1:], rest)
		in, err := isa.Decode(isa.DefaultArch(), w)
		if err != nil {
			return
		}
		back, err := isa.Encode(isa.DefaultArch(), in)
		if err != nil || back != w {
			t.Fatalf("decoded %x to %+v, which encodes to %x (%v)", w, in, back, err)
		}
	})
}

func TestEncodeErrors(t *testing.T) {
	a := isa.DefaultArch()
	cases := []struct {
		in   isa.Inst
		want string
	}{
		{isa.Inst{Op: 0x7f}, "unknown opcode 0x7f"},
		{isa.Inst{Op: isa.OpLd, D1: 0, R1: a.DataBase(), Width: 17, Vec: 1}, "ld width: 17 is out of range 1..16"},
		{isa.Inst{Op: isa.OpLd, D1: 0, R1: 0, Width: 1, Vec: 1}, "ld r1: xin0.mvm is out of range r0..r2047 (addresses 1536..3583)"},
		{isa.Inst{Op: isa.OpSet, D1: a.RegisterSpace(), Vec: 1}, "set d1: 3584 is out of range xin0.mvm..r2047 (addresses 0..3583)"},
		{isa.Inst{Op: isa.OpSet, Imm: 1 << 15, Vec: 1}, "set imm: 32768 is out of range -32768..32767"},
		{isa.Inst{Op: isa.OpNop, D1: 1}, "nop has no operands, but a field is set"},
		{isa.Inst{Op: isa.OpJmp, Target: 3, Vec: 2}, "jmp: a field it does not use is set; only target may be non-zero"},
		{isa.Inst{Op: isa.OpAlu, Alu: isa.AluSig, Vec: 1, R2: 5}, "alu r2: is not used with sig and must be 0, got 5"},
		{isa.Inst{Op: isa.OpAlui, Alu: isa.AluSig, Vec: 1}, "alui op: sig has no immediate form"},
		{isa.Inst{Op: isa.OpMvm}, "mvm mask: is empty"},
		{isa.Inst{Op: isa.OpMvm, Mask: isa.MvmBit(2, isa.XbarOPA)}, "mvm mask: names matrix unit u2, but a core has 2 matrix units (u0..u1)"},
		{isa.Inst{Op: isa.OpCrs, Mask: isa.CrsBit(7)}, "crs mask: names matrix unit u7"},
		{isa.Inst{Op: isa.OpMvm, Mask: 1, Shift: 2}, "mvm: shift=2 and seg=0 go together"},
		{isa.Inst{Op: isa.OpMvm, Mask: 1, Shift: 9, Seg: 9}, "mvm: shift=9 must be less than seg=9"},
		{isa.Inst{Op: isa.OpSend, Addr: 0, Tile: 168, Width: 1, TargetAddr: 0, Vec: 1}, "send tile: 168 is out of range 0..167"},
	}
	for _, c := range cases {
		_, err := isa.Encode(a, c.in)
		wantError(t, err, c.want)
	}
}

func TestDecodeErrors(t *testing.T) {
	a := isa.DefaultArch()
	nop, _ := isa.Encode(a, isa.Inst{Op: isa.OpNop})
	reserved := nop
	reserved[15] = 1
	wantDecodeError(t, a, isa.Word{}, "unknown opcode 0x00")
	wantDecodeError(t, a, isa.Word{0xee}, "unknown opcode 0xee")
	wantDecodeError(t, a, reserved, "nop: reserved bits are set")

	// Words valid on a bigger machine are out of range on the default one.
	big := a
	big.MatrixUnits, big.RegisterWords = 4, 8192
	mvm, _ := isa.Encode(big, isa.Inst{Op: isa.OpMvm, Mask: isa.MvmBit(3, isa.XbarMVM)})
	wantDecodeError(t, a, mvm, "mvm mask: names matrix unit u3, but a core has 2 matrix units (u0..u1)")
	set, _ := isa.Encode(big, isa.Inst{Op: isa.OpSet, D1: big.DataBase() + 5000, Vec: 1})
	wantDecodeError(t, a, set, "set d1: 8072 is out of range xin0.mvm..r2047")
}

func wantDecodeError(t *testing.T, a isa.Arch, w isa.Word, want string) {
	t.Helper()
	_, err := isa.Decode(a, w)
	wantError(t, err, want)
}

func wantError(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error; want one containing %q", wants)
		return
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestMaskHelpers(t *testing.T) {
	m := isa.MvmBit(1, isa.XbarMTVM) | isa.MvmBit(0, isa.XbarOPA)
	if !m.Runs(1, isa.XbarMTVM) || !m.Runs(0, isa.XbarOPA) || m.Runs(0, isa.XbarMVM) || m.Runs(1, isa.XbarOPA) {
		t.Errorf("mask %b: Runs disagrees with the bits set", m)
	}
	if c := isa.CrsBit(0) | isa.CrsBit(3); !c.Resolves(3) || c.Resolves(1) {
		t.Errorf("mask %b: Resolves disagrees with the bits set", c)
	}
	if got := isa.Format(isa.DefaultArch(), isa.Inst{Op: isa.OpMvm, Mask: m}); got != "mvm u0:opa, u1:mtvm" {
		t.Errorf("Format = %q", got)
	}
}

func TestDocsUpToDate(t *testing.T) {
	const path = "../docs/isa.md"
	want := isa.Markdown()
	if *update {
		if err := atomicfile.WriteFile(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./isa -run TestDocsUpToDate -update)", err)
	}
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(string(got), "\n")); diff != "" {
		t.Errorf("docs/isa.md is out of date with the table; regenerate it with: go test ./isa -run TestDocsUpToDate -update\n(-generated +file):\n%s", diff)
	}
}

// The reference lists every instruction and its encoding, and its example
// assembles.
func TestDocsContent(t *testing.T) {
	doc := isa.Markdown()
	for _, d := range isa.Defs() {
		if !strings.Contains(doc, "### "+d.Name+"\n") || !strings.Contains(doc, "opcode 0x") {
			t.Errorf("docs have no entry for %s", d.Name)
		}
	}
	_, example, ok := strings.Cut(doc, "```\n")
	example, _, ok2 := strings.Cut(example, "```")
	if !ok || !ok2 {
		t.Fatal("docs have no example block")
	}
	if _, err := isa.Assemble(isa.DefaultArch(), "docs/isa.md example", []byte(example)); err != nil {
		t.Errorf("the example in docs/isa.md does not assemble:\n%v", err)
	}
}

func sampleInsts(b *testing.B) []isa.Inst {
	src, err := os.ReadFile("testdata/train_sample.s")
	if err != nil {
		b.Fatal(err)
	}
	code, err := isa.Assemble(isa.DefaultArch(), "train_sample.s", src)
	if err != nil {
		b.Fatal(err)
	}
	var insts []isa.Inst
	for _, t := range code.Tiles {
		insts = append(insts, t.Insts...)
		for _, c := range t.Cores {
			insts = append(insts, c.Insts...)
		}
	}
	return insts
}

func BenchmarkEncode(b *testing.B) {
	a, insts := isa.DefaultArch(), sampleInsts(b)
	for i := 0; b.Loop(); i++ {
		if _, err := isa.Encode(a, insts[i%len(insts)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	a, insts := isa.DefaultArch(), sampleInsts(b)
	words := make([]isa.Word, len(insts))
	for i, in := range insts {
		words[i], _ = isa.Encode(a, in)
	}
	for i := 0; b.Loop(); i++ {
		if _, err := isa.Decode(a, words[i%len(words)]); err != nil {
			b.Fatal(err)
		}
	}
}
