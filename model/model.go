// Package model owns panther's one description of a neural network: the
// input shape, an ordered list of layers with their sizes, and the loss. The
// front ends (the YAML form here; ONNX later) produce this same plain type,
// and both the trainer and the compiler consume it, so a network means the
// same thing everywhere. Shape inference and validation live here too, so a
// network whose sizes do not chain is rejected before anything runs.
//
// It knows nothing of crossbars, fixed point, training or instructions; the
// datasets live in the subpackage model/data.
package model

import (
	"fmt"
	"strings"

	"github.com/panther-xbar/panther/internal/enum"
)

// Kind names a layer type.
type Kind string

// The layer types.
const (
	Dense   Kind = "dense"   // y = W x (+ b)
	Conv2D  Kind = "conv2d"  // 2-D convolution over (C, H, W)
	MaxPool Kind = "maxpool" // maximum over k x k windows, per channel
	AvgPool Kind = "avgpool" // mean over k x k windows, per channel
	ReLU    Kind = "relu"
	Sigmoid Kind = "sigmoid"
	Tanh    Kind = "tanh"
	Flatten Kind = "flatten" // (C, H, W) to C*H*W values in that order
)

// Kinds lists every layer type in a fixed order.
var Kinds = []Kind{Dense, Conv2D, MaxPool, AvgPool, ReLU, Sigmoid, Tanh, Flatten}

// Loss names a training loss.
type Loss string

// The losses.
const (
	SoftmaxCrossEntropy Loss = "softmax_cross_entropy"
	MSE                 Loss = "mse" // 1/2 sum (y - onehot)^2
)

// Losses lists the losses in a fixed order.
var Losses = []Loss{SoftmaxCrossEntropy, MSE}

// Shape is a tensor shape: [n] for a vector, [C, H, W] for images.
type Shape []int

// Size is the number of values.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

// Layer is one layer. Which fields apply depends on Kind:
//
//   - Dense: In (inputs; 0 means take the previous output), Out, Bias.
//   - Conv2D: In (input channels; 0 means take the previous output), Out
//     (output channels), Kernel (k x k), Stride (>= 1), Padding (zeros on
//     every side), Bias.
//   - MaxPool, AvgPool: Kernel (k x k windows), Stride (>= 1); the output
//     keeps floor((H + 2 Padding - k)/stride) + 1 rows (likewise columns).
//     Only AvgPool takes Padding: zeros on every side that count in the
//     mean, which always divides by k*k (PyTorch's count_include_pad).
//   - ReLU, Sigmoid, Tanh, Flatten: nothing.
//
// A dense or convolution layer is a matrix product on a cell matrix
// M = W^T of CellRows x CellCols (docs/compiler.md): a dense layer's rows are
// its inputs in order; a convolution's rows are its unrolled input patch,
// row (c*k + i)*k + j for input channel c and kernel offset (i, j); the bias,
// when present, is one more row (the last) driven by the value 1, which
// lies on the crossbars only where BiasOnCrossbar says so. Columns are the
// outputs (channels).
type Layer struct {
	Kind                    Kind
	In, Out                 int
	Kernel, Stride, Padding int
	Bias                    bool
	// Source says where the layer was written (file:line:col, or a node
	// name of another front end), for messages.
	Source string
	// InShape and OutShape are filled by Network.Infer.
	InShape, OutShape Shape
}

// Trainable reports whether the layer holds weights on crossbars.
func (l Layer) Trainable() bool { return l.Kind == Dense || l.Kind == Conv2D }

// CellRows and CellCols give the shape of the layer's cell matrix M = W^T,
// bias row included; both are 0 for layers without weights. Valid after
// Infer.
func (l Layer) CellRows() int {
	n := 0
	switch l.Kind {
	case Dense:
		n = l.In
	case Conv2D:
		n = l.Kernel * l.Kernel * l.In
	default:
		return 0
	}
	if l.Bias {
		n++
	}
	return n
}

// CellCols is the number of outputs (dense) or output channels (conv2d).
func (l Layer) CellCols() int {
	if !l.Trainable() {
		return 0
	}
	return l.Out
}

// FanIn is the number of weights feeding one output, bias excluded.
func (l Layer) FanIn() int {
	if l.Bias {
		return l.CellRows() - 1
	}
	return l.CellRows()
}

// BiasPlacement says where the biases of layers lie (docs/training.md,
// "Biases"). The zero value is BiasAuto.
type BiasPlacement uint8

