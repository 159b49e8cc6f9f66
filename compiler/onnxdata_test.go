package compiler

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/xbar"
)

// Forward correctness against data nobody here wrote: the ONNX reference
// models of Debian's libonnx-testdata, with their shipped inputs and
// outputs, compiled for inference, run in the simulator, and their outputs
// (read from the simulator's shared memory) compared with the reference
// within the Q4.12 bound of docs/compiler.md.

// onnxTestData is where libonnx-testdata installs the ONNX test models.
const onnxTestData = "/usr/share/libonnx-testdata/data"

// onnxCases are the reference models that fit the supported operators.
var onnxCases = []string{
	"node/test_gemm_default_no_bias",
	"node/test_gemm_default_vector_bias",
	"node/test_gemm_default_scalar_bias",
	"node/test_gemm_default_single_elem_vector_bias",
	"node/test_gemm_default_zero_bias",
	"node/test_gemm_transposeB",
	"node/test_gemm_alpha",
	"node/test_gemm_beta",
	"node/test_matmul_2d",
	"node/test_basic_conv_with_padding",
	"node/test_basic_conv_without_padding",
	"node/test_conv_with_strides_padding",
	"node/test_conv_with_strides_no_padding",
	"node/test_conv_with_autopad_same",
	"node/test_relu",
	"node/test_sigmoid",
	"node/test_sigmoid_example",
	"node/test_tanh",
	"node/test_tanh_example",
	"node/test_maxpool_2d_default",
	"node/test_maxpool_2d_strides",
	"node/test_maxpool_2d_precomputed_strides",
	"node/test_averagepool_2d_default",
	"node/test_averagepool_2d_precomputed_strides",
	"pytorch-converted/test_Linear",
	"pytorch-converted/test_Linear_no_bias",
	"pytorch-converted/test_Conv2d_padding",
	"pytorch-converted/test_Conv2d_strided",
	"pytorch-converted/test_AvgPool2d",
	"pytorch-converted/test_ReLU",
	"pytorch-converted/test_Sigmoid",
	"pytorch-converted/test_Tanh",
}

func TestONNXReference(t *testing.T) {
	if _, err := os.Stat(onnxTestData); err != nil {
		t.Skipf("the ONNX reference models are not installed (%v): apt-get install libonnx-testdata", err)
	}
	for _, name := range onnxCases {
		t.Run(filepath.Base(name), func(t *testing.T) { onnxCase(t, filepath.Join(onnxTestData, name)) })
	}
}

// TestPyTorchExports runs the models that scripts/export-onnx-testdata.py
// exported with PyTorch 1.13 at opsets 9 to 17 (batch normalisation, padded
// average pooling, dropout, view-flatten; testdata/pytorch) against
// PyTorch's own outputs: within the bound, and within a few Q4.12 steps.
func TestPyTorchExports(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "pytorch", "*_opset*"))
	if err != nil || len(dirs) < 20 {
		t.Fatalf("%d exported models in testdata/pytorch (%v): want at least 20", len(dirs), err)
	}
	const step = 0x1p-12
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if worst := onnxCase(t, dir); worst > maxPyTorchSteps*step {
				t.Errorf("worst error %.3g is %.2f Q4.12 steps: want at most %d", worst, worst/step, maxPyTorchSteps)
			}
		})
	}
}

// maxPyTorchSteps bounds the error against PyTorch in Q4.12 steps.
const maxPyTorchSteps = 4

