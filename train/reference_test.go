package train

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// This file is a second, deliberately plain implementation of the training
// semantics of docs/training.md, written directly on xbar: explicit loops
// over pixels, kernel offsets and tiles, no shared helpers with the
// trainer. The trainer must give the same bits.

// syntheticSet makes n random examples of the given shape and classes.
func syntheticSet(name string, seed uint64, n int, shape []int, classes int) *data.Set {
	src := rng.New(seed)
	s := &data.Set{Name: name, Shape: shape}
	size := 1
	for _, d := range shape {
		size *= d
	}
	for i := range n {
		for range size {
			v := uint8(0)
			if src.IntN(3) > 0 { // a third zeros, like image backgrounds
				v = uint8(src.IntN(256))
			}
			s.Pixels = append(s.Pixels, v)
		}
		s.Labels = append(s.Labels, uint8(i%classes))
	}
	return s
}

// refTile is one crossbar tile of a reference layer.
type refTile struct {
	r0, r1, c0, c1 int
	u              *xbar.Unit
}

type refLayer struct {
	spec  model.Layer
	tiles [][]refTile // [row tile][column tile]
	// Under BiasAuto, a layer whose inputs fill whole crossbar row tiles
	// holds its bias in the vector unit: the codes products read, and
	// those updates go to (one slice for inplace).
	biasRead, biasUpdate []int16
}

type refNet struct {
	net    *model.Network
	layers []refLayer
	cfg    Config
}

func newRefNet(t *testing.T, cfg Config) *refNet {
	n := &refNet{net: cfg.Model, cfg: cfg}
	for li, l := range cfg.Model.Layers {
		rl := refLayer{spec: l}
		if l.Kind == model.Dense || l.Kind == model.Conv2D {
			rows, cols := l.CellRows(), l.CellCols()
			fanIn := rows
			if l.Bias {
				fanIn--
			}
			// The documented initialisation: He uniform from
			// Derive(seed, "init", layer), row-major, the bias row 0.
			src := rng.Derive(cfg.Seed, "init", li)
			a := math.Sqrt(6 / float64(fanIn))
			m := make([]int16, rows*cols)
			for i := 0; i < fanIn*cols; i++ {
				m[i], _, _ = fixed.Q4_12.FromFloat(a * (2*src.Float64() - 1))
			}
			layerSeed := rng.Derive(cfg.Seed, "layer", li).Uint64()
			S := cfg.Unit.Size.Rows
			xrows := rows
			if l.Bias && cfg.Bias == model.BiasAuto && fanIn%S == 0 {
				xrows = fanIn
				rl.biasUpdate = make([]int16, cols) // the bias starts at 0
				rl.biasRead = rl.biasUpdate
				if cfg.Unit.Variant != xbar.Inplace {
					rl.biasRead = make([]int16, cols)
				}
			}
			k := 0
			for r0 := 0; r0 < xrows; r0 += S {
				var row []refTile
				for c0 := 0; c0 < cols; c0 += S {
					r1, c1 := min(r0+S, xrows), min(c0+S, cols)
					uc := cfg.Unit
					uc.Seed = rng.Derive(layerSeed, "tile", k).Uint64()
					k++
					u, err := xbar.NewUnit(uc, r1-r0, c1-c0)
					if err != nil {
						t.Fatal(err)
					}
					var block []int16
					for r := r0; r < r1; r++ {
						block = append(block, m[r*cols+c0:r*cols+c1]...)
					}
					if err := u.Program(block); err != nil {
						t.Fatal(err)
					}
					row = append(row, refTile{r0, r1, c0, c1, u})
				}
				rl.tiles = append(rl.tiles, row)
			}
		}
		n.layers = append(n.layers, rl)
	}
	return n
}

// refExample holds one example's passes.
type refExample struct {
	acts  [][]int16
	flags [][]bool
	errs  [][]int16 // masked error at each trainable layer's output (CHW)
}