const (
	// BiasAuto makes a bias a row of its layer's cell matrix on the
	// crossbars only where the layer's inputs leave a spare row in their
	// last row tile, so that a bias never costs a row tile of its own;
	// otherwise the bias is held outside the crossbars, in the vector unit.
	BiasAuto BiasPlacement = iota
	// BiasCrossbar makes every bias a crossbar row.
	BiasCrossbar
)

var biasPlacementNames = enum.Names[BiasPlacement]{BiasAuto: "auto", BiasCrossbar: "crossbar"}

func (p BiasPlacement) String() string { return biasPlacementNames.String("bias", p) }

// ParseBiasPlacement reads a bias placement: auto or crossbar.
func ParseBiasPlacement(s string) (BiasPlacement, error) { return biasPlacementNames.Parse("bias", s) }

func (p BiasPlacement) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (p *BiasPlacement) UnmarshalText(b []byte) error {
	v, err := ParseBiasPlacement(string(b))
	*p = v
	return err
}

// BiasOnCrossbar reports whether the layer's bias is a row of its cell
// matrix on the crossbars of crossbarRows rows under placement p. The
// trainer and the compiler both decide with this function.
func (l Layer) BiasOnCrossbar(crossbarRows int, p BiasPlacement) bool {
	return l.Bias && (p == BiasCrossbar || l.FanIn()%crossbarRows != 0)
}

// CrossbarRows is the number of cell-matrix rows that lie on crossbars of
// crossbarRows rows under placement p: the inputs, and the bias row where
// BiasOnCrossbar.
func (l Layer) CrossbarRows(crossbarRows int, p BiasPlacement) int {
	if l.Bias && !l.BiasOnCrossbar(crossbarRows, p) {
		return l.FanIn()
	}
	return l.CellRows()
}

// describe names the layer for messages: "layer 3 (dense at mlp.yaml:7:5)".
func (l Layer) describe(i int) string {
	if l.Source != "" {
		return fmt.Sprintf("layer %d (%s at %s)", i+1, l.Kind, l.Source)
	}
	return fmt.Sprintf("layer %d (%s)", i+1, l.Kind)
}

// Network is a whole model: what it reads, its layers in order and the loss
// its output feeds.
type Network struct {
	Name   string
	Input  Shape
	Layers []Layer
	Loss   Loss
	// Source is the file or preset the network came from.
	Source string
}

// MaxValues bounds every tensor and cell matrix, so that a mistyped size is
// an error rather than an attempt to allocate terabytes.
const MaxValues = 1 << 26

// Output is the shape of the last layer's output (the input without layers).
// Valid after Infer.
func (n *Network) Output() Shape {
	if len(n.Layers) == 0 {
		return n.Input
	}
	return n.Layers[len(n.Layers)-1].OutShape
}

// Infer checks that the layers chain and fills In (where it was left 0),
// InShape and OutShape of every layer. Errors name the layers involved and
// their sizes.
func (n *Network) Infer() error {
	if len(n.Input) != 1 && len(n.Input) != 3 {
		return fmt.Errorf("%s: input shape %v: want [n] for vectors or [C, H, W] for images", n.where(), []int(n.Input))
	}
	size := 1
	for _, d := range n.Input {
		if d < 1 || d > MaxValues {
			return fmt.Errorf("%s: input shape %v: every size must lie in [1, %d]", n.where(), []int(n.Input), MaxValues)
		}
		size *= d
		if size > MaxValues {
			return fmt.Errorf("%s: input shape %v holds more than %d values", n.where(), []int(n.Input), MaxValues)
		}
	}
	switch n.Loss {
	case SoftmaxCrossEntropy, MSE:
	default:
		return fmt.Errorf("%s: unknown loss %q: want one of %s", n.where(), n.Loss, joinLosses())
	}
	if len(n.Layers) == 0 {
		return fmt.Errorf("%s: no layers: give at least one dense or conv2d layer", n.where())
	}
	in := append(Shape(nil), n.Input...)
	prev := "the input"
	trainable := false
	for i := range n.Layers {
		l := &n.Layers[i]
		out, err := l.infer(in)
		if err != nil {
			return fmt.Errorf("%s: %s does not fit %s (%s): %w", n.where(), l.describe(i), prev, in, err)
		}
		if out.Size() > MaxValues || l.CellRows()*l.CellCols() > MaxValues {
			return fmt.Errorf("%s: %s is too large: more than %d values", n.where(), l.describe(i), MaxValues)
		}
		l.InShape, l.OutShape = in, out
		trainable = trainable || l.Trainable()
		in, prev = out, l.describe(i)
	}
	if !trainable {
		return fmt.Errorf("%s: no dense or conv2d layer: nothing to train", n.where())
	}
	if len(in) != 1 {
		return fmt.Errorf("%s: the loss needs a vector, but %s gives %s: end with flatten and dense", n.where(), prev, in)
	}
	return nil
}

