package onnx

import (
	"cmp"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/panther-xbar/panther/model"
	pb "github.com/panther-xbar/panther/model/onnx/internal/onnxpb"
)

// Opset and IRVersion are the ONNX operator set and IR version Write
// targets (ONNX 1.8 and later read them).
const (
	Opset     = 13
	IRVersion = 7
)

// Write encodes m's network with its weights (cell matrices M = W^T, bias
// row last) as an ONNX model that Read reads back into the same network,
// weights and head, and that other ONNX readers load: one
// node per layer (Gemm with transB = 1 and a [out, in] weight as PyTorch
// exports nn.Linear, Conv with a [out, in, k, k] weight, MaxPool,
// AveragePool, Relu, Sigmoid, Tanh, Flatten), then m.Head. The data input,
// named m.Input ("input" if empty), is [N, input shape...] with a symbolic
// batch N; the output is named m.Output ("output" if empty). Weights are float32,
// which holds every Q4.12 value q/4096 exactly. The training loss is not
// part of an ONNX graph and is not written.
func Write(w io.Writer, m *Model) error {
	mp, err := encode(m)
	if err != nil {
		return err
	}
	b, err := proto.Marshal(mp)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// encoder builds the graph node by node.
type encoder struct {
	g   *pb.GraphProto
	cur string // the tensor the chain has reached
}

func encode(m *Model) (*pb.ModelProto, error) {
	net, weights := m.Net, m.Weights
	if len(weights) != len(net.Layers) {
		return nil, fmt.Errorf("%d weight matrices for %d layers", len(weights), len(net.Layers))
	}
	input, output := cmp.Or(m.Input, "input"), cmp.Or(m.Output, "output")
	e := &encoder{g: &pb.GraphProto{Name: proto.String(net.Name)}, cur: input}
	e.g.Input = []*pb.ValueInfoProto{valueInfo(input, net.Input)}
	for i, l := range net.Layers {
		prefix := fmt.Sprintf("layers.%d", i)
		if l.Trainable() {
			rows, cols := l.CellRows(), l.CellCols()
			if len(weights[i]) != rows*cols {
				return nil, fmt.Errorf("layer %d (%s): %d weights for a %d x %d cell matrix", i+1, l.Kind, len(weights[i]), rows, cols)
			}
		}
		switch l.Kind {
		case model.Dense:
			in := l.FanIn()
			wt := make([]float64, in*l.Out) // [out, in]: W, not M = W^T
			for r := range in {
				for o := range l.Out {
					wt[o*in+r] = weights[i][r*l.Out+o]
				}
			}
			inputs := []string{e.initializer(prefix+".weight", []int{l.Out, in}, wt)}
			if l.Bias {
				inputs = append(inputs, e.initializer(prefix+".bias", []int{l.Out}, weights[i][in*l.Out:]))
			}
			e.node("Gemm", prefix, inputs, attrInt("transB", 1))
		case model.Conv2D:
			rows := l.FanIn() // (c*k + i)*k + j: ONNX's own order of W[o]
			wt := make([]float64, rows*l.Out)
			for r := range rows {
				for o := range l.Out {
					wt[o*rows+r] = weights[i][r*l.Out+o]
				}
			}
			inputs := []string{e.initializer(prefix+".weight", []int{l.Out, l.In, l.Kernel, l.Kernel}, wt)}
			if l.Bias {
				inputs = append(inputs, e.initializer(prefix+".bias", []int{l.Out}, weights[i][rows*l.Out:]))
			}
			p := int64(l.Padding)
			e.node("Conv", prefix, inputs, attrInts("kernel_shape", l.Kernel, l.Kernel), attrInts("strides", l.Stride, l.Stride),
				&pb.AttributeProto{Name: proto.String("pads"), Type: pb.AttributeProto_INTS.Enum(), Ints: []int64{p, p, p, p}})
		case model.MaxPool, model.AvgPool:
			op := map[model.Kind]string{model.MaxPool: "MaxPool", model.AvgPool: "AveragePool"}[l.Kind]
			e.node(op, prefix, nil, attrInts("kernel_shape", l.Kernel, l.Kernel), attrInts("strides", l.Stride, l.Stride))
		case model.ReLU, model.Sigmoid, model.Tanh:
			e.node(map[model.Kind]string{model.ReLU: "Relu", model.Sigmoid: "Sigmoid", model.Tanh: "Tanh"}[l.Kind], prefix, nil)
		case model.Flatten:
			e.node("Flatten", prefix, nil, attrInt("axis", 1))
		default:
			return nil, fmt.Errorf("layer %d: kind %s has no ONNX form", i+1, l.Kind)
		}
	}
	switch m.Head {
	case Softmax:
		e.node("Softmax", "softmax", nil, attrInt("axis", -1))
	case LogSoftmax:
		e.node("LogSoftmax", "log_softmax", nil, attrInt("axis", -1))
	}
	if len(e.g.Node) == 0 {
		return nil, fmt.Errorf("network %s has no layers", net.Name)
	}
	// The last node writes the graph's output.
	last := e.g.Node[len(e.g.Node)-1]
	last.Output = []string{output}
	e.g.Output = []*pb.ValueInfoProto{valueInfo(output, net.Output())}
	return &pb.ModelProto{
		IrVersion: proto.Int64(IRVersion), ProducerName: proto.String("panther"),
		Graph:       e.g,
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
	}, nil
}

// node appends a node that reads the current tensor (then inputs) and
// writes name's output.
func (e *encoder) node(op, name string, inputs []string, attrs ...*pb.AttributeProto) {
	out := name + ".out"
	e.g.Node = append(e.g.Node, &pb.NodeProto{OpType: proto.String(op), Name: proto.String(name),
		Input: append([]string{e.cur}, inputs...), Output: []string{out}, Attribute: attrs})
	e.cur = out
}

// initializer adds a float32 initializer and returns its name.
func (e *encoder) initializer(name string, dims []int, values []float64) string {
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(pb.TensorProto_FLOAT))}
	for _, d := range dims {
		t.Dims = append(t.Dims, int64(d))
	}
	t.FloatData = make([]float32, len(values))
	for i, v := range values {
		t.FloatData[i] = float32(v)
	}
	e.g.Initializer = append(e.g.Initializer, t)
	return name
}

// valueInfo describes a float tensor of shape [N, shape...], N symbolic.
func valueInfo(name string, shape model.Shape) *pb.ValueInfoProto {
	dims := []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}
	for _, d := range shape {
		dims = append(dims, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)), Shape: &pb.TensorShapeProto{Dim: dims}}}}}
}

func attrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, vs ...int) *pb.AttributeProto {
	a := &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum()}
	for _, v := range vs {
		a.Ints = append(a.Ints, int64(v))
	}
	return a
}