// patch builds the unrolled input of output pixel (oy, ox) of a layer,
// bias included.
func refPatch(l model.Layer, in []int16, oy, ox int) []int16 {
	if l.Kind == model.Dense {
		x := append([]int16(nil), in...)
		if l.Bias {
			x = append(x, alu.One)
		}
		return x
	}
	C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
	var x []int16
	for c := 0; c < C; c++ {
		for i := 0; i < l.Kernel; i++ {
			for j := 0; j < l.Kernel; j++ {
				y, xx := oy*l.Stride+i-l.Padding, ox*l.Stride+j-l.Padding
				if y < 0 || y >= H || xx < 0 || xx >= W {
					x = append(x, 0)
				} else {
					x = append(x, in[(c*H+y)*W+xx])
				}
			}
		}
	}
	if l.Bias {
		x = append(x, alu.One)
	}
	return x
}

func outPixels(l model.Layer) (oh, ow int) {
	if l.Kind == model.Dense {
		return 1, 1
	}
	return l.OutShape[1], l.OutShape[2]
}

func (n *refNet) forward(t *testing.T, pixels []uint8) *refExample {
	ex := &refExample{}
	x := make([]int16, len(pixels))
	for i, p := range pixels {
		x[i], _, _ = fixed.Q4_12.FromFloat(float64(p) / 255)
	}
	ex.acts = append(ex.acts, x)
	for _, rl := range n.layers {
		l := rl.spec
		in := ex.acts[len(ex.acts)-1]
		out := make([]int16, l.OutShape.Size())
		var flags []bool
		switch l.Kind {
		case model.Dense, model.Conv2D:
			flags = make([]bool, len(out))
			oh, ow := outPixels(l)
			P := oh * ow
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					p := oy*ow + ox
					patch := refPatch(l, in, oy, ox)
					for j := range rl.tiles[0] {
						var parts [][]int16
						var pflags [][]bool
						for i := range rl.tiles {
							tl := rl.tiles[i][j]
							y, f := make([]int16, tl.c1-tl.c0), make([]bool, tl.c1-tl.c0)
							if err := tl.u.MVM(patch[tl.r0:tl.r1], y, f); err != nil {
								t.Fatal(err)
							}
							parts, pflags = append(parts, y), append(pflags, f)
						}
						tl := rl.tiles[0][j]
						sum, sf := make([]int16, tl.c1-tl.c0), make([]bool, tl.c1-tl.c0)
						if _, err := xbar.TreeSum(parts, pflags, sum, sf); err != nil {
							t.Fatal(err)
						}
						for c := tl.c0; c < tl.c1; c++ {
							v, f := sum[c-tl.c0], sf[c-tl.c0]
							if rl.biasRead != nil {
								var sat bool
								v, sat = alu.Add(v, rl.biasRead[c])
								f = f || sat
							}
							out[c*P+p], flags[c*P+p] = v, f
						}
					}
				}
			}
		case model.ReLU:
			for i, v := range in {
				out[i] = alu.Relu(v)
			}
		case model.Sigmoid:
			for i, v := range in {
				out[i], _ = alu.Sig(v)
			}
		case model.Tanh:
			for i, v := range in {
				out[i], _ = alu.Tanh(v)
			}
		case model.MaxPool, model.AvgPool:
			C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
			oh, ow := l.OutShape[1], l.OutShape[2]
			for c := 0; c < C; c++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						best, sum := int16(math.MinInt16), int64(0)
						for i := 0; i < l.Kernel; i++ {
							for j := 0; j < l.Kernel; j++ {
								y, x := oy*l.Stride+i-l.Padding, ox*l.Stride+j-l.Padding
								if y < 0 || y >= H || x < 0 || x >= W {
									continue // average pooling's zero padding
								}
								v := in[(c*H+y)*W+x]
								best = max(best, v)
								sum += int64(v)
							}
						}
						o := (c*oh+oy)*ow + ox
						if l.Kind == model.MaxPool {
							out[o] = best
						} else {
							k2 := int64(l.Kernel * l.Kernel)
							// round half away from zero, in rationals
							q := math.Round(float64(sum) / float64(k2))
							out[o] = int16(q)
						}
					}
				}
			}
		case model.Flatten:
			copy(out, in)
		}
		ex.acts = append(ex.acts, out)
		ex.flags = append(ex.flags, flags)
	}
	return ex
}

