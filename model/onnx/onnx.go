// Package onnx is the ONNX front end: it reads an ONNX model (the format
// PyTorch and TensorFlow export) into panther's one network description,
// model.Network, with the model's weights beside it as cell matrices
// M = W^T, the form the crossbars hold.
//
// It accepts chains of the operators PANTHER's compiler lowers: Gemm,
// MatMul (with a following Add as bias), Conv (stride, symmetric padding),
// Relu, Sigmoid, Tanh, MaxPool, AveragePool (padding counted in the mean),
// Flatten, Reshape to a vector, and a final Softmax or LogSoftmax; and what
// PyTorch's exporter puts between them: BatchNormalization (folded into the
// Gemm, MatMul or Conv next to it), zero Pad (folded into the Conv or
// AveragePool after it), Dropout and Identity (passed through), and the
// Shape/Gather/Unsqueeze/Concat arithmetic of a flatten's target shape,
// evaluated on the known shapes. Anything else is an error naming the
// operator and the node; so is a graph that branches. It knows nothing of
// crossbars, fixed point or instructions.
//
// The protobuf types in internal/onnxpb are generated from Debian's
// libonnx-dev onnx.proto (ONNX 1.12):
//
//	protoc --go_out=. --go_opt=paths=source_relative \
//	  --go_opt=Monnx.proto=github.com/panther-xbar/panther/model/onnx/internal/onnxpb onnx.proto
//
// with protoc 3.21.12 and protoc-gen-go v1.36.12.
package onnx

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/panther-xbar/panther/model"
	pb "github.com/panther-xbar/panther/model/onnx/internal/onnxpb"
)

// Head is what follows the network's last layer in the ONNX graph: the
// probabilities or log-probabilities that a softmax loss reads.
type Head uint8

// The heads.
const (
	NoHead Head = iota
	Softmax
	LogSoftmax
)

func (h Head) String() string {
	return [...]string{"none", "softmax", "log_softmax"}[min(int(h), 2)]
}

// Model is an ONNX graph in panther's terms.
type Model struct {
	Net *model.Network
	// Weights[i] is the cell matrix M = W^T of layer i, CellRows x CellCols
	// row-major with the bias row last, or nil for a layer without weights.
	Weights [][]float64
	Head    Head
	// DefaultLoss says Net.Loss is softmax cross-entropy only by default:
	// the graph has no Softmax or LogSoftmax head and Options named none.
	DefaultLoss bool
	// Input and Output name the graph's data input and its output.
	Input, Output string
	// Batch is the number of examples the data input holds: its first
	// dimension for ranks 2 and 4, else 1 (a rank-1 input is one vector, a
	// rank-3 input one C x H x W image).
	Batch int
}

// Options adjust the reading.
type Options struct {
	// Bind gives the values of graph inputs other than the data input: the
	// ONNX node tests pass their weights as inputs rather than initializers.
	Bind map[string]Tensor
	// Loss is the training loss of the network; empty means softmax cross
	// entropy, which a final Softmax or LogSoftmax also implies.
	Loss model.Loss
}

// Load reads the network that nameOrPath names (model.FormOf): an ONNX
// file with its weights and head, or a YAML file or preset, whose Model
// holds only Net.
func Load(nameOrPath string) (*Model, error) {
	form, err := model.FormOf(nameOrPath)
	if err != nil {
		return nil, err
	}
	if form == model.ONNXForm {
		return ReadFile(nameOrPath, Options{})
	}
	net, err := model.Load(nameOrPath)
	if err != nil {
		return nil, err
	}
	return &Model{Net: net}, nil
}

// ReadFile reads an ONNX model file.
func ReadFile(path string, opt Options) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Read(path, b, opt)
}

// Read converts a serialized ONNX model; name labels messages (a file name).
func Read(name string, data []byte, opt Options) (*Model, error) {
	var mp pb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("%s: not an ONNX model: %w", name, err)
	}
	g := mp.GetGraph()
	if g == nil || len(g.GetNode()) == 0 {
		return nil, fmt.Errorf("%s: not an ONNX model: it has no graph nodes", name)
	}
	opset := int64(0)
	for _, o := range mp.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			opset = o.GetVersion()
		}
	}
	c := &converter{name: name, opset: opset, consts: map[string]Tensor{}, shapes: map[string][]int{}, batch: 1, product: -1}
	if err := c.run(g, opt); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c.model, nil
}

