package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/panther-xbar/panther/model"
	pb "github.com/panther-xbar/panther/model/onnx/internal/onnxpb"
)

// graph builds ONNX models for the tests, at opset 13 unless at says
// otherwise.
type graph struct {
	g     *pb.GraphProto
	opset int64
}

func (g *graph) at(opset int64) *graph {
	g.opset = opset
	return g
}

func newGraph(input string, dims ...int64) *graph {
	var shape []*pb.TensorShapeProto_Dimension
	for _, d := range dims {
		shape = append(shape, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	in := &pb.ValueInfoProto{Name: proto.String(input), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)), Shape: &pb.TensorShapeProto{Dim: shape}}}}}
	return &graph{g: &pb.GraphProto{Name: proto.String("test"), Input: []*pb.ValueInfoProto{in}}, opset: 13}
}

// ints adds an int64 initializer.
func (g *graph) ints(name string, data ...int64) *graph {
	g.g.Initializer = append(g.g.Initializer, &pb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(data))},
		DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: data})
	return g
}

// init adds a float initializer.
func (g *graph) init(name string, dims []int64, data ...float32) *graph {
	g.g.Initializer = append(g.g.Initializer, &pb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: data})
	return g
}

// node adds a node; attrs alternate names and values (int64, []int64,
// float32 or string).
func (g *graph) node(op string, in []string, out string, attrs ...any) *graph {
	n := &pb.NodeProto{OpType: proto.String(op), Input: in, Output: []string{out}, Name: proto.String(out + "_node")}
	for i := 0; i < len(attrs); i += 2 {
		a := &pb.AttributeProto{Name: proto.String(attrs[i].(string))}
		switch v := attrs[i+1].(type) {
		case int64:
			a.I = proto.Int64(v)
		case []int64:
			a.Ints = v
		case float32:
			a.F = proto.Float32(v)
		case *pb.TensorProto:
			a.T = v
		case string:
			a.S = []byte(v)
		}
		n.Attribute = append(n.Attribute, a)
	}
	g.g.Node = append(g.g.Node, n)
	return g
}

func (g *graph) bytes(t testing.TB, output string) []byte {
	t.Helper()
	g.g.Output = []*pb.ValueInfoProto{{Name: proto.String(output)}}
	m := &pb.ModelProto{IrVersion: proto.Int64(8), Graph: g.g,
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(g.opset)}}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mlp is Gemm (transB) + Relu + MatMul + Add + Softmax on 3 features.
func mlp() *graph {
	return newGraph("x", 2, 3).
		init("W1", []int64{2, 3}, 1, 2, 3, 4, 5, 6).
		init("b1", []int64{2}, 0.5, -0.5).
		init("W2", []int64{2, 2}, 1, -1, 0.25, 2).
		init("b2", []int64{2}, 0.125, 0).
		node("Gemm", []string{"x", "W1", "b1"}, "h", "transB", int64(1)).
		node("Relu", []string{"h"}, "r").
		node("MatMul", []string{"r", "W2"}, "z").
		node("Add", []string{"z", "b2"}, "y").
		node("Softmax", []string{"y"}, "p")
}

