package isa_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/isa/isatest"
)

const samplePath = "testdata/train_sample.s"

// fataler is what the helpers need of *testing.T, *testing.B and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
	Fatal(args ...any)
}

func assembleFile(t fataler, a isa.Arch, path string) isa.Code {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	code, err := isa.Assemble(a, path, src)
	if err != nil {
		t.Fatalf("assembling %s:\n%v", path, err)
	}
	return code
}

func disassemble(t fataler, a isa.Arch, code isa.Code) string {
	t.Helper()
	var b strings.Builder
	if err := isa.Disassemble(&b, a, code); err != nil {
		t.Fatalf("disassemble: %v", err)
	}
	return b.String()
}

// hexDump lists every instruction word of code with where it sits.
func hexDump(t fataler, a isa.Arch, code isa.Code) string {
	var b strings.Builder
	dump := func(where string, insts []isa.Inst) {
		for i, in := range insts {
			w, err := isa.Encode(a, in)
			if err != nil {
				t.Fatalf("%s instruction %d: %v", where, i, err)
			}
			fmt.Fprintf(&b, "%-14s %3d  %x  %s\n", where, i, w, isa.Format(a, in))
		}
	}
	for _, tile := range code.Tiles {
		dump(fmt.Sprintf("tile %d", tile.Tile), tile.Insts)
		for _, c := range tile.Cores {
			dump(fmt.Sprintf("tile %d core %d", tile.Tile, c.Core), c.Insts)
		}
	}
	return b.String()
}

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := atomicfile.WriteFile(path, []byte(got)); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("%s differs (-golden +got); rerun with -update if the change is intended:\n%s", path, diff)
	}
}

func TestSampleGolden(t *testing.T) {
	a := isa.DefaultArch()
	code := assembleFile(t, a, samplePath)
	dis := disassemble(t, a, code)
	golden(t, "testdata/train_sample.dis.golden", dis)
	golden(t, "testdata/train_sample.hex.golden", hexDump(t, a, code))

	again, err := isa.Assemble(a, "train_sample.dis.golden", []byte(dis))
	if err != nil {
		t.Fatalf("the disassembly does not assemble:\n%v", err)
	}
	if diff := cmp.Diff(hexDump(t, a, code), hexDump(t, a, again)); diff != "" {
		t.Errorf("disassemble -> assemble changed the words:\n%s", diff)
	}
}

// The sample covers what it claims to: every instruction, every non-empty
// operation set of a single unit, mixed-unit masks and convolution strides.
func TestSampleCoverage(t *testing.T) {
	a := isa.DefaultArch()
	code := assembleFile(t, a, samplePath)
	ops := map[isa.Opcode]bool{}
	alu := map[isa.AluOp]bool{}
	intOps := map[isa.IntOp]bool{}
	singleUnit := map[isa.Mask]bool{}
	mixed, strided := false, false
	visit := func(insts []isa.Inst) {
		for _, in := range insts {
			ops[in.Op] = true
			switch in.Op {
			case isa.OpAlu, isa.OpAlui:
				alu[in.Alu] = true
			case isa.OpAluInt:
				intOps[in.Int] = true
			case isa.OpMvm:
				u0, u1 := in.Mask&7, in.Mask>>3&7
				switch {
				case u0 != 0 && u1 != 0:
					mixed = true
				default:
					singleUnit[u0|u1] = true
				}
				strided = strided || in.Shift > 0
			}
		}
	}
	for _, tile := range code.Tiles {
		visit(tile.Insts)
		for _, c := range tile.Cores {
			visit(c.Insts)
		}
	}
	for _, d := range isa.Defs() {
		if !ops[d.Op] {
			t.Errorf("the sample has no %s", d.Name)
		}
	}
	for op := isa.AluAdd; op <= isa.AluRandCmp; op++ {
		if !alu[op] {
			t.Errorf("the sample has no vector operation %s", op)
		}
	}
	for op := isa.IntAdd; op <= isa.IntMod; op++ {
		if !intOps[op] {
			t.Errorf("the sample has no integer operation %s", op)
		}
	}
	for m := isa.Mask(1); m < 8; m++ {
		if !singleUnit[m] {
			t.Errorf("the sample has no mvm running operations %03b on one unit alone", m)
		}
	}
	if !mixed || !strided {
		t.Errorf("the sample lacks a mixed-unit mask (%v) or a strided mvm (%v)", mixed, strided)
	}
}

func TestDisassembleAssembleRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := isatest.Arch().Draw(t, "arch")
		code := isatest.Code(a).Draw(t, "code")
		text := disassemble(t, a, code)
		again, err := isa.Assemble(a, "roundtrip.s", []byte(text))
		if err != nil {
			t.Fatalf("disassembly does not assemble:\n%v\n%s", err, text)
		}
		if diff := cmp.Diff(hexDump(t, a, code), hexDump(t, a, again)); diff != "" {
			t.Fatalf("disassemble -> assemble changed the words:\n%s\n%s", diff, text)
		}
		if diff := cmp.Diff(code, again); diff != "" {
			t.Fatalf("disassemble -> assemble changed the code (-want +got):\n%s", diff)
		}
	})
}

func TestAssembleErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown mnemonic", ".tile 0\n.core 0\n\tmvn u0:mvm\n",
			[]string{`bad.s:3:2: unknown instruction "mvn"; did you mean mvm?`}},
		{"unknown alu op", ".tile 0\n.core 0\n\talu sqrt r0, r1, 4\n",
			[]string{`bad.s:3:6: unknown alu operation "sqrt"; operations: add, sub,`}},
		{"alui without immediate form", ".tile 0\n.core 0\n\talui relu r0, r1, 3, 4\n",
			[]string{"bad.s:3:7: alui op: relu has no immediate form"}},
		{"unknown directive", ".tiles 0\n", []string{"bad.s:1:1: unknown directive .tiles; did you mean .tile?"}},
		{"out-of-range field", ".tile 0\n.core 0\n\tld r0, r1, 17, 1\n",
			[]string{"bad.s:3:13: ld width: 17 is out of range 1..16"}},
		{"out-of-range register", ".tile 0\n.core 0\n\tld r0, r4000, 1, 1\n",
			[]string{"bad.s:3:9: r4000 is beyond data memory: it has 2048 words (r0..r2047)"}},
		{"crossbar buffer where a data register is needed", ".tile 0\n.core 0\n\tbeq xin0.mvm, r1, 0\n",
			[]string{"bad.s:3:6: beq r1: xin0.mvm is out of range r0..r2047"}},
		{"undefined label", ".tile 0\n.core 0\n\tjmp nowhere\n",
			[]string{`bad.s:3:6: undefined label nowhere in tile 0 core 0; define it with "nowhere:"`}},
		{"label of another section", ".tile 0\n.core 0\nhere:\n\thlt\n.core 1\n\tjmp here\n",
			[]string{"bad.s:6:6: undefined label here in tile 0 core 1"}},
		{"duplicate label", ".tile 0\n.core 0\nx:\n\tnop\nx:\n\thlt\n",
			[]string{"bad.s:5:1: label x is already defined in tile 0 core 0 at line 3; rename one"}},
		{"mask names a unit that does not exist", ".tile 0\n.core 0\n\tmvm u0:mvm, u2:opa\n",
			[]string{"bad.s:3:14: matrix unit u2 does not exist: a core has 2 matrix units (u0..u1)"}},
		{"crs names a unit that does not exist", ".tile 0\n.core 0\n\tcrs u5\n",
			[]string{"bad.s:3:6: matrix unit u5 does not exist"}},
		{"register of a unit that does not exist", ".tile 0\n.core 0\n\tcp xin3.mvm, r0, 1\n",
			[]string{"bad.s:3:5: xin3.mvm: matrix unit 3 does not exist"}},
		{"unit named twice", ".tile 0\n.core 0\n\tmvm u0:mvm, u0:opa\n",
			[]string{"bad.s:3:14: u0 is named twice; name each unit once with all its operations"}},
		{"unit without operations", ".tile 0\n.core 0\n\tmvm u1\n", []string{"bad.s:3:6: u1 needs its operations, e.g. u1:mvm"}},
		{"unknown crossbar operation", ".tile 0\n.core 0\n\tmvm u0:fwd\n",
			[]string{`bad.s:3:9: unknown crossbar operation "fwd" for u0; use mvm, mtvm or opa`}},
		{"mvm without mask", ".tile 0\n.core 0\n\tmvm shift=1, seg=3\n",
			[]string{"bad.s:3:6: mvm needs matrix units first, e.g. mvm u0:mvm+opa, u1:mtvm"}},
		{"stride rule", ".tile 0\n.core 0\n\tmvm u0:mvm, shift=4, seg=4\n",
			[]string{"bad.s:3:2: mvm: shift=4 must be less than seg=4"}},
		{"unknown named operand", ".tile 0\n.core 0\n\tmvm u0:mvm, stride=4\n",
			[]string{"bad.s:3:14: mvm has no operand named stride: write mvm mask, [shift=N], [seg=N]"}},
		{"missing operand", ".tile 0\n.core 0\n\tld r0, r1, 4\n",
			[]string{"bad.s:3:14: missing operand vec: write ld d1, r1, width, vec"}},
		{"too many operands", ".tile 0\n.core 0\n\talu sig r0, r1, r2, 4\n",
			[]string{"bad.s:3:22: too many operands: write alu sig d1, r1, vec"}},
		{"core instruction in a tile section", ".tile 0\n\tld r0, r1, 1, 1\n",
			[]string{"bad.s:2:2: ld is a core instruction, but this is the code of tile 0's control unit"}},
		{"tile instruction in a core", ".tile 0\n.core 2\n\thalt\n",
			[]string{"bad.s:3:2: halt is a tile instruction, but this is the code of tile 0 core 2"}},
		{"instruction outside a section", "\tnop\n", []string{"bad.s:1:2: nop is outside a section"}},
		{"section twice", ".tile 0\n.core 1\n.core 1\n", []string{"bad.s:3:1: tile 0 core 1 was already started at line 2"}},
		{"tile that does not exist", ".tile 168\n", []string{"bad.s:1:7: tile 168 does not exist: the architecture has 168 tiles (0..167)"}},
		{"core that does not exist", ".tile 0\n.core 8\n", []string{"bad.s:2:7: core 8 does not exist: a tile has 8 cores (0..7)"}},
		{"undefined constant", ".tile 0\n.core 0\n\tset r0, SIZE, 1\n", []string{"bad.s:3:10: undefined name SIZE"}},
		{"constant that looks like a register", ".const r5 = 3\n", []string{"bad.s:1:8: r5 cannot name a constant"}},
		{"constant twice", ".const A = 1\n.const A = 2\n", []string{"bad.s:2:8: constant A is already defined at line 1"}},
		{"bad character", ".tile 0 @\n", []string{`bad.s:1:9: unexpected character '@'`}},
		{"bad number", ".tile 0x\n", []string{`bad.s:1:7: bad number "0x"`}},
		{"unclosed parenthesis", ".tile (1 + 2\n", []string{"bad.s:1:7: this ( is not closed"}},
		{"word out of range", ".tile 0\n.data 0\n.word 40000\n", []string{"bad.s:3:7: .word value 40000 does not fit 16 bits"}},
		{"word without data", ".tile 0\n.word 1\n", []string{"bad.s:2:1: .word needs a .data ADDR line before it"}},
		{"data overlap", ".tile 0\n.data 0\n.word 1, 2, 3\n.data 2\n.word 4\n",
			[]string{"bad.s:4:1: data at 2..2 overlaps the data from line 2 (ending at 2)"}},
		{"data outside shared memory", ".tile 0\n.data 32767\n.word 1, 2\n",
			[]string{"bad.s:2:1: data at 32767..32768 lies outside shared memory (0..32767)"}},
		{"empty data", ".tile 0\n.data 5\n", []string{"bad.s:2:1: .data 5 has no words"}},
		{"too many instructions", ".tile 0\n.core 0\n" + strings.Repeat("\tnop\n", 513),
			[]string{"bad.s:515:2: tile 0 core 0 has more than 512 instructions"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := isa.Assemble(isa.DefaultArch(), "bad.s", []byte(c.src))
			wantError(t, err, c.want...)
		})
	}
}