// converter walks one graph.
type converter struct {
	name   string
	opset  int64
	consts map[string]Tensor
	model  *Model
	net    *model.Network

	cur   string      // the data tensor the chain has reached
	shape model.Shape // its shape per example
	batch int
	// shapes holds the dimensions (batch first) of every data tensor of
	// the chain, for Shape nodes.
	shapes map[string][]int
	// product is the dense or conv layer whose affine output cur is (a
	// following Add or BatchNormalization folds into it), or -1.
	product int
	// pad is a zero Pad waiting for the Conv or AveragePool that reads it;
	// norm a BatchNormalization waiting for the Gemm, MatMul or Conv after
	// it.
	pad  *pendingPad
	norm *pendingNorm
	done bool // a Softmax or LogSoftmax ended the chain
}

// pendingPad is zero padding of p on every side of an image.
type pendingPad struct {
	where string
	p     int
}

// pendingNorm is a per-channel affine map y = scale x + shift over a tensor
// of shape (per example).
type pendingNorm struct {
	where        string
	scale, shift []float64
	shape        model.Shape
}

func (c *converter) run(g *pb.GraphProto, opt Options) error {
	for _, init := range g.GetInitializer() {
		t, err := tensor(init)
		if err != nil {
			return fmt.Errorf("initializer: %w", err)
		}
		c.consts[t.Name] = t
	}
	for k, t := range opt.Bind {
		t.Name = k
		c.consts[k] = t
	}
	var data []*pb.ValueInfoProto
	for _, in := range g.GetInput() {
		if _, ok := c.consts[in.GetName()]; !ok {
			data = append(data, in)
		}
	}
	if len(data) != 1 {
		names := make([]string, len(data))
		for i, d := range data {
			names[i] = d.GetName()
		}
		return fmt.Errorf("the graph has %d inputs without values (%s): want exactly one data input; give the others as initializers", len(data), strings.Join(names, ", "))
	}
	if err := c.input(data[0]); err != nil {
		return err
	}
	c.net = &model.Network{Name: strings.TrimSuffix(filepath.Base(c.name), filepath.Ext(c.name)), Input: c.shape, Source: c.name, Loss: opt.Loss}
	if c.net.Loss == "" {
		c.net.Loss = model.SoftmaxCrossEntropy
	}
	c.model = &Model{Net: c.net, Input: c.cur, Batch: c.batch}
	c.shapes[c.cur] = c.dims()
	for i, n := range g.GetNode() {
		if err := c.node(i, n); err != nil {
			return err
		}
	}
	if c.pad != nil {
		return fmt.Errorf("%s ends the graph: zero padding is supported only before a Conv or AveragePool, which takes it over", c.pad.where)
	}
	if c.norm != nil {
		return fmt.Errorf("%s ends the graph: a BatchNormalization is folded into the Gemm, MatMul or Conv just before or after it, and there is none", c.norm.where)
	}
	if len(c.net.Layers) == 0 && c.model.Head == NoHead {
		return fmt.Errorf("the graph computes nothing panther can run: it has no layers")
	}
	outs := g.GetOutput()
	if len(outs) != 1 || outs[0].GetName() != c.cur {
		return fmt.Errorf("the graph's output must be the end of its chain, tensor %q (outputs: %d)", c.cur, len(outs))
	}
	c.model.Output = c.cur
	if c.model.Head != NoHead {
		c.net.Loss = model.SoftmaxCrossEntropy
	}
	c.model.DefaultLoss = opt.Loss == "" && c.model.Head == NoHead
	if len(c.model.Weights) < len(c.net.Layers) {
		c.model.Weights = append(c.model.Weights, make([][]float64, len(c.net.Layers)-len(c.model.Weights))...)
	}
	return InferShapes(c.net)
}

// input reads the data input's shape.
func (c *converter) input(in *pb.ValueInfoProto) error {
	c.cur = in.GetName()
	tt := in.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		return fmt.Errorf("data input %q has no tensor shape", c.cur)
	}
	var dims []int
	for i, d := range tt.GetShape().GetDim() {
		v := d.GetDimValue()
		if _, symbolic := d.GetValue().(*pb.TensorShapeProto_Dimension_DimParam); symbolic && i == 0 {
			v = 1 // a symbolic batch size: examples come one at a time
		}
		if v < 1 || v > model.MaxValues {
			return fmt.Errorf("data input %q: dimension %d is %v; want a fixed size in [1, %d]", c.cur, i, d, model.MaxValues)
		}
		dims = append(dims, int(v))
	}
	switch len(dims) {
	case 1, 3:
		c.shape = dims
	case 2, 4:
		c.batch, c.shape = dims[0], dims[1:]
	default:
		return fmt.Errorf("data input %q has rank %d: want [N, features], [N, C, H, W], [features] or [C, H, W]", c.cur, len(dims))
	}
	return nil
}

