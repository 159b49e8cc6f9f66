package compiler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

// The paper's workloads (docs/compiler.md, "The paper's workloads") compile for training.

// compileWorkload compiles net for training on a and checks the program
// against the architecture's limits (Compile's assembly does too).
func compileWorkload(t *testing.T, net *model.Network, a isa.Arch, cfg Config) *Result {
	t.Helper()
	res, err := Compile(Model{Net: net}, a, Options{Train: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Program.Code.Validate(a); err != nil {
		t.Fatal(err)
	}
	if len(res.Units) != res.Report.MatrixUnits {
		t.Fatalf("%d crossbar tiles mapped, report says %d", len(res.Units), res.Report.MatrixUnits)
	}
	return res
}

// TestWorkloadMLPs also checks the matrix units against PUMA's mapping of
// the same MLPs (64 x 128-row tiles for 1024 inputs, no tile for a bias
// alone: model.Layer.BiasOnCrossbar): 44 for 1024-256-512-512-10 and 118
// for 1024-512-1024-768-10. With every bias a crossbar row (bias:
// crossbar) each layer of 256, 512, 768 or 1024 inputs takes one more row
// tile per column tile: 55 and 137.
func TestWorkloadMLPs(t *testing.T) {
	units := map[string]map[model.BiasPlacement]int{
		"mlp-l4":  {model.BiasAuto: 44, model.BiasCrossbar: 55},
		"mlp-big": {model.BiasAuto: 118, model.BiasCrossbar: 137},
	}
	for _, name := range []string{"mlp-l4", "mlp-big"} {
		for _, v := range []xbar.Variant{xbar.Inplace, xbar.Accumulate} {
			for _, bias := range []model.BiasPlacement{model.BiasAuto, model.BiasCrossbar} {
				t.Run(fmt.Sprintf("%s/%v/%v", name, v, bias), func(t *testing.T) {
					net, err := model.Preset(name)
					if err != nil {
						t.Fatal(err)
					}
					cfg := DefaultConfig()
					cfg.Variant, cfg.Bias = v, bias
					res := compileWorkload(t, net, arch.Default().ISA(), cfg)
					t.Logf("%d tiles, %d matrix units", len(res.Program.Code.Tiles), res.Report.MatrixUnits)
					if res.Report.MatrixUnits != units[name][bias] {
						t.Fatalf("%d matrix units, want %d", res.Report.MatrixUnits, units[name][bias])
					}
				})
			}
		}
	}
}

// TestWorkloadFC1024 maps a fully connected 1024 x 1024 layer with a bias
// onto 64 matrix units, as PUMA maps it: its inputs fill 8 row tiles, and
// the bias is added in the vector unit rather than on a ninth.
func TestWorkloadFC1024(t *testing.T) {
	net := yamlNet(t, "name: fc1024\ninput: [1024]\nlayers:\n  - dense: {out: 1024}\n")
	res, err := Compile(Model{Net: net}, arch.Default().ISA(), Options{Infer: true, Data: &Dataset{Inputs: [][]int16{make([]int16, 1024)}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.MatrixUnits != 64 {
		t.Fatalf("%d matrix units, want 64", res.Report.MatrixUnits)
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
	res := compileWorkload(t, net, a, cfg)
	if res.Report.Examples != 64 {
		t.Fatalf("report: %d examples, want 64", res.Report.Examples)
	}
	t.Logf("%d tiles, fullest tile %d words of %d", res.Report.Tiles, res.Report.MaxSharedWords, a.SharedWords)
}

// TestWorkloadVGGLayers compiles each VGG-16 layer of the paper's workloads as its
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
			res := compileWorkload(t, net, arch.Default().ISA(), DefaultConfig())
			t.Logf("%dx%d: %d tiles, %d matrix units", l.rows, l.out, len(res.Program.Code.Tiles), res.Report.MatrixUnits)
		})
	}
}

// vgg16Workload is the whole VGG-16 at 32 x 32 inputs, its training
// configuration and the architecture of testdata/vgg-arch.yaml (see there
// why).
func vgg16Workload(tb testing.TB) (*model.Network, *arch.Arch, Config) {
	tb.Helper()
	net, err := model.Preset("vgg16")
	if err != nil {
		tb.Fatal(err)
	}
	ar, err := arch.Load("testdata/vgg-arch.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := ReadConfigFile("testdata/vgg16-train.yaml", DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return net, ar, cfg
}

// TestWorkloadVGG16 compiles the whole VGG-16 for training.
// BenchmarkCompileVGG16 times it (docs/performance.md).
func TestWorkloadVGG16(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the whole VGG-16: several seconds")
	}
	net, ar, cfg := vgg16Workload(t)
	res := compileWorkload(t, net, ar.ISA(), cfg)
	t.Logf("%d tiles, %d matrix units", len(res.Program.Code.Tiles), res.Report.MatrixUnits)
	// On the preset's instruction memories the program does not fit, and
	// the compiler says where.
	ar = arch.Default()
	ar.Structure.Nodes = 2
	_, err := Compile(Model{Net: net}, ar.ISA(), Options{Train: cfg})
	if err == nil || !strings.Contains(err.Error(), "instruction memory holds") {
		t.Errorf("on the preset's instruction memories: got %v, want an instruction-memory error", err)
	}
}

// BenchmarkCompileVGG16 times the compile of TestWorkloadVGG16; its budget
// (30 s) and measured times are in docs/performance.md.
func BenchmarkCompileVGG16(b *testing.B) {
	net, ar, cfg := vgg16Workload(b)
	a := ar.ISA()
	for b.Loop() {
		if _, err := Compile(Model{Net: net}, a, Options{Train: cfg}); err != nil {
			b.Fatal(err)
		}
	}
}