// backward fills ex.errs from the output error.
func (n *refNet) backward(t *testing.T, ex *refExample, label int) {
	L := len(n.layers)
	out := ex.acts[L]
	d := make([]int16, len(out))
	if n.net.Loss == model.MSE {
		for i, v := range out {
			tv := int16(0)
			if i == label {
				tv = alu.One
			}
			d[i], _ = alu.Sub(v, tv)
		}
	} else {
		// The vector unit's softmax cross-entropy gradient (docs/isa.md).
		y := make([]int16, len(out))
		alu.LogSoftmax(y, out)
		e := make([]int16, len(out))
		e[label] = -alu.One
		alu.LogSoftmaxD(d, e, y)
	}
	ex.errs = make([][]int16, L)
	first := 0
	for first < L && !n.layers[first].spec.Trainable() {
		first++
	}
	for li := L - 1; li >= first; li-- {
		rl := n.layers[li]
		l := rl.spec
		in, out := ex.acts[li], ex.acts[li+1]
		dIn := make([]int16, len(in))
		switch l.Kind {
		case model.Dense, model.Conv2D:
			for i := range d {
				if ex.flags[li][i] {
					d[i] = 0
				}
			}
			ex.errs[li] = append([]int16(nil), d...)
			if li == first {
				return
			}
			oh, ow := outPixels(l)
			P := oh * ow
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					p := oy*ow + ox
					dcol := make([]int16, l.CellCols())
					for c := range dcol {
						dcol[c] = d[c*P+p]
					}
					dpatch := make([]int16, l.CellRows())
					for i := range rl.tiles {
						var parts [][]int16
						for j := range rl.tiles[i] {
							tl := rl.tiles[i][j]
							y := make([]int16, tl.r1-tl.r0)
							if err := tl.u.MTVM(dcol[tl.c0:tl.c1], y, nil); err != nil {
								t.Fatal(err)
							}
							parts = append(parts, y)
						}
						tl := rl.tiles[i][0]
						if _, err := xbar.TreeSum(parts, nil, dpatch[tl.r0:tl.r1], nil); err != nil {
							t.Fatal(err)
						}
					}
					if l.Kind == model.Dense {
						copy(dIn, dpatch)
						continue
					}
					C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
					for c := 0; c < C; c++ {
						for i := 0; i < l.Kernel; i++ {
							for j := 0; j < l.Kernel; j++ {
								y, x := oy*l.Stride+i-l.Padding, ox*l.Stride+j-l.Padding
								if y >= 0 && y < H && x >= 0 && x < W {
									idx := (c*H+y)*W + x
									dIn[idx], _ = alu.Add(dIn[idx], dpatch[(c*l.Kernel+i)*l.Kernel+j])
								}
							}
						}
					}
				}
			}
		case model.ReLU:
			for i := range d {
				dIn[i], _ = alu.Mul(d[i], alu.Relud(in[i]))
			}
		case model.Sigmoid:
			for i := range d {
				c, _ := alu.Sub(alu.One, out[i])
				g, _ := alu.Mul(out[i], c)
				dIn[i], _ = alu.Mul(d[i], g)
			}
		case model.Tanh:
			for i := range d {
				sq, _ := alu.Mul(out[i], out[i])
				g, _ := alu.Sub(alu.One, sq)
				dIn[i], _ = alu.Mul(d[i], g)
			}
		case model.MaxPool, model.AvgPool:
			C, H, W := l.InShape[0], l.InShape[1], l.InShape[2]
			oh, ow := l.OutShape[1], l.OutShape[2]
			for c := 0; c < C; c++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						o := (c*oh+oy)*ow + ox
						arg := -1
						for i := 0; i < l.Kernel; i++ {
							for j := 0; j < l.Kernel; j++ {
								y, x := oy*l.Stride+i-l.Padding, ox*l.Stride+j-l.Padding
								if y < 0 || y >= H || x < 0 || x >= W {
									continue
								}
								idx := (c*H+y)*W + x
								if l.Kind == model.AvgPool {
									share := int16(math.Round(float64(d[o]) / float64(l.Kernel*l.Kernel)))
									dIn[idx], _ = alu.Add(dIn[idx], share)
								} else if arg < 0 || in[idx] > in[arg] {
									arg = idx
								}
							}
						}
						if l.Kind == model.MaxPool {
							dIn[arg], _ = alu.Add(dIn[arg], d[o])
						}
					}
				}
			}
		case model.Flatten:
			copy(dIn, d)
		}
		d = dIn
	}
}