// nodeName names a node for messages.
func nodeName(i int, n *pb.NodeProto) string {
	if n.GetName() != "" {
		return fmt.Sprintf("node %q (%s)", n.GetName(), n.GetOpType())
	}
	return fmt.Sprintf("node %d (%s)", i, n.GetOpType())
}

// node converts one node.
func (c *converter) node(i int, n *pb.NodeProto) error {
	where := nodeName(i, n)
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return fmt.Errorf("%s: operator domain %q is not supported", where, d)
	}
	if len(n.GetOutput()) == 0 {
		return fmt.Errorf("%s has no output", where)
	}
	// Nodes on constants only are folded.
	dataInputs := 0
	for _, in := range n.GetInput() {
		if _, ok := c.consts[in]; !ok && in != "" {
			dataInputs++
		}
	}
	if dataInputs == 0 {
		return c.fold(where, n)
	}
	op := n.GetOpType()
	if op == "Shape" {
		return c.shapeOf(where, n)
	}
	if c.done {
		return fmt.Errorf("%s follows the final %s: it must be the last node", where, c.model.Head)
	}
	if len(n.GetInput()) == 0 || n.GetInput()[0] != c.cur {
		return fmt.Errorf("%s does not read tensor %q, the output of the node before it, as its first input: only chains of nodes are supported", where, c.cur)
	}
	if dataInputs > 1 {
		return fmt.Errorf("%s reads more than one computed tensor: only chains of nodes are supported", where)
	}
	passThrough := op == "Identity" || op == "Dropout"
	if c.pad != nil && op != "Conv" && op != "AveragePool" && !passThrough {
		return fmt.Errorf("%s reads the output of %s: zero padding is supported only before a Conv or AveragePool, which takes it over", where, c.pad.where)
	}
	if c.norm != nil && !slices.Contains([]string{"Gemm", "MatMul", "Conv", "Flatten", "Reshape"}, op) && !passThrough {
		return fmt.Errorf("%s reads the output of %s: a BatchNormalization is folded into the Gemm, MatMul or Conv just before or after it (with at most a Flatten between)", where, c.norm.where)
	}
	product := c.product
	c.product = -1
	var err error
	switch op {
	case "Gemm":
		err = c.gemm(where, n)
	case "MatMul":
		err = c.matmul(where, n)
	case "Add":
		err = c.add(where, n, product)
	case "BatchNormalization":
		err = c.batchNorm(where, n, product)
	case "Pad":
		err = c.padding(where, n)
	case "Conv":
		err = c.conv(where, n)
	case "Relu":
		err = c.layer(where, model.Layer{Kind: model.ReLU}, nil)
	case "Sigmoid":
		err = c.layer(where, model.Layer{Kind: model.Sigmoid}, nil)
	case "Tanh":
		err = c.layer(where, model.Layer{Kind: model.Tanh}, nil)
	case "MaxPool", "AveragePool":
		err = c.pool(where, n)
	case "Flatten":
		err = c.flatten(where, n)
	case "Reshape":
		err = c.reshape(where, n)
	case "Softmax", "LogSoftmax":
		err = c.softmax(where, n)
	case "Identity", "Dropout":
		// Inference passes the tensor through.
		err = c.dropout(where, n)
		c.product = product
	default:
		return fmt.Errorf("%s: operator %s is not supported (supported: %s)", where, op, supported)
	}
	if err != nil {
		return err
	}
	c.cur = n.GetOutput()[0]
	if _, ok := c.shapes[c.cur]; !ok {
		c.shapes[c.cur] = c.dims()
	}
	return nil
}

// supported lists the operators on the data chain for messages.
const supported = "Gemm, MatMul, Add, Conv, Relu, Sigmoid, Tanh, MaxPool, AveragePool, Flatten, Reshape, Softmax, LogSoftmax, " +
	"BatchNormalization and Pad (folded), Dropout, Identity, Shape"

// dims is the current tensor's dimensions, batch first.
func (c *converter) dims() []int { return append([]int{c.batch}, c.shape...) }

// dropout checks that a Dropout is the inference form: a training_mode
// input, where given, must be false.
func (c *converter) dropout(where string, n *pb.NodeProto) error {
	if n.GetOpType() != "Dropout" || len(n.GetInput()) < 3 || n.GetInput()[2] == "" {
		return nil
	}
	t, err := c.weight(where, n, 2, "training_mode")
	if err != nil {
		return err
	}
	if slices.ContainsFunc(t.Data, func(v float64) bool { return v != 0 }) {
		return fmt.Errorf("%s: training_mode is true: export the model for inference (model.eval())", where)
	}
	return nil
}

