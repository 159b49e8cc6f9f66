package compiler

import (
	"bytes"
	"context"
	"encoding/gob"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/train"
	"github.com/panther-xbar/panther/xbar"
)

// TestMatchesTrainer trains a network with package train and the same
// network compiled and run, on the same examples in the same order, and
// compares every crossbar cell: they must be bit-identical, with MSE and
// with softmax cross-entropy (both compute the gradient with the vector
// unit's log_softmax and log_softmax_d), through padded average pooling,
// and with biases in the vector unit or (mlp-bias-crossbar: the same
// network with every bias a crossbar row) not.
func TestMatchesTrainer(t *testing.T) {
	for _, name := range []string{"mlp", "mlp-ce", "cnn", "cnn-avgpad", "mlp-vector-bias", "cnn-vector-bias", "mlp-bias-crossbar"} {
		for _, v := range []xbar.Variant{xbar.Inplace, xbar.Accumulate, xbar.Pipelined} {
			t.Run(name+"/"+v.String(), func(t *testing.T) {
				matchTrainer(t, name, v, device.Config{}, fixed.Nearest)
			})
		}
	}
}

// TestMatchesTrainerWithStuckCells repeats TestMatchesTrainer with the
// device knobs drawn once per cell (stuck cells, d2d) and a deterministic
// nonlinear write, with and without fault-aware mapping and spare lines,
// on every variant: a compiled unit is seeded by its block and places its
// cells by the block's rows, so it meets the trainer's devices even where
// the compiler reorders a block's rows (cnn). The per-operation draws
// (write noise, c2c, read noise, stochastic rounding) match only where a
// compiled set holds its rows in block order and runs the trainer's
// operations in the trainer's order, as on the MLP ("noisy", read noise on
// every set of every variant included, and "table", whose spread column
// draws per pulse);
// docs/devices.md says where they do not.
func TestMatchesTrainerWithStuckCells(t *testing.T) {
	stuck := device.Config{Kind: device.KindNonlinear, Alpha: 1, D2D: 0.3, StuckLow: 0.02, StuckHigh: 0.02}
	mapped := stuck
	mapped.FaultMap, mapped.SpareRows, mapped.SpareCols = true, 2, 3
	noisy := mapped
	noisy.Sigma, noisy.C2C, noisy.ReadNoise = 0.5, 0.5, 0.05
	// Two cores at least: the trainer would then read the read sets of
	// accumulate and pipelined from several goroutines, were it not to keep
	// one with read noise (docs/devices.md).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	table := mapped
	table.Kind, table.Alpha, table.TablePath = device.KindTable, 0, "../device/testdata/example_table.csv" // with a spread column
	if err := table.Load(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mlp", "cnn"} {
		for _, v := range []xbar.Variant{xbar.Inplace, xbar.Accumulate, xbar.Pipelined} {
			for _, c := range []struct {
				name     string
				dev      device.Config
				rounding fixed.Rounding
			}{{"stuck", stuck, fixed.Nearest}, {"stuck+fault-map+spares", mapped, fixed.Nearest}, {"noisy", noisy, fixed.Stochastic}, {"table", table, fixed.Nearest}} {
				if (c.name == "noisy" || c.name == "table") && name != "mlp" {
					continue
				}
				t.Run(name+"/"+v.String()+"/"+c.name, func(t *testing.T) {
					if reordered := matchTrainer(t, name, v, c.dev, c.rounding); name == "cnn" && reordered == 0 {
						t.Fatal("no image holds its rows out of block order: the row order went untested")
					}
				})
			}
		}
	}
}

// trainerNets are the networks the trainer and compiled programs are
// compared on.
var trainerNets = map[string]string{"mlp": `
input: [20]
layers:
  - dense: {out: 12}
  - relu
  - dense: {out: 5}
loss: mse
`, "mlp-ce": `
input: [20]
layers:
  - dense: {out: 12}
  - relu
  - dense: {out: 5}
loss: softmax_cross_entropy
`, "cnn": cnnYAML, "cnn-avgpad": `
input: [2, 5, 6]
layers:
  - conv2d: {out: 3, kernel: 3, padding: 1}
  - relu
  - avgpool: {kernel: 2, stride: 2, padding: 1}
  - avgpool: {kernel: 2, stride: 1, padding: 1}
  - conv2d: {out: 4, kernel: 2}
  - flatten
  - dense: {out: 5}
loss: softmax_cross_entropy
`, "mlp-vector-bias": mlpVectorBiasYAML, "cnn-vector-bias": cnnVectorBiasYAML, "mlp-bias-crossbar": mlpVectorBiasYAML}

