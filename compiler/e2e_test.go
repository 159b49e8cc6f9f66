package compiler

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/sim"
	"github.com/panther-xbar/panther/xbar"
)

// simRun is a finished simulation of a compiled program.
type simRun struct {
	t testing.TB
	s *sim.Sim
}

// execute runs the program in the cycle-level simulator with seed, which must finish
// without a deadlock or a runtime error. The compiler's own machine, which
// orders the transfers between tiles by the simulator's rules, must run
// the same number of instructions.
func execute(t testing.TB, ar *arch.Arch, res *Result, seed uint64) *simRun {
	t.Helper()
	s, err := sim.New(ar, res.Program, sim.Options{KeepUnits: true, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Run(context.Background())
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	m := newMachine(res.Program.Arch)
	for _, tc := range res.Program.Code.Tiles {
		m.load(tc)
	}
	if err := m.run(1 << 34); err != nil {
		t.Fatal(err)
	}
	if m.executed != rep.Instructions {
		t.Fatalf("the compiler's machine ran %d instructions, the simulator %d", m.executed, rep.Instructions)
	}
	return &simRun{t: t, s: s}
}

// unit returns the matrix unit of tile, core, unit as the run left it.
func (r *simRun) unit(tile, core, unit int) *xbar.Unit {
	r.t.Helper()
	u, err := r.s.Unit(tile, core, unit)
	if err != nil {
		r.t.Fatal(err)
	}
	return u
}

// results reads an inference program's outputs from the simulator's
// shared memory.
func (r *simRun) results(res *Result) [][]int16 {
	r.t.Helper()
	ys, err := res.ReadOutputs(r.s.Shared)
	if err != nil {
		r.t.Fatal(err)
	}
	return ys
}

// testArch returns the default architecture, or a small one: crossbars of
// size, cores per tile and shared words, so that small models exercise
// tiling, trees and several tiles.
func testArch(t testing.TB, size, cores, shared int) (*arch.Arch, isa.Arch) {
	t.Helper()
	ar := arch.Default()
	if size > 0 {
		ar.Structure.CrossbarSize = size
		ar.Structure.CoresPerTile = cores
		ar.Structure.SharedWords = shared
	}
	return ar, ar.ISA()
}

func yamlNet(t testing.TB, src string) *model.Network {
	t.Helper()
	n, err := model.ReadYAML("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// randomData draws n examples of codes in [-lim, lim) and labels.
func randomData(net *model.Network, n, lim int, seed uint64) Dataset {
	src := rng.New(seed)
	var ds Dataset
	classes := net.Output().Size()
	for range n {
		x := make([]int16, net.Input.Size())
		for i := range x {
			x[i] = int16(src.IntN(2*lim) - lim)
		}
		ds.Inputs = append(ds.Inputs, x)
		ds.Labels = append(ds.Labels, src.IntN(classes))
	}
	return ds
}

// inferCheck compiles net for inference, runs it and compares every output
// with the reference bit for bit.
func inferCheck(t *testing.T, net *model.Network, ar *arch.Arch, ds Dataset, seed uint64) *Result {
	t.Helper()
	weights := InitialWeights(net, seed)
	res, err := Compile(Model{Net: net, Weights: weights}, ar.ISA(), Options{Infer: true, Data: &ds})
	if err != nil {
		t.Fatal(err)
	}
	checkInfer(t, net, ar, ds, weights, res)
	return res
}

// checkInfer runs an inference program and compares its outputs with the
// reference.
func checkInfer(t testing.TB, net *model.Network, ar *arch.Arch, ds Dataset, weights [][]float64, res *Result) {
	t.Helper()
	e := execute(t, ar, res, 0)
	ref, err := newRefNet(net, weights, ar.UnitConfig(), Config{LR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	got := e.results(res)
	for k, x := range ds.Inputs {
		want := ref.forward(x)
		if !slices.Equal(got[k], want) {
			t.Fatalf("example %d: got %v\nwant %v", k, got[k], want)
		}
	}
}

func TestInferMLP(t *testing.T) {
	net := yamlNet(t, `
input: [20]
layers:
  - dense: {out: 12}
  - relu
  - dense: {out: 5}
  - sigmoid
loss: mse
`)
	ar, _ := testArch(t, 0, 0, 0)
	inferCheck(t, net, ar, randomData(net, 3, 4096, 1), 7)
}

func TestInferTiled(t *testing.T) {
	net := yamlNet(t, `
input: [150]
layers:
  - dense: {out: 70}
  - tanh
  - dense: {out: 40}
  - relu
  - dense: {out: 10}
loss: mse
`)
	ar, _ := testArch(t, 32, 8, 32768)
	res := inferCheck(t, net, ar, randomData(net, 2, 4096, 2), 3)
	t.Logf("%d tiles, %d images", len(res.Program.Code.Tiles), len(res.Program.Weights))
}

func TestInferCNN(t *testing.T) {
	net := yamlNet(t, `
input: [2, 7, 6]
layers:
  - conv2d: {out: 3, kernel: 3, padding: 1}
  - relu
  - maxpool: {kernel: 2}
  - conv2d: {out: 4, kernel: 2, stride: 1}
  - tanh
  - flatten
  - dense: {out: 5}
loss: mse
`)
	ar, _ := testArch(t, 0, 0, 0)
	inferCheck(t, net, ar, randomData(net, 2, 4096, 4), 5)
}

// First layers whose frames have no pad rows (a 1 x 1 convolution, a
// 2 x 2 / 2 maxpool on an even map) keep no zero row per example; several
// examples must still find their own rows. Training too.
func TestInputsWithoutPadRows(t *testing.T) {
	for name, src := range map[string]string{
		"conv1x1": "input: [2, 6, 4]\nlayers:\n  - conv2d: {out: 3, kernel: 1}\n  - relu\n  - maxpool: {kernel: 2}\n  - flatten\n  - dense: {out: 4}\nloss: mse\n",
		"pool":    "input: [2, 6, 4]\nlayers:\n  - maxpool: {kernel: 2}\n  - conv2d: {out: 3, kernel: 2, padding: 1}\n  - tanh\n  - flatten\n  - dense: {out: 4}\nloss: mse\n",
	} {
		t.Run(name, func(t *testing.T) {
			net := yamlNet(t, src)
			ar, _ := testArch(t, 0, 0, 0)
			inferCheck(t, net, ar, randomData(net, 3, 4096, 8), 9)
			cfg := DefaultConfig()
			cfg.Batch, cfg.Examples, cfg.CRSInterval = 2, 4, 1
			trainCheck(t, net, ar, cfg, randomData(net, 4, 4096, 10), 11)
		})
	}
}

// trainCheck compiles net for training, runs it and compares every
// crossbar's cells with the reference trained on the same examples.
func trainCheck(t *testing.T, net *model.Network, ar *arch.Arch, cfg Config, ds Dataset, seed uint64) *Result {
	t.Helper()
	weights := InitialWeights(net, seed)
	cfg.Examples = len(ds.Inputs)
	ar.Crossbar.Variant = cfg.Variant
	res, err := Compile(Model{Net: net, Weights: weights}, ar.ISA(), Options{Train: cfg, Data: &ds})
	if err != nil {
		t.Fatal(err)
	}
	if checkTrain(t, net, ar, cfg, ds, weights, res) == 0 {
		t.Fatalf("training changed no weight")
	}
	return res
}

// checkTrain runs a training program and compares every crossbar's cells
// with the reference trained on the same examples; it returns the number
// of cells training changed.
func checkTrain(t testing.TB, net *model.Network, ar *arch.Arch, cfg Config, ds Dataset, weights [][]float64, res *Result) int {
	t.Helper()
	e := execute(t, ar, res, 0)
	rnet := *net
	if cfg.Loss != "" {
		rnet.Loss = cfg.Loss
	}
	ref, err := newRefNet(&rnet, weights, ar.UnitConfig(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref.train(ds)
	untrained, err := newRefNet(&rnet, weights, ar.UnitConfig(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, um := range res.Units {
		rl := ref.layers[um.Layer]
		nc := len(rl.colB) - 1
		want := rl.units[um.RowTile*nc+um.ColTile]
		got := e.unit(um.Tile, um.Core, um.Unit)
		r0 := rl.rowB[um.RowTile]
		cols := um.Col1 - um.Col0
		for k, row := range um.Rows {
			for c := range cols {
				g, w := got.Update().Accumulator(k, c), want.Update().Accumulator(row-r0, c)
				if g != w {
					t.Fatalf("layer %d crossbar (%d, %d): cell (%d, %d) holds %d, want %d", um.Layer+1, um.RowTile, um.ColTile, row, c+um.Col0, g, w)
				}
				if w != untrained.layers[um.Layer].units[um.RowTile*nc+um.ColTile].Update().Accumulator(row-r0, c) {
					changed++
				}
				gw, ww := got.Forward().Accumulator(k, c), want.Forward().Accumulator(row-r0, c)
				if gw != ww {
					t.Fatalf("layer %d crossbar (%d, %d): read cell (%d, %d) holds %d, want %d", um.Layer+1, um.RowTile, um.ColTile, row, c+um.Col0, gw, ww)
				}
			}
		}
	}
	changed += checkBiases(t, e, res, func(layer int) (read, update, initial []int16) {
		rl := ref.layers[layer]
		return rl.biasRead, rl.biasUpdate, untrained.layers[layer].biasUpdate
	})
	t.Logf("%d cells changed", changed)
	return changed
}

// checkBiases compares the biases a training program held in the vector
// unit with want's (the layer's read and update copies); it returns the
// number of update codes that differ from the initial ones.
func checkBiases(t testing.TB, e *simRun, res *Result, want func(layer int) (read, update, initial []int16)) int {
	t.Helper()
	changed := 0
	for _, br := range res.Biases {
		mem, ok := e.s.Shared(br.Tile)
		if !ok {
			t.Fatalf("no tile %d", br.Tile)
		}
		n := br.C1 - br.C0
		read, update, initial := want(br.Layer)
		if read == nil {
			t.Fatalf("layer %d: the program holds its bias in the vector unit, the reference on crossbars", br.Layer+1)
		}
		for c := range n {
			if g, w := mem[br.Addr+c], read[br.C0+c]; g != w {
				t.Fatalf("layer %d bias %d: the program read %d, want %d", br.Layer+1, br.C0+c, g, w)
			}
			if g, w := mem[br.Addr+n+c], update[br.C0+c]; g != w {
				t.Fatalf("layer %d bias %d: the program's update copy holds %d, want %d", br.Layer+1, br.C0+c, g, w)
			}
		}
		for c := range n {
			if update[br.C0+c] != initial[br.C0+c] {
				changed++
			}
		}
	}
	if len(res.Biases) > 0 && changed == 0 {
		t.Fatal("training changed no bias held in the vector unit")
	}
	return changed
}

func TestTrainMLP(t *testing.T) {
	net := yamlNet(t, `
input: [20]
layers:
  - dense: {out: 12}
  - relu
  - dense: {out: 5}
loss: softmax_cross_entropy
`)
	ar, _ := testArch(t, 0, 0, 0)
	cfg := DefaultConfig()
	cfg.Batch, cfg.LR = 2, 0.25
	trainCheck(t, net, ar, cfg, randomData(net, 4, 4096, 9), 11)
}

const cnnYAML = `
input: [2, 7, 6]
layers:
  - conv2d: {out: 3, kernel: 3, padding: 1}
  - relu
  - maxpool: {kernel: 2}
  - conv2d: {out: 4, kernel: 2, stride: 1}
  - tanh
  - flatten
  - dense: {out: 5}
  - sigmoid
loss: mse
`

// Networks whose layers' inputs fill 128-row crossbars, so that their
// biases are held in the vector unit (model.Layer.BiasOnCrossbar): a dense
// layer of 128 inputs, and a convolution of 8 channels x 4 x 4 = 128 rows
// whose bias is added at every output pixel.
const (
	mlpVectorBiasYAML = `
input: [128]
layers:
  - dense: {out: 12}
  - relu
  - dense: {out: 5}
loss: softmax_cross_entropy
`
	cnnVectorBiasYAML = `
input: [8, 6, 5]
layers:
  - conv2d: {out: 6, kernel: 4, padding: 1}
  - tanh
  - flatten
  - dense: {out: 5}
loss: mse
`
)

func TestTrainVariants(t *testing.T) {
	nets := map[string]string{"mlp": `
input: [20]
layers:
  - dense: {out: 12}
  - relu
  - dense: {out: 5}
loss: softmax_cross_entropy
`, "cnn": cnnYAML, "mlp-vector-bias": mlpVectorBiasYAML, "cnn-vector-bias": cnnVectorBiasYAML}
	for _, name := range []string{"mlp", "cnn", "mlp-vector-bias", "cnn-vector-bias"} {
		for _, v := range []string{"inplace", "accumulate", "pipelined"} {
			t.Run(name+"/"+v, func(t *testing.T) {
				net := yamlNet(t, nets[name])
				ar, _ := testArch(t, 0, 0, 0)
				cfg := DefaultConfig()
				must(cfg.Set("variant", v))
				cfg.Batch, cfg.LR = 2, 0.25
				res := trainCheck(t, net, ar, cfg, randomData(net, 5, 4096, 9), 11)
				if vector := strings.HasSuffix(name, "vector-bias"); vector != (len(res.Biases) > 0) {
					t.Fatalf("%d biases in the vector unit", len(res.Biases))
				}
			})
		}
	}
}

// TestTrainAcrossTiles trains on a small architecture (32 x 32 crossbars,
// two cores per tile, little shared memory), so that trees, errors and
// maps cross tiles and maps stream through rings.
func TestTrainAcrossTiles(t *testing.T) {
	nets := map[string]string{"mlp": `
input: [70]
layers:
  - dense: {out: 40}
  - relu
  - dense: {out: 36}
  - tanh
  - dense: {out: 10}
loss: softmax_cross_entropy
`, "cnn": `
input: [3, 9, 8]
layers:
  - conv2d: {out: 12, kernel: 3, padding: 1}
  - relu
  - conv2d: {out: 10, kernel: 3, stride: 2, padding: 1}
  - sigmoid
  - maxpool: {kernel: 2, stride: 1}
  - flatten
  - dense: {out: 6}
loss: mse
`, "mlp-vector-bias": `
input: [64]
layers:
  - dense: {out: 40}
  - relu
  - dense: {out: 32}
  - tanh
  - dense: {out: 10}
loss: softmax_cross_entropy
`}
	for _, name := range []string{"mlp", "cnn", "mlp-vector-bias"} {
		for _, v := range []string{"inplace", "accumulate"} {
			t.Run(name+"/"+v, func(t *testing.T) {
				net := yamlNet(t, nets[name])
				ar, _ := testArch(t, 32, 2, 8192)
				cfg := DefaultConfig()
				must(cfg.Set("variant", v))
				cfg.Batch, cfg.LR = 2, 0.25
				res := trainCheck(t, net, ar, cfg, randomData(net, 3, 4096, 9), 11)
				t.Logf("%d tiles", len(res.Program.Code.Tiles))
				if vector := name == "mlp-vector-bias"; vector != (len(res.Biases) > 0) {
					t.Fatalf("%d biases in the vector unit", len(res.Biases))
				}
			})
		}
	}
}