// shapeOf evaluates a Shape node on a tensor of the chain, whose shape is
// known: the shapes a flatten's target is computed from become constants.
func (c *converter) shapeOf(where string, n *pb.NodeProto) error {
	if len(n.GetInput()) != 1 {
		return fmt.Errorf("%s has %d inputs; want 1", where, len(n.GetInput()))
	}
	dims, ok := c.shapes[n.GetInput()[0]]
	if !ok {
		return fmt.Errorf("%s: the shape of tensor %q is not known: Shape is supported on the tensors of the chain", where, n.GetInput()[0])
	}
	// Opset 15 takes a slice [start, end) of the dimensions.
	r := int64(len(dims))
	bound := func(v int64) int {
		if v < 0 {
			v += r
		}
		return int(min(max(v, 0), r))
	}
	start, end := bound(intAttr(n, "start", 0)), bound(intAttr(n, "end", r))
	t := Tensor{Name: n.GetOutput()[0], Dims: []int{max(end-start, 0)}}
	for _, d := range dims[start:max(start, end)] {
		t.Data = append(t.Data, float64(d))
	}
	c.consts[t.Name] = t
	return nil
}

func attr(n *pb.NodeProto, name string) *pb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func ints(n *pb.NodeProto, name string) []int64 {
	if a := attr(n, name); a != nil {
		return a.GetInts()
	}
	return nil
}

func intAttr(n *pb.NodeProto, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

func floatAttr(n *pb.NodeProto, name string, def float64) float64 {
	if a := attr(n, name); a != nil {
		return float64(a.GetF())
	}
	return def
}

// weight returns constant input k of n, or an error naming it.
func (c *converter) weight(where string, n *pb.NodeProto, k int, what string) (Tensor, error) {
	if k >= len(n.GetInput()) || n.GetInput()[k] == "" {
		return Tensor{}, fmt.Errorf("%s has no %s input", where, what)
	}
	t, ok := c.consts[n.GetInput()[k]]
	if !ok {
		return Tensor{}, fmt.Errorf("%s: %s %q is computed, not a constant: it must be an initializer or a Constant", where, what, n.GetInput()[k])
	}
	return t, nil
}

// layer appends l with cell matrix m (nil for none), folds a waiting
// BatchNormalization into a dense or conv layer, and updates the shape. A
// dense or conv layer becomes the product a following Add or
// BatchNormalization folds into.
func (c *converter) layer(where string, l model.Layer, m []float64) error {
	l.Source = where
	c.net.Layers = append(c.net.Layers, l)
	c.model.Weights = append(c.model.Weights, slices.Clone(m))
	i := len(c.net.Layers) - 1
	if l.Trainable() {
		c.product = i
		if c.norm != nil {
			if err := c.foldNormBefore(i); err != nil {
				return err
			}
		}
	}
	if err := c.finite(i); err != nil {
		return err
	}
	if err := InferShapes(c.net); err != nil {
		return err
	}
	c.shape = c.net.Output()
	return nil
}

// finite checks layer i's weights after scaling and folding.
func (c *converter) finite(i int) error {
	for _, v := range c.model.Weights[i] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: a weight is %v after scaling by alpha or beta or folding a BatchNormalization; weights must be finite", c.net.Layers[i].Source, v)
		}
	}
	return nil
}

// addBias adds row to the bias row of layer i, which gains one where it
// has none.
func (c *converter) addBias(i int, row []float64) {
	l := &c.net.Layers[i]
	if !l.Bias {
		l.Bias = true
		c.model.Weights[i] = append(c.model.Weights[i], row...)
		return
	}
	m := c.model.Weights[i]
	b := m[len(m)-len(row):]
	for o, v := range row {
		b[o] += v
	}
}

// vectorIn is the number of features of the current tensor, which must be
// a vector per example.
func (c *converter) vectorIn(where string) (int, error) {
	if len(c.shape) != 1 {
		return 0, fmt.Errorf("%s needs a vector per example, but tensor %q is %s per example: insert a Flatten", where, c.cur, c.shape)
	}
	return c.shape[0], nil
}

// dense appends a dense layer y = W x from w (in x out, M = W^T already).
func (c *converter) dense(where string, in, out int, m []float64) error {
	return c.layer(where, model.Layer{Kind: model.Dense, In: in, Out: out}, m)
}

