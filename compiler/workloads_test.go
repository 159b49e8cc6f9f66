package compiler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

// The paper's workloads (SPEC section 6) compile for training.

// compileWorkload compiles net for training on a and checks the program
// against the architecture's limits (Compile's assembly does too).
func compileWorkload(t *testing.T, net *model.Network, a isa.Arch, cfg Config) (*Result, time.Duration) {
	t.Helper()
	start := time.Now()
	res, err := Compile(Model{Net: net}, a, Options{Train: cfg})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Program.Code.Validate(a); err != nil {
		t.Fatal(err)
	}
	if len(res.Units) != res.Report.MatrixUnits {
		t.Fatalf("%d crossbar tiles mapped, report says %d", len(res.Units), res.Report.MatrixUnits)
	}
	return res, took
}

func TestWorkloadMLPs(t *testing.T) {
	for _, name := range []string{"mlp-l4", "mlp-big"} {
		for _, v := range []xbar.Variant{xbar.Inplace, xbar.Accumulate} {
			t.Run(fmt.Sprintf("%s/%v", name, v), func(t *testing.T) {
				net, err := model.Preset(name)
				if err != nil {
					t.Fatal(err)
				}
				cfg := DefaultConfig()
				cfg.Variant = v
				res, took := compileWorkload(t, net, arch.Default().ISA(), cfg)
				t.Logf("%d tiles, %d matrix units, %v", len(res.Program.Code.Tiles), res.Report.MatrixUnits, took)
			})
		}
	}
}

// The paper's largest batch fits the default preset: an MLP's input has
// no pad rows, so each example takes one row slot of its input regions
// (1024 inputs x 64 examples would not fit one tile's 32K words, and do
// not need to: placement spreads the first layer's cores).
func TestWorkloadMLPBatch64(t *testing.T) {
	net, err := model.Preset("mlp-l4")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Batch, cfg.Examples = 64, 64
	a := arch.Default().ISA()
	res, _ := compileWorkload(t, net, a, cfg)
	if res.Report.Examples != 64 {
		t.Fatalf("report: %d examples, want 64", res.Report.Examples)
	}
	t.Logf("%d tiles, fullest tile %d words of %d", res.Report.Tiles, res.Report.MaxSharedWords, a.SharedWords)
}

// TestWorkloadVGGLayers compiles each VGG-16 layer of SPEC section 6 as its
// unrolled matrix: a dense layer of those dimensions, followed by a
// 10-way classifier for the loss (F is that classifier itself).
func TestWorkloadVGGLayers(t *testing.T) {
	layers := []struct {
		name      string
		rows, out int
	}{
		{"A", 4608, 512}, {"B", 2304, 256}, {"C", 2304, 512}, {"D", 512, 4096},
		{"E", 4096, 512}, {"F", 4096, 10}, {"G", 1152, 256},
	}
	for _, l := range layers {
		t.Run(l.name, func(t *testing.T) {
			src := fmt.Sprintf("name: vgg-%s\ninput: [%d]\nlayers:\n  - dense: {out: %d}\n", l.name, l.rows, l.out)
			if l.out != 10 {
				src += "  - relu\n  - dense: {out: 10}\n"
			}
			net := yamlNet(t, src+"loss: softmax_cross_entropy\n")
			res, took := compileWorkload(t, net, arch.Default().ISA(), DefaultConfig())
			t.Logf("%dx%d: %d tiles, %d matrix units, %v", l.rows, l.out, len(res.Program.Code.Tiles), res.Report.MatrixUnits, took)
		})
	}
}

// TestWorkloadVGG16 compiles the whole VGG-16 at 32 x 32 inputs for
// training, on the architecture of testdata/vgg-arch.yaml (see there why).
// docs/compiler.md records its compile time.
func TestWorkloadVGG16(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the whole VGG-16: several seconds")
	}
	net, err := model.Preset("vgg16")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := arch.Load("testdata/vgg-arch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfigFile("testdata/vgg16-train.yaml", DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	res, took := compileWorkload(t, net, ar.ISA(), cfg)
	t.Logf("%d tiles, %d matrix units, compiled in %v", len(res.Program.Code.Tiles), res.Report.MatrixUnits, took)
	if took > 30*time.Second {
		t.Errorf("compiling VGG-16 took %v; the budget is 30 s", took)
	}
	// On the preset's instruction memories the program does not fit, and
	// the compiler says where.
	ar = arch.Default()
	ar.Structure.Nodes = 2
	_, err = Compile(Model{Net: net}, ar.ISA(), Options{Train: cfg})
	if err == nil || !strings.Contains(err.Error(), "instruction memory holds") {
		t.Errorf("on the preset's instruction memories: got %v, want an instruction-memory error", err)
	}
}
