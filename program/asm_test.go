package program_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
)

// fataler is what testing.TB and rapid.T share.
type fataler interface {
	Fatalf(format string, args ...any)
}

// disasmAsm disassembles p, assembles the text with defaults that differ
// from p in every way, and returns the encoded result and the text.
func disasmAsm(t fataler, p *program.Program) ([]byte, string, error) {
	var text bytes.Buffer
	if err := program.Disassemble(&text, p); err != nil {
		t.Fatalf("disassemble: %v", err)
	}
	other := isa.DefaultArch()
	other.Nodes = 3
	back, err := program.Assemble("round.s", text.Bytes(), program.AsmDefaults{Arch: other, Meta: program.Meta{Model: "from the file name", Options: map[string]string{"source": "round.s"}}})
	if err != nil {
		return nil, text.String(), err
	}
	b, err := program.Encode(back)
	if err != nil {
		t.Fatalf("encode the assembled program: %v", err)
	}
	return b, text.String(), nil
}

// asm(disasm(p)) is p, byte for byte: architecture, metadata, code and
// weight images.
func TestDisassembleAssembleIsByteIdentical(t *testing.T) {
	check := func(t fataler, p *program.Program) {
		want, err := program.Encode(p)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		got, text, err := disasmAsm(t, p)
		if err != nil {
			t.Fatalf("the disassembly does not assemble:\n%v\n%s", err, text)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("asm(disasm(p)) differs from p (%d bytes, want %d):\n%s", len(got), len(want), text)
		}
	}
	t.Run("sample", func(t *testing.T) { check(t, sample(t)) })
	t.Run("random", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { check(t, genProgram().Draw(t, "program")) })
	})
}