func (c *converter) gemm(where string, n *pb.NodeProto) error {
	if intAttr(n, "transA", 0) != 0 {
		return fmt.Errorf("%s: transA = 1 is not supported: examples must be the rows of A", where)
	}
	in, err := c.vectorIn(where)
	if err != nil {
		return err
	}
	b, err := c.weight(where, n, 1, "B")
	if err != nil {
		return err
	}
	transB := intAttr(n, "transB", 0) != 0
	if len(b.Dims) != 2 {
		return fmt.Errorf("%s: B %q has dimensions %v; want a matrix", where, b.Name, b.Dims)
	}
	k, out := b.Dims[0], b.Dims[1]
	if transB {
		k, out = out, k
	}
	if k != in {
		return fmt.Errorf("%s: A %q has %d features per example but B %q has %d rows (after transB): they must match", where, c.cur, in, b.Name, k)
	}
	alpha, beta := floatAttr(n, "alpha", 1), floatAttr(n, "beta", 1)
	m := make([]float64, (in+1)*out)
	for r := range in {
		for o := range out {
			v := b.Data[r*out+o]
			if transB {
				v = b.Data[o*in+r]
			}
			m[r*out+o] = alpha * v
		}
	}
	if len(n.GetInput()) < 3 || n.GetInput()[2] == "" {
		return c.dense(where, in, out, m[:in*out])
	}
	cb, err := c.weight(where, n, 2, "C")
	if err != nil {
		return err
	}
	row, err := biasRow(where, cb, out)
	if err != nil {
		return err
	}
	for o, v := range row {
		m[in*out+o] = beta * v
	}
	return c.layer(where, model.Layer{Kind: model.Dense, In: in, Out: out, Bias: true}, m)
}

// biasRow reads a bias broadcastable to out values: a scalar, [out],
// [1, out], or [N, out] with N equal rows.
func biasRow(where string, t Tensor, out int) ([]float64, error) {
	size := t.Size()
	switch {
	case size == 1:
		return slices.Repeat([]float64{t.Data[0]}, out), nil
	case size == out && (len(t.Dims) == 1 || len(t.Dims) == 2 && t.Dims[0] == 1):
		return t.Data, nil
	case len(t.Dims) == 2 && t.Dims[1] == out && t.Dims[0] > 0:
		for r := 1; r < t.Dims[0]; r++ {
			if !slices.Equal(t.Data[r*out:(r+1)*out], t.Data[:out]) {
				return nil, fmt.Errorf("%s: bias %q (%v) differs between examples: a layer has one bias row", where, t.Name, t.Dims)
			}
		}
		return t.Data[:out], nil
	}
	return nil, fmt.Errorf("%s: bias %q has dimensions %v, which do not broadcast to %d outputs", where, t.Name, t.Dims, out)
}

func (c *converter) matmul(where string, n *pb.NodeProto) error {
	in, err := c.vectorIn(where)
	if err != nil {
		return err
	}
	b, err := c.weight(where, n, 1, "B")
	if err != nil {
		return err
	}
	if len(b.Dims) != 2 || b.Dims[0] != in {
		return fmt.Errorf("%s: A %q has %d features per example but B %q has dimensions %v: want [%d, outputs]", where, c.cur, in, b.Name, b.Dims, in)
	}
	return c.dense(where, in, b.Dims[1], b.Data)
}

// add folds a constant into the bias of the layer whose output it reads.
func (c *converter) add(where string, n *pb.NodeProto, layer int) error {
	if layer < 0 {
		return fmt.Errorf("%s: Add is supported only as the bias of the MatMul, Gemm or Conv just before it", where)
	}
	c.product = layer
	b, err := c.weight(where, n, 1, "bias")
	if err != nil {
		return err
	}
	l := &c.net.Layers[layer]
	cols := l.CellCols()
	if l.Kind == model.Conv2D {
		// A per-channel bias of an image: [C], [C, 1, 1] or [1, C, 1, 1].
		if b.Size() == cols {
			b.Dims = []int{cols}
		}
	}
	row, err := biasRow(where, b, cols)
	if err != nil {
		return err
	}
	c.addBias(layer, row)
	return nil
}