func TestAssembleReportsSeveralErrors(t *testing.T) {
	src := ".tile 0\n.core 0\n\tmvn u0\n\tld r0, r1, 0, 1\n\tjmp away\n\thlt\n"
	_, err := isa.Assemble(isa.DefaultArch(), "bad.s", []byte(src))
	var list isa.ErrorList
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	for i, line := range []int{3, 4, 5} {
		if list[i].Pos.Line != line {
			t.Errorf("error %d is at line %d, want %d: %v", i, list[i].Pos.Line, line, list[i])
		}
	}

	_, err = isa.Assemble(isa.DefaultArch(), "bad.s", []byte(".tile 0\n.core 0\n"+strings.Repeat("\tfoo\n", 30)))
	if !errors.As(err, &list) || len(list) != isa.MaxErrors+1 {
		t.Fatalf("want %d errors and a note, got %v", isa.MaxErrors, err)
	}
	wantError(t, list[isa.MaxErrors], "bad.s:13:2: too many errors: 20 more not shown")
}

// Errors depend on the architecture: what is valid on a core with four
// matrix units is not on one with two.
func TestAssembleFollowsArch(t *testing.T) {
	src := []byte(".tile 0\n.core 0\n\tmvm u3:mvm\n\tcp xout3.opa, r9000, 4\n")
	a := isa.DefaultArch()
	a.MatrixUnits, a.RegisterWords = 4, 10000
	if _, err := isa.Assemble(a, "four.s", src); err != nil {
		t.Fatalf("valid on four units: %v", err)
	}
	_, err := isa.Assemble(isa.DefaultArch(), "two.s", src)
	wantError(t, err, "two.s:3:6: matrix unit u3 does not exist", "two.s:4:5: xout3.opa: matrix unit 3 does not exist")
}