// update applies one example's OPAs: layers first to last, pixels in
// raster order, tiles row-major.
func (n *refNet) update(t *testing.T, ex *refExample) {
	for li, rl := range n.layers {
		l := rl.spec
		if ex.errs[li] == nil {
			continue
		}
		oh, ow := outPixels(l)
		P := oh * ow
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				patch := refPatch(l, ex.acts[li], oy, ox)
				dcol := make([]int16, l.CellCols())
				for c := range dcol {
					dcol[c] = ex.errs[li][c*P+oy*ow+ox]
				}
				for _, row := range rl.tiles {
					for _, tl := range row {
						if err := tl.u.OPA(patch[tl.r0:tl.r1], dcol[tl.c0:tl.c1], -n.cfg.LR); err != nil {
							t.Fatal(err)
						}
					}
				}
				if rl.biasUpdate != nil {
					eta, _, _ := fixed.Q4_12.FromFloat(-n.cfg.LR)
					for c, d := range dcol {
						g, _ := alu.Mul(d, eta)
						rl.biasUpdate[c], _ = alu.Add(rl.biasUpdate[c], g)
					}
				}
			}
		}
	}
}

func (n *refNet) crs() {
	for _, rl := range n.layers {
		copy(rl.biasRead, rl.biasUpdate)
		for _, row := range rl.tiles {
			for _, tl := range row {
				tl.u.CRS()
			}
		}
	}
}

func (n *refNet) units() []*xbar.Unit {
	var us []*xbar.Unit
	for _, rl := range n.layers {
		for _, row := range rl.tiles {
			for _, tl := range row {
				us = append(us, tl.u)
			}
		}
	}
	return us
}

// train runs the documented loop: shuffled order per epoch, batches, CRS
// every interval (and at the end), test forward passes after each epoch.
func (n *refNet) train(t *testing.T, train, test *data.Set) {
	cfg := n.cfg
	order := rng.Derive(cfg.Seed, "order", 0)
	batches := 0
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		perm := order.Perm(train.Len())
		for b := 0; b*cfg.Batch < len(perm); b++ {
			for _, e := range perm[b*cfg.Batch : min((b+1)*cfg.Batch, len(perm))] {
				ex := n.forward(t, train.Example(e))
				n.backward(t, ex, int(train.Labels[e]))
				n.update(t, ex)
			}
			batches++
			if batches%cfg.CRSInterval == 0 {
				n.crs()
			} else if epoch == cfg.Epochs-1 && (b+1)*cfg.Batch >= len(perm) {
				n.crs()
			}
		}
		for e := 0; e < test.Len(); e++ {
			n.forward(t, test.Example(e))
		}
	}
}