// batchNorm reads an inference-form BatchNormalization, y = scale (x -
// mean) / sqrt(var + epsilon) + B per channel (dimension 1), as y = a x + b
// with a = scale / sqrt(var + epsilon) and b = B - a mean, and folds it into
// the dense or conv layer whose output it reads, or keeps it for the one
// after it.
func (c *converter) batchNorm(where string, n *pb.NodeProto, product int) error {
	if len(n.GetOutput()) > 1 || intAttr(n, "training_mode", 0) != 0 {
		return fmt.Errorf("%s is the training form (running statistics as outputs): export the model for inference (model.eval())", where)
	}
	if len(c.shape) != 1 && len(c.shape) != 3 {
		return fmt.Errorf("%s: tensor %q is %s per example: want a vector or an image", where, c.cur, c.shape)
	}
	ch := c.shape[0]
	var p [4][]float64
	for k, what := range []string{"scale", "B", "mean", "var"} {
		t, err := c.weight(where, n, k+1, what)
		if err != nil {
			return err
		}
		if t.Size() != ch || len(t.Data) != ch {
			return fmt.Errorf("%s: %s %q has %d values for %d channels of tensor %q", where, what, t.Name, len(t.Data), ch, c.cur)
		}
		p[k] = t.Data
	}
	eps := floatAttr(n, "epsilon", 1e-5)
	norm := &pendingNorm{where: where, scale: make([]float64, ch), shift: make([]float64, ch), shape: slices.Clone(c.shape)}
	for k := range ch {
		if v := p[3][k] + eps; v > 0 {
			norm.scale[k] = p[0][k] / math.Sqrt(v)
		} else {
			return fmt.Errorf("%s: var + epsilon of channel %d is %v: want it positive", where, k, v)
		}
		norm.shift[k] = p[1][k] - norm.scale[k]*p[2][k]
	}
	if product < 0 {
		c.norm = norm
		return nil
	}
	// After the layer: y = a (M^T x + c) + b scales column o of M, bias
	// row included, by a[o] and adds b[o] to the bias.
	c.product = product
	m := c.model.Weights[product]
	cols := c.net.Layers[product].CellCols()
	for k, v := range m {
		m[k] = v * norm.scale[k%cols]
	}
	c.addBias(product, norm.shift)
	return c.finite(product)
}

// foldNormBefore folds the waiting BatchNormalization into layer i, which
// reads its output (through a Flatten at most): M^T (a x + b) + c scales
// row r of M by the a of its input channel and adds M^T b to the bias.
func (c *converter) foldNormBefore(i int) error {
	norm, l := c.norm, c.net.Layers[i]
	c.norm = nil
	m := c.model.Weights[i]
	cols, rows := l.CellCols(), l.FanIn()
	// per is how many consecutive rows share an input channel.
	per := norm.shape.Size() / len(norm.scale)
	if l.Kind == model.Conv2D {
		per = l.Kernel * l.Kernel
		if l.Padding > 0 && slices.ContainsFunc(norm.shift, func(v float64) bool { return v != 0 }) {
			return fmt.Errorf("%s: %s before it cannot be folded into its weights: its padding zeros would not be shifted; pad after the normalisation with a Pad node or drop the Conv's padding", l.Source, norm.where)
		}
	}
	if rows != per*len(norm.scale) {
		return fmt.Errorf("%s reads %d values per window, which do not match the %d channels of %s before it", l.Source, rows, len(norm.scale), norm.where)
	}
	bias := make([]float64, cols)
	for r := range rows {
		a, b := norm.scale[r/per], norm.shift[r/per]
		for o := range cols {
			bias[o] += m[r*cols+o] * b
			m[r*cols+o] *= a
		}
	}
	c.addBias(i, bias)
	return c.finite(i)
}

// padding reads a Pad: all zero amounts pass the tensor through; zero
// constant padding of an image, the same on every side of H and W, waits
// for the Conv or AveragePool after it (opset 11 on gives the amounts and
// the value as inputs, before it as attributes).
func (c *converter) padding(where string, n *pb.NodeProto) error {
	mode := string(attrBytes(n, "mode"))
	pads, value := ints(n, "pads"), floatAttr(n, "value", 0)
	if c.opset >= 11 {
		t, err := c.weight(where, n, 1, "pads")
		if err != nil {
			return err
		}
		pads = nil
		for _, v := range t.Data {
			pads = append(pads, int64(v))
		}
		if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
			v, err := c.weight(where, n, 2, "constant_value")
			if err != nil {
				return err
			}
			if len(v.Data) != 1 {
				return fmt.Errorf("%s: constant_value %q has %d values; want one", where, v.Name, len(v.Data))
			}
			value = v.Data[0]
		}
		if len(n.GetInput()) > 3 && n.GetInput()[3] != "" {
			return fmt.Errorf("%s: the axes input is not supported: give pads for every dimension", where)
		}
	}
	rank := len(c.shape) + 1
	if len(pads) != 2*rank {
		return fmt.Errorf("%s: pads %v for tensor %q of rank %d: want %d amounts", where, pads, c.cur, rank, 2*rank)
	}
	if !slices.ContainsFunc(pads, func(v int64) bool { return v != 0 }) {
		return nil
	}
	if mode != "" && mode != "constant" || value != 0 {
		return fmt.Errorf("%s: mode %q with value %v: only zero constant padding is supported (before a Conv or AveragePool, which takes it over)", where, mode, value)
	}
	// pads = [N, C, H, W begins, N, C, H, W ends]
	p := pads[2]
	if rank != 4 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 ||
		pads[3] != p || pads[6] != p || pads[7] != p || p < 0 || p > model.MaxValues {
		return fmt.Errorf("%s: pads %v: only the same padding on every side of an image's height and width is supported", where, pads)
	}
	c.pad = &pendingPad{where: where, p: int(p)}
	h, w := int64(c.shape[1])+2*p, int64(c.shape[2])+2*p
	if h > model.MaxValues || w > model.MaxValues {
		return fmt.Errorf("%s: pads %v make an image too large", where, pads)
	}
	c.shapes[n.GetOutput()[0]] = []int{c.batch, c.shape[0], int(h), int(w)}
	return nil
}