// matchTrainer trains network name of trainerNets on variant v with device
// dev, with package train and compiled and simulated with the same seed,
// and fails unless every crossbar cell of both ends bit-identical. It
// returns how many of the compiled images hold their rows out of block
// order.
func matchTrainer(t *testing.T, name string, v xbar.Variant, dev device.Config, rounding fixed.Rounding) (reordered int) {
	bias := model.BiasAuto
	if strings.HasSuffix(name, "-bias-crossbar") {
		bias = model.BiasCrossbar
	}
	reordered, _ = matchTrainerRun(t, trainerRun{net: yamlNet(t, trainerNets[name]), bias: bias, batch: 2, interval: 2, examples: 5, lr: 0.25,
		vectorBias: strings.HasSuffix(name, "vector-bias")}, v, dev, rounding)
	return reordered
}

// trainerRun is a network and the training that matchTrainerRun compares.
type trainerRun struct {
	net                       *model.Network
	bias                      model.BiasPlacement
	batch, interval, examples int
	lr                        float64
	vectorBias                bool // some layer holds its bias in the vector unit
}

// matchTrainerRun is matchTrainer for run r; it returns the compiled
// program too.
func matchTrainerRun(t *testing.T, r trainerRun, v xbar.Variant, dev device.Config, rounding fixed.Rounding) (reordered int, res *Result) {
	net, bias, examples := r.net, r.bias, r.examples
	ar := arch.Default()
	ar.Crossbar.Variant, ar.Crossbar.Device, ar.Crossbar.Rounding = v, dev, rounding
	const seed = 3
	// The trainer's dataset: pixels and labels from a seed.
	src := rng.New(17)
	set := &data.Set{Name: "synthetic", Shape: net.Input}
	for k := range examples { // every class once: the trainer counts them
		for range net.Input.Size() {
			set.Pixels = append(set.Pixels, uint8(src.IntN(256)))
		}
		set.Labels = append(set.Labels, uint8(k%net.Output().Size()))
	}
	tc := train.DefaultConfig()
	tc.Model, tc.Dataset, tc.Unit = net, "synthetic", ar.UnitConfig()
	tc.Epochs, tc.Batch, tc.LR, tc.CRSInterval, tc.Seed, tc.FP32, tc.Bias = 1, r.batch, r.lr, r.interval, seed, false, bias
	dir := t.TempDir()
	if _, err := train.Run(context.Background(), tc, set, set, train.Options{Checkpoint: dir}); err != nil {
		t.Fatal(err)
	}
	units, biases := trainerState(t, dir)

	// The same examples in the trainer's order.
	perm := rng.Derive(seed, "order", 0).Perm(examples)
	var ds Dataset
	for _, k := range perm {
		x := make([]int16, net.Input.Size())
		for i, p := range set.Example(k) {
			x[i] = fixed.PixelCodes[p]
		}
		ds.Inputs = append(ds.Inputs, x)
		ds.Labels = append(ds.Labels, int(set.Labels[k]))
	}
	cfg := DefaultConfig()
	cfg.Variant, cfg.Batch, cfg.LR, cfg.CRSInterval, cfg.Examples, cfg.Seed, cfg.Bias = v, r.batch, r.lr, r.interval, examples, seed, bias
	res, err := Compile(Model{Net: net}, ar.ISA(), Options{Train: cfg, Data: &ds})
	if err != nil {
		t.Fatal(err)
	}
	e := execute(t, ar, res, seed)

	// Trainer units are layer by layer, tiles row-major.
	first := map[int]int{}
	n := 0
	for i, l := range net.Layers {
		if l.Trainable() {
			first[i] = n
			n += (l.CrossbarRows(128, bias) + 127) / 128 * ((l.CellCols() + 127) / 128)
		}
	}
	if n != len(units) {
		t.Fatalf("the trainer has %d units, the network %d crossbar tiles", len(units), n)
	}
	// The trainer's biases outside the crossbars, layer by layer:
	// read codes, then update codes (its checkpoint's layout).
	vector := map[int][]int16{}
	for i, l := range net.Layers {
		if l.Bias && !l.BiasOnCrossbar(128, bias) {
			vector[i], biases = biases[0], biases[1:]
		}
	}
	if len(biases) != 0 || len(vector) > 0 != r.vectorBias {
		t.Fatalf("%d biases outside the crossbars left over, %d layers hold one", len(biases), len(vector))
	}
	changed := checkBiases(t, e, res, func(layer int) (read, update, initial []int16) {
		b := vector[layer]
		return b[:len(b)/2], b[len(b)/2:], make([]int16, len(b)/2) // biases start at 0
	})
	for _, um := range res.Units {
		l := net.Layers[um.Layer]
		img := initialImage(t, res, um)
		if img.Origin.Rows != nil {
			reordered++
		}
		initial := initialUnit(t, ar, img, seed)
		want, err := xbar.NewUnit(tc.Unit, min(128, l.CrossbarRows(128, bias)-128*um.RowTile), um.Col1-um.Col0)
		if err != nil {
			t.Fatal(err)
		}
		if err := want.Restore(units[first[um.Layer]+um.RowTile*((l.CellCols()+127)/128)+um.ColTile]); err != nil {
			t.Fatal(err)
		}
		got := e.unit(um.Tile, um.Core, um.Unit)
		for k, row := range um.Rows {
			for c := range um.Col1 - um.Col0 {
				r := row - 128*um.RowTile
				if g, w := got.Update().Accumulator(k, c), want.Update().Accumulator(r, c); g != w {
					t.Fatalf("layer %d cell (%d, %d): compiled %d, trainer %d", um.Layer+1, row, c+um.Col0, g, w)
				}
				if g, w := got.Forward().Accumulator(k, c), want.Forward().Accumulator(r, c); g != w {
					t.Fatalf("layer %d read cell (%d, %d): compiled %d, trainer %d", um.Layer+1, row, c+um.Col0, g, w)
				}
				if got.Update().Accumulator(k, c) != initial.Update().Accumulator(k, c) {
					changed++
				}
			}
		}
	}
	if changed == 0 {
		t.Fatal("training changed no weight")
	}
	t.Logf("%d cells changed, all as the trainer changed them", changed)
	return reordered, res
}