func TestReadMLP(t *testing.T) {
	m, err := Read("mlp.onnx", mlp().bytes(t, "p"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []model.Kind{}
	for _, l := range m.Net.Layers {
		kinds = append(kinds, l.Kind)
	}
	if !slices.Equal(kinds, []model.Kind{model.Dense, model.ReLU, model.Dense}) {
		t.Fatalf("layers %v", kinds)
	}
	if m.Head != Softmax || m.Batch != 2 || m.Input != "x" || m.Output != "p" || m.Net.Loss != model.SoftmaxCrossEntropy || m.DefaultLoss {
		t.Fatalf("head %v batch %d input %q output %q loss %v", m.Head, m.Batch, m.Input, m.Output, m.Net.Loss)
	}
	// Gemm with transB: W1 is [out, in], so M = W1^T is in x out, bias last.
	if want := []float64{1, 4, 2, 5, 3, 6, 0.5, -0.5}; !slices.Equal(m.Weights[0], want) {
		t.Errorf("layer 0 cell matrix %v, want %v", m.Weights[0], want)
	}
	// MatMul: B is already [in, out]; the Add supplies the bias row.
	if want := []float64{1, -1, 0.25, 2, 0.125, 0}; !slices.Equal(m.Weights[2], want) || !m.Net.Layers[2].Bias {
		t.Errorf("layer 2 cell matrix %v (bias %v), want %v", m.Weights[2], m.Net.Layers[2].Bias, want)
	}
	if m.Weights[1] != nil {
		t.Errorf("relu has weights %v", m.Weights[1])
	}
}

func TestReadCNN(t *testing.T) {
	w := make([]float32, 2*1*3*3)
	for i := range w {
		w[i] = float32(i)
	}
	b := newGraph("img", 1, 1, 6, 6).
		init("W", []int64{2, 1, 3, 3}, w...).
		init("B", []int64{2}, 1, -1).
		init("shape", []int64{2}, 1, -1).
		node("Conv", []string{"img", "W", "B"}, "c", "pads", []int64{1, 1, 1, 1}, "strides", []int64{1, 1}).
		node("Tanh", []string{"c"}, "t").
		node("MaxPool", []string{"t"}, "p", "kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}).
		node("Reshape", []string{"p", "shape"}, "f").
		bytes(t, "f")
	m, err := Read("cnn.onnx", b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Net.Layers[0]
	if c.Kind != model.Conv2D || c.Kernel != 3 || c.Padding != 1 || c.Stride != 1 || !c.Bias || c.Out != 2 {
		t.Fatalf("conv layer %+v", c)
	}
	// W[o][0][i][j] goes to row i*3+j, column o; the bias row last.
	if m.Weights[0][4*2+1] != 9+4 || m.Weights[0][9*2+1] != -1 {
		t.Errorf("cell matrix %v", m.Weights[0])
	}
	if got := m.Net.Output(); !slices.Equal(got, model.Shape{18}) {
		t.Errorf("output shape %v, want [18]", got)
	}
}

// TestReadBatchNorm checks the folding of a BatchNormalization into the
// layer before it and the layer after it, with exact values: a = scale /
// sqrt(var + epsilon) = [2, 3] and b = B - a mean = [-1.5, 0].
func TestReadBatchNorm(t *testing.T) {
	norm := func(g *graph, in, out string) *graph {
		return g.init("s", []int64{2}, 4, 3).init("B", []int64{2}, 0.5, 0).
			init("mean", []int64{2}, 1, 0).init("var", []int64{2}, 4, 1).
			node("BatchNormalization", []string{in, "s", "B", "mean", "var"}, out, "epsilon", float32(0))
	}
	w := func(g *graph) *graph { return g.init("W", []int64{2, 2}, 1, 2, 3, 4) }
	cases := []struct {
		name string
		g    *graph
		want []float64
	}{
		// After a MatMul without bias: columns scaled by a, bias row b.
		{"after", norm(w(newGraph("x", 1, 2)).node("MatMul", []string{"x", "W"}, "h"), "h", "y"),
			[]float64{2, 6, 6, 12, -1.5, 0}},
		// After a Gemm and through an Identity, with an Add after it: the
		// bias (1, 1) is scaled too, and the Add adds to it.
		{"after with bias", norm(w(newGraph("x", 1, 2)).init("C", []int64{2}, 1, 1).init("d", []int64{2}, 0.25, 0.25).
			node("Gemm", []string{"x", "W", "C"}, "h").node("Identity", []string{"h"}, "i"), "i", "n").
			node("Add", []string{"n", "d"}, "y"),
			[]float64{2, 6, 6, 12, 0.75, 3.25}},
		// Before a Gemm: rows scaled by a, M^T b added to the bias.
		{"before", w(norm(newGraph("x", 1, 2), "x", "n")).init("C", []int64{2}, 1, 1).
			node("Gemm", []string{"n", "W", "C"}, "y"),
			[]float64{2, 4, 9, 12, -0.5, -2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Read(tc.name+".onnx", tc.g.bytes(t, "y"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Net.Layers) != 1 || !m.Net.Layers[0].Bias || !slices.Equal(m.Weights[0], tc.want) {
				t.Fatalf("layers %+v, cell matrix %v, want %v", m.Net.Layers, m.Weights, tc.want)
			}
			// Without a softmax head the loss is a default, unless named.
			if !m.DefaultLoss || m.Net.Loss != model.SoftmaxCrossEntropy {
				t.Errorf("loss %s, default %v: want the default softmax cross-entropy", m.Net.Loss, m.DefaultLoss)
			}
			if m, err := Read(tc.name+".onnx", tc.g.bytes(t, "y"), Options{Loss: model.MSE}); err != nil || m.DefaultLoss || m.Net.Loss != model.MSE {
				t.Errorf("with loss mse: %v", err)
			}
		})
	}
}

// TestReadPad checks where zero padding goes: into the Conv or the
// AveragePool after it, from an attribute (opset 9) or an input.
func TestReadPad(t *testing.T) {
	one := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	cases := []struct {
		name string
		g    *graph
		kind model.Kind
		pad  int
	}{
		{"conv attribute", newGraph("x", 1, 1, 4, 4).at(9).init("W", []int64{1, 1, 3, 3}, one...).
			node("Pad", []string{"x"}, "p", "pads", []int64{0, 0, 1, 1, 0, 0, 1, 1}).
			node("Conv", []string{"p", "W"}, "y", "pads", []int64{1, 1, 1, 1}), model.Conv2D, 2},
		{"avgpool input", newGraph("x", 1, 1, 4, 4).ints("pads", 0, 0, 1, 1, 0, 0, 1, 1).
			node("Pad", []string{"x", "pads"}, "p", "mode", "constant").
			node("AveragePool", []string{"p"}, "y", "kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}), model.AvgPool, 1},
		{"avgpool count_include_pad", newGraph("x", 1, 1, 4, 4).
			node("AveragePool", []string{"x"}, "y", "kernel_shape", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}, "count_include_pad", int64(1)), model.AvgPool, 1},
		{"all zero", newGraph("x", 1, 1, 4, 4).ints("pads", 0, 0, 0, 0, 0, 0, 0, 0).
			node("Pad", []string{"x", "pads"}, "p", "mode", "reflect").
			node("MaxPool", []string{"p"}, "y", "kernel_shape", []int64{2, 2}), model.MaxPool, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Read(tc.name+".onnx", tc.g.bytes(t, "y"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if l := m.Net.Layers; len(l) != 1 || l[0].Kind != tc.kind || l[0].Padding != tc.pad {
				t.Fatalf("layers %+v, want one %s with padding %d", l, tc.kind, tc.pad)
			}
		})
	}
}

// TestReadErrors checks that every rejection names what is wrong and where.
func TestReadErrors(t *testing.T) {
	good := mlp().bytes(t, "p")
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"not an ONNX model", "no graph nodes"}},
		{"garbage", []byte("this is not a protobuf \xff\xff\xff"), []string{"not an ONNX model"}},
		{"truncated", good[:len(good)/2], []string{"not an ONNX model"}},
		{"unsupported op", newGraph("x", 1, 4).node("LSTM", []string{"x"}, "y").bytes(t, "y"),
			[]string{`node "y_node" (LSTM)`, "operator LSTM is not supported"}},
		{"shape mismatch", newGraph("x", 1, 4).init("W", []int64{3, 2}, 1, 2, 3, 4, 5, 6).
			node("MatMul", []string{"x", "W"}, "y").bytes(t, "y"), []string{`A "x" has 4 features`, `B "W" has dimensions [3 2]`}},
		{"gemm shape mismatch", newGraph("x", 1, 4).init("W", []int64{3, 2}, 1, 2, 3, 4, 5, 6).
			node("Gemm", []string{"x", "W"}, "y").bytes(t, "y"), []string{`A "x" has 4 features`, `B "W" has 3 rows`}},
		{"conv channels", newGraph("x", 1, 2, 4, 4).init("W", []int64{1, 3, 1, 1}, 1, 1, 1).
			node("Conv", []string{"x", "W"}, "y").bytes(t, "y"), []string{`W "W" expects 3 input channels`, `tensor "x" has 2`}},
		{"branch", newGraph("x", 1, 4).node("Relu", []string{"x"}, "a").node("Sigmoid", []string{"x"}, "b").bytes(t, "b"),
			[]string{"only chains of nodes are supported"}},
		{"weight data size", newGraph("x", 1, 2).init("W", []int64{2, 2}, 1, 2, 3).
			node("MatMul", []string{"x", "W"}, "y").bytes(t, "y"), []string{`tensor "W": 3 values for dimensions [2 2]; want 4`}},
		{"grouped conv", newGraph("x", 1, 2, 4, 4).init("W", []int64{2, 1, 1, 1}, 1, 1).
			node("Conv", []string{"x", "W"}, "y", "group", int64(2)).bytes(t, "y"), []string{"group = 2"}},
		{"asymmetric pads", newGraph("x", 1, 1, 4, 4).init("W", []int64{1, 1, 3, 3}, 1, 1, 1, 1, 1, 1, 1, 1, 1).
			node("Conv", []string{"x", "W"}, "y", "pads", []int64{1, 0, 1, 0}).bytes(t, "y"), []string{"pads [1 0 1 0]"}},
		{"two data inputs", func() []byte {
			g := newGraph("x", 1, 4)
			g.g.Input = append(g.g.Input, newGraph("w", 4, 2).g.Input[0])
			return g.node("MatMul", []string{"x", "w"}, "y").bytes(t, "y")
		}(), []string{"2 inputs without values (x, w)"}},
		{"constant without input", newGraph("x", 1, 4).node("Identity", nil, "k").node("Relu", []string{"x"}, "y").bytes(t, "y"),
			[]string{`node "k_node" (Identity)`}},
		{"reflect pad", newGraph("x", 1, 1, 4, 4).ints("pads", 0, 0, 1, 1, 0, 0, 1, 1).
			node("Pad", []string{"x", "pads"}, "p", "mode", "reflect").bytes(t, "p"),
			[]string{`node "p_node" (Pad)`, `mode "reflect"`, "only zero constant padding"}},
		{"pad value", newGraph("x", 1, 1, 4, 4).ints("pads", 0, 0, 1, 1, 0, 0, 1, 1).init("v", nil, 1).
			node("Pad", []string{"x", "pads", "v"}, "p").bytes(t, "p"),
			[]string{`node "p_node" (Pad)`, "with value 1"}},
		{"pad before relu", newGraph("x", 1, 1, 4, 4).ints("pads", 0, 0, 1, 1, 0, 0, 1, 1).
			node("Pad", []string{"x", "pads"}, "p").node("Relu", []string{"p"}, "y").bytes(t, "y"),
			[]string{`node "y_node" (Relu) reads the output of node "p_node" (Pad)`, "only before a Conv or AveragePool"}},
		{"pad before maxpool", newGraph("x", 1, 1, 4, 4).at(9).
			node("Pad", []string{"x"}, "p", "pads", []int64{0, 0, 1, 1, 0, 0, 1, 1}).
			node("MaxPool", []string{"p"}, "y", "kernel_shape", []int64{2, 2}).bytes(t, "y"),
			[]string{`node "y_node" (MaxPool) reads the output of node "p_node" (Pad)`}},
		{"pad at the end", newGraph("x", 1, 1, 4, 4).ints("pads", 0, 0, 1, 1, 0, 0, 1, 1).
			node("Pad", []string{"x", "pads"}, "p").bytes(t, "p"), []string{`node "p_node" (Pad) ends the graph`}},
		{"uneven pad", newGraph("x", 1, 1, 4, 4).ints("pads", 0, 0, 1, 0, 0, 0, 1, 0).
			node("Pad", []string{"x", "pads"}, "p").bytes(t, "p"), []string{`pads [0 0 1 0 0 0 1 0]`, "the same padding on every side"}},
		{"computed pads", newGraph("x", 1, 1, 4, 4).node("Pad", []string{"x", "x"}, "p").bytes(t, "p"),
			[]string{"reads more than one computed tensor"}},
		{"maxpool pads", newGraph("x", 1, 1, 4, 4).node("MaxPool", []string{"x"}, "y", "kernel_shape", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}).bytes(t, "y"),
			[]string{`node "y_node" (MaxPool)`, "max pooling takes no padding"}},
		{"avgpool excluding pads", newGraph("x", 1, 1, 4, 4).node("AveragePool", []string{"x"}, "y", "kernel_shape", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}).bytes(t, "y"),
			[]string{`node "y_node" (AveragePool)`, "count_include_pad = 0", "count_include_pad=True"}},
		{"batchnorm after relu", newGraph("x", 1, 2).init("s", []int64{2}, 1, 1).init("B", []int64{2}, 0, 0).init("v", []int64{2}, 1, 1).
			node("Relu", []string{"x"}, "r").node("BatchNormalization", []string{"r", "s", "B", "B", "v"}, "n").
			node("Relu", []string{"n"}, "y").bytes(t, "y"),
			[]string{`node "y_node" (Relu) reads the output of node "n_node" (BatchNormalization)`, "folded into the Gemm, MatMul or Conv just before or after it"}},
		{"batchnorm at the end", newGraph("x", 1, 2).init("s", []int64{2}, 1, 1).init("B", []int64{2}, 0, 0).init("v", []int64{2}, 1, 1).
			node("BatchNormalization", []string{"x", "s", "B", "B", "v"}, "n").bytes(t, "n"),
			[]string{`node "n_node" (BatchNormalization) ends the graph`}},
		{"batchnorm training", newGraph("x", 1, 2).init("s", []int64{2}, 1, 1).init("B", []int64{2}, 0, 0).init("v", []int64{2}, 1, 1).
			node("BatchNormalization", []string{"x", "s", "B", "B", "v"}, "n", "training_mode", int64(1)).bytes(t, "n"),
			[]string{`node "n_node" (BatchNormalization) is the training form`, "model.eval()"}},
		{"batchnorm channels", newGraph("x", 1, 3).init("s", []int64{2}, 1, 1).init("B", []int64{2}, 0, 0).init("v", []int64{2}, 1, 1).
			node("BatchNormalization", []string{"x", "s", "B", "B", "v"}, "n").bytes(t, "n"),
			[]string{`scale "s" has 2 values for 3 channels`}},
		{"batchnorm before padded conv", newGraph("x", 1, 1, 4, 4).init("s", []int64{1}, 1).init("B", []int64{1}, 0.5).init("m", []int64{1}, 0).init("v", []int64{1}, 1).
			init("W", []int64{1, 1, 1, 1}, 1).
			node("BatchNormalization", []string{"x", "s", "B", "m", "v"}, "n").
			node("Conv", []string{"n", "W"}, "y", "pads", []int64{1, 1, 1, 1}).bytes(t, "y"),
			[]string{`node "y_node" (Conv)`, `node "n_node" (BatchNormalization) before it cannot be folded`, "padding"}},
		{"dropout training", newGraph("x", 1, 2).init("r", nil, 0.5).ints("tm", 1).
			node("Dropout", []string{"x", "r", "tm"}, "y").bytes(t, "y"),
			[]string{`node "y_node" (Dropout)`, "training_mode is true"}},
		{"shape of an unknown tensor", newGraph("x", 1, 2).node("Shape", []string{"z"}, "s").node("Relu", []string{"x"}, "y").bytes(t, "y"),
			[]string{`node "s_node" (Shape)`, `the shape of tensor "z" is not known`}},
		{"slice step 0", newGraph("x", 1, 2).ints("d", 1, 2).ints("z", 0).
			node("Slice", []string{"d", "z", "z", "z", "z"}, "s").node("Relu", []string{"x"}, "y").bytes(t, "y"),
			[]string{`node "s_node" (Slice)`, "step 0"}},
		{"huge constant of shape", newGraph("x", 1, 2).ints("d", 100000, 100000).
			node("ConstantOfShape", []string{"d"}, "s").node("Relu", []string{"x"}, "y").bytes(t, "y"),
			[]string{`node "s_node" (ConstantOfShape)`, "at most 4096 values"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.name+".onnx", c.data, Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), c.name+".onnx: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestReadTensor(t *testing.T) {
	tp := &pb.TensorProto{Name: proto.String("t"), Dims: []int64{2}, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)),
		RawData: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}} // 1.0, -2.0 little-endian
	b, _ := proto.Marshal(tp)
	got, err := ReadTensor(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "t" || !slices.Equal(got.Data, []float64{1, -2}) {
		t.Errorf("got %+v", got)
	}
	tp.RawData = tp.RawData[:5]
	b, _ = proto.Marshal(tp)
	if _, err := ReadTensor(b); err == nil || !strings.Contains(err.Error(), "5 bytes of raw data") {
		t.Errorf("short raw data: %v", err)
	}
}

// FuzzReadONNX feeds the reader arbitrary bytes, starting from valid
// models: it must never panic, and what it accepts must be a valid chain.
func FuzzReadONNX(f *testing.F) {
	f.Add(mlp().bytes(f, "p"))
	f.Add(newGraph("x", 1, 1, 4, 4).init("W", []int64{1, 1, 3, 3}, 1, 1, 1, 1, 1, 1, 1, 1, 1).
		node("Conv", []string{"x", "W"}, "c", "auto_pad", "SAME_UPPER").
		node("AveragePool", []string{"c"}, "p", "kernel_shape", []int64{2, 2}).
		node("Flatten", []string{"p"}, "y").bytes(f, "y"))
	// PyTorch's exports (see scripts/export-onnx-testdata.py) seed it, and
	// the Debian reference models where installed.
	exports, _ := filepath.Glob("../../compiler/testdata/pytorch/*_opset1[17]/model.onnx")
	for _, name := range exports {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, name := range []string{"node/test_gemm_default_vector_bias", "pytorch-converted/test_Conv2d_strided"} {
		if b, err := os.ReadFile(filepath.Join("/usr/share/libonnx-testdata/data", name, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read("fuzz.onnx", data, Options{})
		if err != nil {
			return
		}
		if len(m.Weights) != len(m.Net.Layers) {
			t.Fatalf("%d weight slots for %d layers", len(m.Weights), len(m.Net.Layers))
		}
		for i, l := range m.Net.Layers {
			if l.Trainable() && len(m.Weights[i]) != l.CellRows()*l.CellCols() {
				t.Fatalf("layer %d: %d weights for a %d x %d cell matrix", i, len(m.Weights[i]), l.CellRows(), l.CellCols())
			}
		}
	})
}