// takePad returns the padding of a waiting Pad, which the caller takes
// over.
func (c *converter) takePad() int {
	if c.pad == nil {
		return 0
	}
	p := c.pad.p
	c.pad = nil
	return p
}

// spatial reads the kernel, stride and padding of a Conv or pooling node
// whose kernel is k x k, checking everything we cannot lower.
func (c *converter) spatial(where string, n *pb.NodeProto, k int) (stride, pad int, err error) {
	if len(c.shape) != 3 {
		return 0, 0, fmt.Errorf("%s needs an image [C, H, W] per example, but tensor %q is %s", where, c.cur, c.shape)
	}
	for _, d := range ints(n, "dilations") {
		if d != 1 {
			return 0, 0, fmt.Errorf("%s: dilations %v are not supported", where, ints(n, "dilations"))
		}
	}
	s := ints(n, "strides")
	switch {
	case s == nil:
		stride = 1
	case len(s) == 2 && s[0] == s[1] && s[0] >= 1 && s[0] <= model.MaxValues:
		stride = int(s[0])
	default:
		return 0, 0, fmt.Errorf("%s: strides %v: want two equal strides", where, s)
	}
	p := ints(n, "pads")
	switch {
	case p == nil:
	case len(p) == 4 && p[0] == p[1] && p[0] == p[2] && p[0] == p[3] && p[0] >= 0 && p[0] <= model.MaxValues:
		pad = int(p[0])
	default:
		return 0, 0, fmt.Errorf("%s: pads %v: only the same padding on every side is supported", where, p)
	}
	switch ap := string(attrBytes(n, "auto_pad")); ap {
	case "", "NOTSET":
	case "VALID":
		pad = 0
	case "SAME_UPPER", "SAME_LOWER":
		if c.pad != nil {
			return 0, 0, fmt.Errorf("%s: auto_pad %s after %s is not supported: give explicit pads", where, ap, c.pad.where)
		}
		// Output ceil(in / stride); the total padding must split evenly.
		h, w := c.shape[1], c.shape[2]
		var total [2]int
		for i, in := range []int{h, w} {
			out := (in + stride - 1) / stride
			total[i] = max((out-1)*stride+k-in, 0)
		}
		if total[0] != total[1] || total[0]%2 != 0 {
			return 0, 0, fmt.Errorf("%s: auto_pad %s needs padding %v, which is not the same on every side", where, ap, total)
		}
		pad = total[0] / 2
	default:
		return 0, 0, fmt.Errorf("%s: auto_pad %q is not supported", where, ap)
	}
	return stride, pad, nil
}

func attrBytes(n *pb.NodeProto, name string) []byte {
	if a := attr(n, name); a != nil {
		return a.GetS()
	}
	return nil
}

func (c *converter) conv(where string, n *pb.NodeProto) error {
	if g := intAttr(n, "group", 1); g != 1 {
		return fmt.Errorf("%s: group = %d: grouped and depthwise convolutions are not supported", where, g)
	}
	w, err := c.weight(where, n, 1, "W")
	if err != nil {
		return err
	}
	if len(w.Dims) != 4 || w.Dims[2] != w.Dims[3] {
		return fmt.Errorf("%s: W %q has dimensions %v: want [out, in, k, k], a square kernel", where, w.Name, w.Dims)
	}
	out, in, k := w.Dims[0], w.Dims[1], w.Dims[2]
	if ks := ints(n, "kernel_shape"); ks != nil && !slices.Equal(ks, []int64{int64(k), int64(k)}) {
		return fmt.Errorf("%s: kernel_shape %v does not match W %q %v", where, ks, w.Name, w.Dims)
	}
	stride, pad, err := c.spatial(where, n, k)
	if err != nil {
		return err
	}
	pad += c.takePad()
	if in != c.shape[0] {
		return fmt.Errorf("%s: W %q expects %d input channels but tensor %q has %d", where, w.Name, in, c.cur, c.shape[0])
	}
	rows := in * k * k
	m := make([]float64, rows*out, (rows+1)*out)
	for o := range out {
		for r := range rows { // r = (ch*k + i)*k + j, ONNX's own order of W[o]
			m[r*out+o] = w.Data[o*rows+r]
		}
	}
	l := model.Layer{Kind: model.Conv2D, In: in, Out: out, Kernel: k, Stride: stride, Padding: pad}
	if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		b, err := c.weight(where, n, 2, "B")
		if err != nil {
			return err
		}
		if b.Size() != out {
			return fmt.Errorf("%s: bias %q has %d values for %d output channels", where, b.Name, b.Size(), out)
		}
		l.Bias = true
		m = append(m, b.Data...)
	}
	return c.layer(where, l, m)
}