// trainerState reads the crossbar states and the biases outside the
// crossbars of the trainer's checkpoint: the gob value after its header
// line (gob matches fields by name; only Units and Biases are read, and
// the checksum line after the value is not).
func trainerState(t *testing.T, dir string) ([]xbar.UnitState, [][]int16) {
	b, err := os.ReadFile(filepath.Join(dir, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _ := bytes.Cut(b, []byte("\n"))
	var cp struct {
		Units  []xbar.UnitState
		Biases [][]int16
	}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&cp); err != nil {
		t.Fatal(err)
	}
	return cp.Units, cp.Biases
}

// initialUnit is the matrix unit of image w as a run with seed seed loads
// it.
func initialUnit(t *testing.T, ar *arch.Arch, w program.Weights, seed uint64) *xbar.Unit {
	cfg := ar.UnitConfig()
	cfg.Seed, cfg.RowOrder = xbar.BlockSeed(seed, w.Origin.Layer, w.Origin.Block), w.Origin.Rows
	u, err := xbar.NewUnit(cfg, w.Rows, w.Cols)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Program(w.Codes); err != nil {
		t.Fatal(err)
	}
	return u
}

// initialImage is the weight image a program loads into the unit of um.
func initialImage(t *testing.T, res *Result, um UnitMap) program.Weights {
	for _, w := range res.Program.Weights {
		if w.Tile == um.Tile && w.Core == um.Core && w.Unit == um.Unit {
			return w
		}
	}
	t.Fatalf("no weight image for %+v", um)
	return program.Weights{}
}

// TestLeNetBatch16MatchesTrainer: the lenet preset at batch 16 keeps
// fewer examples in flight than the batch has, because its first maps
// do not fit a tile's shared memory 14 examples deep, and still trains
// bit for bit as the trainer does, in every variant (inplace keeps one
// example in flight anyway; its tile programs hold 10 examples).
func TestLeNetBatch16MatchesTrainer(t *testing.T) {
	net, err := model.Preset("lenet")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v        xbar.Variant
		examples int
		inFlight int
	}{{xbar.Accumulate, 16, 4}, {xbar.Pipelined, 16, 4}, {xbar.Inplace, 10, 1}} {
		t.Run(c.v.String(), func(t *testing.T) {
			_, res := matchTrainerRun(t, trainerRun{net: net, bias: model.BiasAuto, batch: 16, interval: 1, examples: c.examples, lr: 0.05}, c.v, device.Config{}, fixed.Nearest)
			if r := res.Report; r.InFlight != c.inFlight {
				t.Errorf("%d examples in flight (%s), want %d", r.InFlight, r.InFlightLimit, c.inFlight)
			}
		})
	}
}