// The text of the directives, as docs/isa.md shows them.
func TestDisassembleText(t *testing.T) {
	a := isa.DefaultArch()
	code, err := isa.Assemble(a, "t.s", []byte(".tile 0\n\thalt\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := &program.Program{Arch: a, Code: code,
		Weights: []program.Weights{{Tile: 0, Core: 1, Unit: 1, Rows: 2, Cols: 3, Codes: []int16{1, 2, 3, -4, -5, -6}, Eta: -0.01},
			{Tile: 1, Core: 0, Unit: 0, Rows: 2, Cols: 1, Codes: []int16{7, 8}, Eta: -0.01, Origin: &program.Origin{Layer: 2, Block: 3, Rows: []int{1, 0}}}},
		Meta: program.Meta{Model: "mlp \"small\"", Options: map[string]string{"batch": "4", "variant": "accumulate"}}}
	var b bytes.Buffer
	if err := program.Disassemble(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `.arch nodes=1, tiles-per-node=168, cores=8, units=2, xbar=128, registers=2048, shared=32768, tile-imem=2048, core-imem=512
.model "mlp \"small\""
.option "batch", "4"
.option "variant", "accumulate"

.tile 0
	halt

.weights tile=0, core=1, unit=1, rows=2, cols=3, eta=-0.01
.codes 1, 2, 3
.codes -4, -5, -6

.weights tile=1, core=0, unit=0, rows=2, cols=1, eta=-0.01, layer=2, block=3
.order 1, 0
.codes 7
.codes 8
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// A source without container directives takes the defaults; one with
// metadata carries all of it.
func TestAssembleDefaults(t *testing.T) {
	def := program.AsmDefaults{Arch: isa.DefaultArch(), Meta: program.Meta{Model: "file", Options: map[string]string{"source": "file.s"}}}
	p, err := program.Assemble("file.s", []byte(".tile 0\n\thalt\n"), def)
	if err != nil || p.Meta.Model != "file" || p.Meta.Options["source"] != "file.s" || p.Arch != def.Arch {
		t.Errorf("no directives: %v, %+v", err, p)
	}
	p, err = program.Assemble("file.s", []byte(".option \"k\", \"v\"\n.tile 0\n\thalt\n"), def)
	if err != nil || p.Meta.Model != "file" || len(p.Meta.Options) != 1 || p.Meta.Options["k"] != "v" {
		t.Errorf("options only: %v, %+v", err, p)
	}
}

func TestAssembleErrors(t *testing.T) {
	arch := ".arch nodes=1, tiles-per-node=168, cores=8, units=2, xbar=128, registers=2048, shared=32768, tile-imem=2048, core-imem=512\n"
	fixed := program.AsmDefaults{Arch: isa.DefaultArch(), ArchFixed: true}
	fixed.Arch.Nodes = 2
	cases := []struct {
		name, src string
		def       program.AsmDefaults
		want      []string
	}{
		// An empty or comment-only file once became a program of no tiles
		// that "completed".
		{"empty file", "", program.AsmDefaults{Arch: isa.DefaultArch()}, []string{"x.s:1:1: nothing to assemble: the file has no .tile section and no container directive"}},
		{"comments only", "# a program\n\n; nothing else\n", program.AsmDefaults{Arch: isa.DefaultArch()}, []string{"x.s:1:1: nothing to assemble"}},
		{"constants only", ".const N = 4\n", program.AsmDefaults{Arch: isa.DefaultArch()}, []string{"x.s:1:1: nothing to assemble"}},
		{"arch missing a value", ".arch nodes=1\n.tile 0\n\thalt\n", program.AsmDefaults{}, []string{"x.s:1:1: .arch needs tiles-per-node, cores, units"}},
		{"arch out of range", strings.Replace(arch, "xbar=128", "xbar=7", 1) + ".tile 0\n\thalt\n", program.AsmDefaults{}, []string{"x.s:1:1: arch: CrossbarSize = 7 is out of range 32..512"}},
		{"arch twice", arch + arch, program.AsmDefaults{}, []string{"x.s:2:1: .arch is already given at line 1"}},
		{"arch against flags", arch + ".tile 0\n\thalt\n", fixed, []string{"x.s:1:1: .arch sets nodes=1 where the command line gives 2; give the architecture in one place"}},
		{"model against flags", ".model \"a\"\n.tile 0\n\thalt\n", program.AsmDefaults{Arch: isa.DefaultArch(), Meta: program.Meta{Model: "b"}, ModelFixed: true},
			[]string{`x.s:1:1: .model names "a" where the command line gives "b"; give the name in one place`}},
		{"arch not a number", ".arch nodes=one\n", program.AsmDefaults{}, []string{`x.s:1:7: want a whole number in 0..4294967295, got "one"`}},
		{"model unquoted", ".model mlp\n", program.AsmDefaults{}, []string{`x.s:1:8: want a quoted string, e.g. .model "mlp"`}},
		{"model unterminated", ".model \"mlp\n", program.AsmDefaults{}, []string{"x.s:1:8: unterminated or malformed string"}},
		{"model invalid UTF-8", ".model \"\\xff\"\n", program.AsmDefaults{}, []string{"x.s:1:8: the string is not valid UTF-8"}},
		{"option twice", ".option \"a\", \"1\"\n.option \"a\", \"2\"\n", program.AsmDefaults{}, []string{`x.s:2:1: option "a" is already given at line 1`}},
		{"option empty key", ".option \"\", \"1\"\n", program.AsmDefaults{}, []string{"x.s:1:9: an option key must not be empty"}},
		{"codes without weights", ".codes 1, 2\n", program.AsmDefaults{}, []string{"x.s:1:1: .codes needs a .weights line before it"}},
		{"too few codes", ".tile 0\n\thalt\n.weights tile=0, core=0, unit=0, rows=2, cols=2, eta=0\n.codes 1, 2, 3\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{"x.s:3:1: .weights: 3 codes for a 2x2 image; want 4"}},
		{"code out of range", ".weights tile=0, core=0, unit=0, rows=1, cols=1, eta=0\n.codes 40000\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{`x.s:2:8: want a whole number in -32768..32767, got "40000"`}},
		{"eta not finite", ".weights tile=0, core=0, unit=0, rows=1, cols=1, eta=NaN\n.codes 1\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{`x.s:1:50: eta: want a finite number, got "NaN"`}},
		{"unit beyond the arch", ".weights tile=0, core=0, unit=5, rows=1, cols=1, eta=0\n.codes 1\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{"x.s:1:1: .weights: matrix unit 5 does not exist"}},
		{"huge image", ".weights tile=0, core=0, unit=0, rows=4294836226, cols=2147549185, eta=0\n.codes 1\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{"x.s:1:1: .weights: shape 4294836226x2147549185 does not fit a 128x128 crossbar"}},
		{"weights out of order", ".weights tile=0, core=0, unit=1, rows=1, cols=1, eta=0\n.codes 1\n.weights tile=0, core=0, unit=0, rows=1, cols=1, eta=0\n.codes 1\n",
			program.AsmDefaults{Arch: isa.DefaultArch()}, []string{"x.s:3:1: .weights: comes after tile 0 core 0 unit 1"}},
		{"unknown weights operand", ".weights tile=0, core=0, unit=0, rows=1, cols=1, eta=0, gain=2\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{`x.s:1:57: .weights has no operand "gain"`}},
		{"origin half given", ".weights tile=0, core=0, unit=0, rows=1, cols=1, eta=0, layer=2\n.codes 1\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{"x.s:1:1: .weights gives one of layer and block: an origin needs both"}},
		{"order without origin", ".weights tile=0, core=0, unit=0, rows=2, cols=1, eta=0\n.order 1, 0\n.codes 1, 2\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{"x.s:2:1: .order needs a .weights line with layer= and block= before it"}},
		{"order not a permutation", ".weights tile=0, core=0, unit=0, rows=2, cols=1, eta=0, layer=0, block=0\n.order 1, 1\n.codes 1, 2\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{"x.s:1:1: .weights: origin: crossbar row 1 holds block row 1, which is out of 0..1 or held twice"}},
		{"order too short", ".weights tile=0, core=0, unit=0, rows=2, cols=1, eta=0, layer=0, block=0\n.order 1\n.codes 1, 2\n", program.AsmDefaults{Arch: isa.DefaultArch()},
			[]string{"x.s:1:1: .weights: origin: the row order lists 1 rows, the image has 2"}},
		{"missing comma", ".option \"a\" \"b\"\n", program.AsmDefaults{}, []string{`x.s:1:13: unexpected "\"": separate operands with commas`}},
		{"code errors keep their place", ".model \"m\"\n.tile 0\n\tjmp nowhere\n", program.AsmDefaults{Arch: isa.DefaultArch()}, []string{"x.s:3:2: jmp is a core instruction"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := program.Assemble("x.s", []byte(c.src), c.def)
			if err == nil {
				t.Fatal("no error")
			}
			if _, ok := err.(isa.ErrorList); !ok {
				t.Errorf("error %T, want an isa.ErrorList", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// docs/isa.md describes every container directive.
func TestDirectivesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/isa.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range program.Directives {
		if !bytes.Contains(doc, []byte("`"+d+" ")) {
			t.Errorf("docs/isa.md does not describe %s", d)
		}
	}
}

func FuzzAssembleContainer(f *testing.F) {
	var text bytes.Buffer
	if err := program.Disassemble(&text, smallProgram(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(text.String())
	f.Add(".model \"m\"\n.option \"a\", \"b\" # c\n.tile 0\n\thalt\n.weights tile=0, core=0, unit=0, rows=1, cols=2, eta=-0.5\n.codes 1, -1\n")
	f.Add(".tile 0\n\thalt\n.weights tile=0, core=0, unit=0, rows=2, cols=1, eta=-0.5, layer=3, block=1\n.order 1, 0\n.codes 1, -1\n")
	f.Add("")
	f.Add(".arch nodes=1\n")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := program.Assemble("f.s", []byte(src), program.AsmDefaults{Arch: isa.DefaultArch()})
		if err != nil {
			if _, ok := err.(isa.ErrorList); !ok {
				t.Fatalf("error %T without a position: %v", err, err)
			}
			return
		}
		// What assembles is a valid program that survives a round trip.
		want, err := program.Encode(p)
		if err != nil {
			t.Fatalf("assembled an invalid program: %v", err)
		}
		got, text, err := disasmAsm(t, p)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("round trip failed (%v):\n%s", err, text)
		}
	})
}