// tinyNets are small networks whose matrices span several 32 x 32 tiles.
func tinyNets(t testing.TB) map[string]*model.Network {
	nets := map[string]string{
		"mlp": `
input: [1, 7, 7]
layers:
  - flatten
  - dense: {out: 36}
  - relu
  - dense: {out: 5}
loss: softmax_cross_entropy
`,
		"cnn": `
input: [4, 6, 6]
layers:
  - conv2d: {out: 3, kernel: 3, padding: 1}
  - tanh
  - maxpool: {kernel: 2}
  - conv2d: {out: 34, kernel: 2, stride: 1, bias: false}
  - sigmoid
  - avgpool: {kernel: 2, stride: 1, padding: 1}
  - flatten
  - dense: {out: 5}
loss: mse
`,
		// Inputs that fill whole 32-row tiles: these biases are held in
		// the vector unit (a dense layer of 32 inputs, a convolution of
		// 8 x 2 x 2 = 32 rows).
		"vector-bias": `
input: [8, 4, 4]
layers:
  - conv2d: {out: 4, kernel: 2}
  - tanh
  - flatten
  - dense: {out: 32}
  - relu
  - dense: {out: 5}
loss: softmax_cross_entropy
`,
	}
	out := map[string]*model.Network{}
	for name, text := range nets {
		n, err := model.ReadYAML(name+".yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

func tinyConfig(net *model.Network) Config {
	cfg := DefaultConfig()
	cfg.Model = net
	cfg.Dataset = "synthetic"
	cfg.Unit.Size = xbar.Size{Rows: 32, Cols: 32}
	cfg.Batch, cfg.Epochs, cfg.CRSInterval = 3, 2, 2
	cfg.LR = 0.05
	cfg.FP32 = false
	return cfg
}

func unitStates(t *testing.T, us []*xbar.Unit) []xbar.UnitState {
	var out []xbar.UnitState
	for _, u := range us {
		s, err := u.State()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestMatchesReferenceLoop(t *testing.T) {
	variants := []struct {
		name string
		set  func(*Config)
	}{
		{"accumulate", func(c *Config) {}},
		{"inplace", func(c *Config) { c.Unit.Variant = xbar.Inplace }},
		{"pipelined-stochastic", func(c *Config) { c.Unit.Variant = xbar.Pipelined; c.Unit.Rounding = fixed.Stochastic }},
		{"inplace-6bit-adc-noisy", func(c *Config) {
			c.Unit.Variant, c.Unit.ADC = xbar.Inplace, xbar.ADC{Bits: 6}
			c.Unit.Device = device.Config{C2C: 0.3, ReadNoise: 0.2, StuckLow: 0.01}
		}},
		{"accumulate-bitstream", func(c *Config) { c.Unit.OPAMode = xbar.Bitstream; c.Unit.ADC = xbar.ADC{Ideal: true} }},
		{"inplace-bias-crossbar", func(c *Config) { c.Unit.Variant = xbar.Inplace; c.Bias = model.BiasCrossbar }},
	}
	for name, net := range tinyNets(t) {
		train := syntheticSet("train", 1, 11, net.Input, 5)
		test := syntheticSet("test", 2, 3, net.Input, 5)
		for _, v := range variants {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				cfg := tinyConfig(net)
				v.set(&cfg)
				r, err := newRunner(cfg, train, test, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := r.run(context.Background()); err != nil {
					t.Fatal(err)
				}
				ref := newRefNet(t, cfg)
				ref.train(t, train, test)
				got, want := unitStates(t, r.xn.units()), unitStates(t, ref.units())
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("trainer differs from the reference loop (-want +got):\n%s", diff)
				}
				var gotB, wantB [][]int16
				for _, b := range r.xn.vectorBiases() {
					gotB = append(gotB, b.read, b.update)
				}
				for _, rl := range ref.layers {
					if rl.biasUpdate != nil {
						wantB = append(wantB, rl.biasRead, rl.biasUpdate)
					}
				}
				if diff := cmp.Diff(wantB, gotB); diff != "" {
					t.Errorf("biases in the vector unit differ from the reference loop (-want +got):\n%s", diff)
				}
				if (name == "vector-bias" && cfg.Bias == model.BiasAuto) != (len(wantB) == 4) {
					t.Errorf("%d biases in the vector unit", len(wantB)/2)
				}
				if len(wantB) > 0 && !slices.ContainsFunc(wantB, func(b []int16) bool { return slices.ContainsFunc(b, func(v int16) bool { return v != 0 }) }) {
					t.Errorf("training changed no bias in the vector unit")
				}
				ev := r.xn.events()
				if ev.OPAPulses == 0 {
					t.Errorf("no OPA pulses: the test trains nothing (%+v)", ev)
				}
			})
		}
	}
}