func (c *converter) pool(where string, n *pb.NodeProto) error {
	ks := ints(n, "kernel_shape")
	if len(ks) != 2 || ks[0] != ks[1] || ks[0] < 1 || ks[0] > model.MaxValues {
		return fmt.Errorf("%s: kernel_shape %v: want a square 2-D kernel", where, ks)
	}
	k := int(ks[0])
	stride, pad, err := c.spatial(where, n, k)
	if err != nil {
		return err
	}
	kind := model.MaxPool
	if n.GetOpType() == "AveragePool" {
		kind = model.AvgPool
	}
	switch {
	case pad != 0 && kind == model.MaxPool:
		return fmt.Errorf("%s: padding %d: max pooling takes no padding", where, pad)
	case pad != 0 && intAttr(n, "count_include_pad", 0) == 0:
		return fmt.Errorf("%s: padding %d with count_include_pad = 0: only padding counted in the mean is supported (PyTorch's count_include_pad=True)", where, pad)
	}
	pad += c.takePad() // zero padding before it counts in the mean too
	if intAttr(n, "ceil_mode", 0) != 0 {
		return fmt.Errorf("%s: ceil_mode = 1 is not supported", where)
	}
	if len(n.GetOutput()) > 1 {
		return fmt.Errorf("%s: the indices output of MaxPool is not supported", where)
	}
	return c.layer(where, model.Layer{Kind: kind, Kernel: k, Stride: stride, Padding: pad}, nil)
}

func (c *converter) flatten(where string, n *pb.NodeProto) error {
	axis := intAttr(n, "axis", 1)
	rank := len(c.shape) + 1 // with the batch dimension
	if axis < 0 {
		axis += int64(rank)
	}
	if axis != 1 {
		return fmt.Errorf("%s: axis %d: only Flatten after the batch dimension (axis 1) is supported", where, intAttr(n, "axis", 1))
	}
	if len(c.shape) == 1 {
		return nil
	}
	return c.layer(where, model.Layer{Kind: model.Flatten}, nil)
}

func (c *converter) reshape(where string, n *pb.NodeProto) error {
	s, err := c.weight(where, n, 1, "shape")
	if err != nil {
		return err
	}
	if len(s.Data) > 0 && (s.Data[0] == float64(c.batch) || s.Data[0] == 0 || s.Data[0] == -1) {
		rest := s.Data[1:]
		size := c.shape.Size()
		if len(rest) == 1 && (rest[0] == float64(size) || rest[0] == -1) {
			return c.flatten(where, n)
		}
		same := len(rest) == len(c.shape)
		for i := 0; same && i < len(rest); i++ {
			same = rest[i] == float64(c.shape[i])
		}
		if same {
			return nil
		}
	}
	return fmt.Errorf("%s: reshape of %q (%d x %s) to %v: only flattening each example to a vector is supported", where, c.cur, c.batch, c.shape, s.Data)
}

func (c *converter) softmax(where string, n *pb.NodeProto) error {
	if _, err := c.vectorIn(where); err != nil {
		return err
	}
	def := int64(1)
	if c.opset >= 13 {
		def = -1
	}
	axis := intAttr(n, "axis", def)
	if axis != -1 && axis != 1 {
		return fmt.Errorf("%s: axis %d: only a softmax over each example's features is supported", where, axis)
	}
	c.model.Head = Softmax
	if n.GetOpType() == "LogSoftmax" {
		c.model.Head = LogSoftmax
	}
	c.done = true
	return nil
}

// InferShapes fills In (where 0), InShape and OutShape of every layer as
// model.Network.Infer does, but without Infer's training checks, so that it
// also accepts a network without weights or one that ends in an image (an
// inference-only graph such as a single MaxPool).
func InferShapes(net *model.Network) error {
	tmp := *net
	// A flatten and a one-output dense layer make any valid chain trainable
	// with a vector output; neither can fail, so errors name net's layers.
	tmp.Layers = append(slices.Clone(net.Layers), model.Layer{Kind: model.Flatten}, model.Layer{Kind: model.Dense, Out: 1})
	if tmp.Loss == "" {
		tmp.Loss = model.MSE
	}
	if err := tmp.Infer(); err != nil {
		return err
	}
	copy(net.Layers, tmp.Layers)
	return nil
}