// onnxCase runs one reference model on its first data set and returns the
// worst error.
func onnxCase(t *testing.T, dir string) float64 {
	set := filepath.Join(dir, "test_data_set_0")
	x, err := onnx.ReadTensorFile(filepath.Join(set, "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	// The node tests give their weights as further inputs.
	bind := map[string]onnx.Tensor{}
	for k := 1; ; k++ {
		w, err := onnx.ReadTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
		if os.IsNotExist(err) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		bind[w.Name] = w
	}
	want, err := onnx.ReadTensorFile(filepath.Join(set, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"), onnx.Options{Bind: bind})
	if err != nil {
		t.Fatal(err)
	}
	net := m.Net
	// A model with a symbolic batch size runs every example of the data.
	batch := x.Size() / net.Input.Size()
	if x.Size() != batch*net.Input.Size() || want.Size() != batch*net.Output().Size() || batch != m.Batch && m.Batch != 1 {
		t.Fatalf("data of %d and %d values for %d examples of %s -> %s", x.Size(), want.Size(), m.Batch, net.Input, net.Output())
	}
	sc := chooseScale(t, net, m.Weights, x.Data, want.Data)
	weights := scaleWeights(net, m.Weights, sc)
	var ds Dataset
	in := net.Input.Size()
	for e := range batch {
		codes, sat := codes(scaled(x.Data[e*in:(e+1)*in], sc.in))
		if sat > 0 {
			t.Fatalf("example %d: %d inputs saturate after scaling by 2^-%d", e, sat, sc.in)
		}
		ds.Inputs = append(ds.Inputs, codes)
	}
	ar := arch.Default()
	ar.Structure.Nodes = 1
	ar.Crossbar.ADC = xbar.ADC{Ideal: true} // the bound covers Q4.12 rounding, not a finite ADC's clipping
	res, err := Compile(Model{Net: net, Weights: weights, Head: m.Head}, ar.ISA(), Options{Infer: true, Data: &ds})
	if err != nil {
		t.Fatal(err)
	}
	e := execute(t, ar, res, 0)
	got := e.results(res)
	bound := errorBound(net, weights, sc, maxAbs(x.Data)*math.Exp2(-float64(sc.in)))
	out := net.Output().Size()
	worst := 0.0
	for ex := range batch {
		for i := range out {
			ref := want.Data[ex*out+i]
			y := fixed.Q4_12.Float(got[ex][i]) * math.Exp2(float64(sc.out))
			d := math.Abs(y - ref)
			worst = max(worst, d)
			if d > bound+float32Margin(ref) {
				t.Fatalf("example %d output %d: got %g, reference %g: off by %g, bound %g", ex, i, y, ref, d, bound)
			}
		}
	}
	t.Logf("%d examples, scale 2^%d: worst error %.3g (%.2f Q4.12 steps), bound %.3g", batch, sc.out, worst, worst/0x1p-12, bound)
	return worst
}

// float32Margin covers the reference's own float32 rounding.
func float32Margin(ref float64) float64 { return 0x1p-20 * (1 + math.Abs(ref)) }

// scale says by which powers of two the harness divides the inputs (in),
// each layer's weights (w), and so the outputs (out): the node tests use
// values beyond Q4.12's [-8, 8), and a positively homogeneous network
// (linear layers, relu, pooling) commutes with such scaling.
type scale struct {
	in, out int
	w       []int
}

// chooseScale finds the smallest scaling that keeps inputs, weights and
// reference outputs inside [-4, 4), so that they neither saturate nor
// overflow in the sums on the way; networks with sigmoid, tanh or a
// softmax head are not homogeneous and must fit unscaled.
func chooseScale(t *testing.T, net *model.Network, weights [][]float64, x, y []float64) scale {
	sc := scale{w: make([]int, len(net.Layers))}
	homogeneous := true
	for _, l := range net.Layers {
		if l.Kind == model.Sigmoid || l.Kind == model.Tanh {
			homogeneous = false
		}
	}
	exp := func(v float64) int { // smallest k >= 0 with v / 2^k < 4
		k := 0
		for v*math.Exp2(-float64(k)) >= 4 {
			k++
		}
		return k
	}
	sc.in = exp(maxAbs(x))
	sc.out = sc.in
	for i, l := range net.Layers {
		if l.Trainable() {
			sc.w[i] = exp(maxAbs(weights[i]))
			sc.out += sc.w[i]
		}
	}
	if k := exp(maxAbs(y)); sc.out < k {
		sc.in += k - sc.out
		sc.out = k
	}
	if !homogeneous && sc.out > 0 {
		t.Fatalf("values beyond [-4, 4) in a network that is not positively homogeneous")
	}
	return sc
}

func scaled(v []float64, k int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * math.Exp2(-float64(k))
	}
	return out
}

// scaleWeights divides each layer's weights by 2^w and its bias row by
// the scale of the layer's output.
func scaleWeights(net *model.Network, weights [][]float64, sc scale) [][]float64 {
	out := make([][]float64, len(weights))
	k := sc.in
	for i, l := range net.Layers {
		if !l.Trainable() {
			continue
		}
		k += sc.w[i]
		out[i] = scaled(weights[i], sc.w[i])
		if l.Bias {
			cols := l.CellCols()
			bias := (l.CellRows() - 1) * cols
			copy(out[i][bias:], scaled(weights[i][bias:bias+cols], k))
		}
	}
	return out
}

// errorBound bounds |y - y_ref| for every output (before the harness
// scales it back), from Q4.12's half-step u = 2^-13, following
// docs/compiler.md: E is the error of the values entering a layer, X a
// bound on their size.
//
//	input:          E = u
//	dense/conv:     E' = C E + R u (X + E) + T u, X' = C (X + E)
//	                (C: largest column sum of |M|, R: rows of M, T: its
//	                row tiles, each rounding its output once)
//	relu, maxpool:  E' = E
//	avgpool:        E' = E + u (the division rounds)
//	sigmoid:        E' = E / 4 + u (slope at most 1/4, rounded once)
//	tanh:           E' = E + u
//
// and the scaled-back bound is 2^out E.
func errorBound(net *model.Network, weights [][]float64, sc scale, x float64) float64 {
	const u = 0x1p-13
	e := u
	for i, l := range net.Layers {
		switch l.Kind {
		case model.Dense, model.Conv2D:
			rows, cols := l.CellRows(), l.CellCols()
			c := 0.0
			for j := range cols {
				s := 0.0
				for r := range rows {
					s += math.Abs(weights[i][r*cols+j])
				}
				c = max(c, s)
			}
			tiles := float64((rows + 127) / 128)
			e, x = c*e+float64(rows)*u*(x+e)+tiles*u, c*(x+e)
		case model.AvgPool, model.Tanh:
			e += u
		case model.Sigmoid:
			e = e/4 + u
		}
	}
	return e * math.Exp2(float64(sc.out))
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// TestTrainFromPyTorchExport compiles a PyTorch export with a batch norm
// between two Linear layers for training: the crossbars start from the
// folded weights, and the report names the loss, saying that a graph
// without a softmax head gets softmax cross-entropy by default.
func TestTrainFromPyTorchExport(t *testing.T) {
	m, err := LoadModel(filepath.Join("testdata", "pytorch", "mlp_bn_opset13", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if !m.DefaultLoss || m.Head != onnx.NoHead {
		t.Fatalf("default loss %v, head %v: the export has no softmax head", m.DefaultLoss, m.Head)
	}
	ar := arch.Default()
	for _, loss := range []model.Loss{"", model.MSE} {
		cfg := DefaultConfig()
		cfg.Loss, cfg.Examples = loss, 2
		res, err := Compile(m, ar.ISA(), Options{Train: cfg})
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, um := range res.Units {
			cols := m.Net.Layers[um.Layer].CellCols()
			want, _ := codes(m.Weights[um.Layer])
			w := initialImage(t, res, um)
			for k, row := range um.Rows {
				for c := um.Col0; c < um.Col1; c++ {
					if got := w.Codes[k*w.Cols+c-um.Col0]; got != want[row*cols+c] {
						t.Fatalf("layer %d cell (%d, %d) starts at %d; the folded weight is %d", um.Layer+1, row, c, got, want[row*cols+c])
					}
					checked++
				}
			}
		}
		if checked != 13*16+17*4 {
			t.Errorf("%d initial cells checked; the folded layers have %d", checked, 13*16+17*4)
		}
		r := res.Report
		wantLoss, wantFrom := "softmax_cross_entropy", "the default: the ONNX graph has no Softmax or LogSoftmax head"
		if loss != "" {
			wantLoss, wantFrom = "mse", "set by the training configuration"
		}
		var text, js bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^loss +`+regexp.QuoteMeta(wantLoss+" ("+wantFrom)).MatchString(text.String()) || !strings.Contains(js.String(), `"loss": "`+wantLoss+`"`) ||
			!strings.Contains(js.String(), `"loss_source": "`+wantFrom) {
			t.Errorf("the report does not say loss %s (%s):\n%s\n%s", wantLoss, wantFrom, text.String(), js.String())
		}
	}
}