func (n *Network) where() string {
	switch {
	case n.Source != "":
		return n.Source
	case n.Name != "":
		return "model " + n.Name
	}
	return "model"
}

func joinLosses() string {
	names := make([]string, len(Losses))
	for i, l := range Losses {
		names[i] = string(l)
	}
	return strings.Join(names, ", ")
}

// infer returns the layer's output shape for input shape in, or why the
// layer cannot take it.
func (l *Layer) infer(in Shape) (Shape, error) {
	switch l.Kind {
	case Dense:
		if len(in) != 1 {
			return nil, fmt.Errorf("dense needs a vector: insert a flatten layer before it")
		}
		if l.In != 0 && l.In != in[0] {
			return nil, fmt.Errorf("dense has in: %d but receives %d values: set in: %d or leave it out", l.In, in[0], in[0])
		}
		if l.Out < 1 {
			return nil, fmt.Errorf("dense needs out >= 1, got %d", l.Out)
		}
		l.In = in[0]
		return Shape{l.Out}, nil
	case Conv2D:
		if len(in) != 3 {
			return nil, fmt.Errorf("conv2d needs a [C, H, W] image input")
		}
		if l.In != 0 && l.In != in[0] {
			return nil, fmt.Errorf("conv2d has in: %d channels but receives %d: set in: %d or leave it out", l.In, in[0], in[0])
		}
		if l.Out < 1 {
			return nil, fmt.Errorf("conv2d needs out >= 1 channels, got %d", l.Out)
		}
		if l.Padding < 0 {
			return nil, fmt.Errorf("conv2d padding must be >= 0, got %d", l.Padding)
		}
		h, w, err := windows(l, in[1]+2*l.Padding, in[2]+2*l.Padding)
		if err != nil {
			return nil, err
		}
		l.In = in[0]
		return Shape{l.Out, h, w}, nil
	case MaxPool, AvgPool:
		if len(in) != 3 {
			return nil, fmt.Errorf("%s needs a [C, H, W] image input", l.Kind)
		}
		if l.Padding < 0 || l.Padding > 0 && l.Kind != AvgPool {
			return nil, fmt.Errorf("%s padding %d: only avgpool takes padding (>= 0)", l.Kind, l.Padding)
		}
		h, w, err := windows(l, in[1]+2*l.Padding, in[2]+2*l.Padding)
		if err != nil {
			return nil, err
		}
		return Shape{in[0], h, w}, nil
	case ReLU, Sigmoid, Tanh:
		return append(Shape(nil), in...), nil
	case Flatten:
		return Shape{in.Size()}, nil
	}
	return nil, fmt.Errorf("unknown layer kind %q", l.Kind)
}

// windows gives the number of k x k window positions over an h x w area.
func windows(l *Layer, h, w int) (int, int, error) {
	if l.Kernel < 1 {
		return 0, 0, fmt.Errorf("%s needs kernel >= 1, got %d", l.Kind, l.Kernel)
	}
	if l.Stride < 1 {
		return 0, 0, fmt.Errorf("%s needs stride >= 1, got %d", l.Kind, l.Stride)
	}
	if l.Kernel > h || l.Kernel > w {
		return 0, 0, fmt.Errorf("%s kernel %d is larger than its %dx%d input (padding included)", l.Kind, l.Kernel, h, w)
	}
	return (h-l.Kernel)/l.Stride + 1, (w-l.Kernel)/l.Stride + 1, nil
}

// Summary describes the network on one line per layer.
func (n *Network) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: input %s, loss %s\n", n.Name, n.Input, n.Loss)
	for i, l := range n.Layers {
		fmt.Fprintf(&b, "  %2d %-8s %s -> %s", i+1, l.Kind, l.InShape, l.OutShape)
		if l.Trainable() {
			fmt.Fprintf(&b, "  cell matrix %dx%d", l.CellRows(), l.CellCols())
		}
		b.WriteByte('\n')
	}
	return b.String()
}