var errorLine = regexp.MustCompile(`^[^\n]+:\d+:\d+: \S`)

func FuzzAssemble(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, which
	// takes long for a seed as big as the sample.
	for _, s := range []string{
		".tile 0\n.core 0\n\tmvm u0:mvm+mtvm+opa, u1:opa, shift=1, seg=2\n\tcrs u0, u1\n",
		".const A = (1 + (2 - -3))\n.tile A\n.data A\n.word A, -A\n\tsend A, 0, 16, A, 65535\n\treceive 0x10, 1, 1, 255, 1\n\thalt\n",
		".tile 0\n.core 0\nl:\tbeq r0, r1, l\n\tjmp 511\nm:\n",
		".tile 1\n.core 7\n\tld xin1.mtvm+5, r3, 16, 2 ; c\n\tst r0, xout0.opa, 2, 1, 1 # c\n\tcp r1, r2, 3\n\tset r4, -7, 1\n",
		".tile 0\n.core 0\n\talu relud r0, r1, r2, 4\n\talu sig r0, r1, 4\n\talui mul r0, r1, -41, 4\n\talu_int mod r0, r1, r2\n\tnop\n\thlt\n",
		"x: y: .tile ((((\n\talu log_softmax_d r0, r1\n#\n;;\n\t\t,,,",
	} {
		f.Add([]byte(s))
	}
	a := isa.DefaultArch()
	f.Fuzz(func(t *testing.T, src []byte) {
		code, err := isa.Assemble(a, "fuzz.s", src)
		if err != nil {
			var list isa.ErrorList
			if !errors.As(err, &list) || len(list) == 0 || len(list) > isa.MaxErrors+1 {
				t.Fatalf("error is not a list of at most %d positioned errors: %v", isa.MaxErrors, err)
			}
			for _, e := range list {
				if !errorLine.MatchString(e.Error()) {
					t.Fatalf("error without file:line:col: %q", e.Error())
				}
			}
			return
		}
		// Whatever assembles must survive a disassembly round trip.
		again, err := isa.Assemble(a, "again.s", []byte(disassemble(t, a, code)))
		if err != nil {
			t.Fatalf("disassembly does not assemble: %v", err)
		}
		if diff := cmp.Diff(code, again); diff != "" {
			t.Fatalf("round trip changed the code:\n%s", diff)
		}
	})
}

func BenchmarkAssembleSample(b *testing.B) {
	src, err := os.ReadFile(samplePath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := isa.Assemble(isa.DefaultArch(), samplePath, src); err != nil {
			b.Fatal(err)
		}
	}
}
