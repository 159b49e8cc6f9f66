package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/rng"
)

// Model is what the compiler lowers: the network, its initial weights and
// what follows its last layer.
type Model struct {
	Net *model.Network
	// Weights[i] is the cell matrix M = W^T of layer i (CellRows x
	// CellCols, row-major, bias row last) in real values, or nil for a layer
	// without weights. A nil Weights draws them as the trainer does
	// (InitialWeights).
	Weights [][]float64
	// Head is applied to the output of an inference program.
	Head onnx.Head
	// DefaultLoss says the network's loss was not chosen by the model: an
	// ONNX graph without a softmax head trains with softmax cross-entropy
	// unless the training configuration says otherwise.
	DefaultLoss bool
}

// LoadModel reads an ONNX file (.onnx), a YAML file or a bundled preset
// (model.FormOf tells which).
func LoadModel(nameOrPath string) (Model, error) {
	m, err := onnx.Load(nameOrPath)
	if err != nil {
		return Model{}, err
	}
	return Model{Net: m.Net, Weights: m.Weights, Head: m.Head, DefaultLoss: m.DefaultLoss}, nil
}

// InitialWeights draws every trainable layer's cell matrix with
// model.InitialWeights, as the trainer does, so that a compiled program and
// the trainer start from the same bits (nil for layers without weights).
func InitialWeights(net *model.Network, seed uint64) [][]float64 {
	out := make([][]float64, len(net.Layers))
	for i, l := range net.Layers {
		out[i] = model.InitialWeights(l, seed, i)
	}
	return out
}

// codes converts a cell matrix to Q4.12 codes, counting saturations.
func codes(m []float64) ([]int16, int) {
	out := make([]int16, len(m))
	sat := 0
	for i, v := range m {
		q, s, err := fixed.Q4_12.FromFloat(v)
		if err != nil || s {
			sat++
		}
		out[i] = q
	}
	return out, sat
}

// Dataset is the examples a program streams: inputs as Q4.12 codes in the
// network's input order (C, H, W), and class labels.
type Dataset struct {
	Inputs [][]int16
	Labels []int
}

// LoadData returns the first n examples of cfg.Data: "synthetic" draws
// pixels and labels from the seed; a path ending in .csv is one CSV file
// of examples; anything else is a dataset as model/data.Load names it (its
// training set).
func LoadData(cfg Config, net *model.Network, n int) (Dataset, error) {
	if cfg.Data == "synthetic" {
		size, classes := net.Input.Size(), net.Output().Size()
		var ds Dataset
		src := rng.Derive(cfg.Seed, "data", 0)
		for range n {
			x := make([]int16, size)
			for i := range x {
				x[i] = fixed.PixelCodes[src.IntN(256)]
			}
			ds.Inputs = append(ds.Inputs, x)
			ds.Labels = append(ds.Labels, src.IntN(classes))
		}
		return ds, nil
	}
	var set *data.Set
	var err error
	if isCSVPath(cfg.Data) {
		set, err = data.ReadCSVFile(cfg.Data)
	} else {
		set, _, err = data.Load(cfg.Data)
	}
	if err != nil {
		return Dataset{}, fmt.Errorf("data %s: %w", cfg.Data, err)
	}
	return DatasetFrom(set, cfg.Data, net, n)
}

// DatasetFrom returns the first n examples of an image set (pixels 0..255
// become the Q4.12 codes of value/255, as the trainer reads them); name
// names the set in messages.
func DatasetFrom(set *data.Set, name string, net *model.Network, n int) (Dataset, error) {
	size, classes := net.Input.Size(), net.Output().Size()
	if set.Size() != size {
		return Dataset{}, fmt.Errorf("data %s: examples hold %d values, but model %s reads %d", name, set.Size(), net.Name, size)
	}
	if set.Len() < n {
		return Dataset{}, fmt.Errorf("data %s has %d examples; the program streams %d", name, set.Len(), n)
	}
	var ds Dataset
	for k := range n {
		x := make([]int16, size)
		for i, v := range set.Example(k) {
			x[i] = fixed.PixelCodes[v]
		}
		if int(set.Labels[k]) >= classes {
			return Dataset{}, fmt.Errorf("data %s: example %d has label %d, but the model has %d outputs", name, k, set.Labels[k], classes)
		}
		ds.Inputs = append(ds.Inputs, x)
		ds.Labels = append(ds.Labels, int(set.Labels[k]))
	}
	return ds, nil
}

// DatasetFromTensor quantises the examples of a float tensor to Q4.12 codes
// and counts the values that saturate (lie outside [-8, 8)). The tensor is
// one example of the network's input shape or a batch of them, [N, input
// shape...]; name names it in messages. The examples have no labels.
func DatasetFromTensor(t data.Tensor, name string, net *model.Network) (ds Dataset, saturated int, err error) {
	in := []int(net.Input)
	n := 1
	switch {
	case slices.Equal(t.Shape, in):
	case len(t.Shape) == len(in)+1 && slices.Equal(t.Shape[1:], in) && t.Shape[0] > 0:
		n = t.Shape[0]
	default:
		return Dataset{}, 0, fmt.Errorf("%s: shape %v does not match model %s's input %s: want [N, %s] (N examples) or [%s]",
			name, t.Shape, net.Name, net.Input, commaShape(in), commaShape(in))
	}
	size := net.Input.Size()
	for k := range n {
		x := make([]int16, size)
		for i, v := range t.Values[k*size : (k+1)*size] {
			q, sat, err := fixed.Q4_12.FromFloat(v)
			if err != nil {
				return Dataset{}, 0, fmt.Errorf("%s: example %d, value %d: %w", name, k, i, err)
			}
			if sat {
				saturated++
			}
			x[i] = q
		}
		ds.Inputs = append(ds.Inputs, x)
	}
	return ds, saturated, nil
}

func commaShape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, ", ")
}
