package eval

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/model"
)

// Workload is a network to train: one of the paper's (docs/reproduction.md), or a user's model
// (an ONNX or YAML file, or a model preset), with the matrix layers the GPU
// model counts.
type Workload struct {
	Name   string        `json:"name"`
	Shape  string        `json:"shape"`
	Layers []MatrixLayer `json:"layers"`
	// MaxBatch, where set, is the largest batch one program can hold.
	MaxBatch int `json:"max_batch,omitempty"`
	// DatasetExamples is the training set an epoch goes through (MNIST's
	// 60,000 for the MLPs, CIFAR's 50,000 for VGG-16).
	DatasetExamples int `json:"dataset_examples"`
	model           compiler.Model
	// fit adapts a design's architecture to the workload.
	fit func(a *arch.Arch)
}

// Training-set sizes of the paper's data sets.
const (
	mnistExamples = 60000
	cifarExamples = 50000
)

type vggLayer struct {
	name      string
	rows, out int
}

// vggLayers are the paper's VGG-16 conv layers as unrolled
// matrices (rows x columns).
var vggLayers = []vggLayer{
	{"A", 4608, 512}, {"B", 2304, 256}, {"C", 2304, 512}, {"D", 512, 4096},
	{"E", 4096, 512}, {"F", 4096, 10}, {"G", 1152, 256},
}

// Workloads lists the paper's workloads, in the report's order.
func Workloads() []Workload {
	var ws []Workload
	for _, p := range []string{"mlp", "mlp-l4", "mlp-big"} {
		ws = append(ws, presetWorkload(p, mnistExamples))
	}
	for _, l := range vggLayers {
		ws = append(ws, vggLayerWorkload(l.name, l.rows, l.out))
	}
	// The whole VGG-16 compiles only on the larger structure of
	// compiler/testdata/vgg-arch.yaml (two nodes, 16K-instruction tile and
	// 1K-instruction core memories), one example per program; every design
	// gets that structure, its own operation constants unchanged.
	vgg := presetWorkload("vgg16", cifarExamples)
	vgg.Shape, vgg.MaxBatch = "VGG-16, 32x32x3 input", 1
	vgg.fit = func(a *arch.Arch) {
		a.Structure.Nodes, a.Structure.TileInstMem, a.Structure.CoreInstMem = 2, 16384, 1024
	}
	return append(ws, vgg)
}

// WorkloadNames lists the paper's workload names in order.
func WorkloadNames() []string {
	var names []string
	for _, w := range Workloads() {
		names = append(names, w.Name)
	}
	return names
}

// LookupWorkload returns a paper workload by name, or reads a user's model:
// an ONNX file (.onnx), a YAML file or a model preset, whose epoch is
// MNIST's 60,000 examples unless the options say otherwise.
func LookupWorkload(name string) (Workload, error) {
	for _, w := range Workloads() {
		if w.Name == name {
			return w, nil
		}
	}
	m, err := compiler.LoadModel(name)
	if err != nil {
		return Workload{}, fmt.Errorf("workload %q: not one of %s, and not a model: %w", name, strings.Join(WorkloadNames(), ", "), err)
	}
	short := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if slices.Contains(WorkloadNames(), short) {
		return Workload{}, fmt.Errorf("workload %q would be named %s, a workload of the paper's: rename the model file", name, short)
	}
	return modelWorkload(short, m, mnistExamples), nil
}

// presetWorkload is a model preset (which panics if it is missing: the
// presets are part of the binary).
func presetWorkload(preset string, examples int) Workload {
	net, err := model.Preset(preset)
	if err != nil {
		panic(err)
	}
	return modelWorkload(preset, compiler.Model{Net: net}, examples)
}

// vggLayerWorkload is a VGG-16 conv layer as its unrolled matrix: a dense
// layer of rows x out, followed by a 10-way classifier for the loss (layer
// F is that classifier itself), as compiler/workloads_test.go compiles it.
func vggLayerWorkload(name string, rows, out int) Workload {
	src := fmt.Sprintf("name: vgg-%s\ninput: [%d]\nlayers:\n  - dense: {out: %d}\n", name, rows, out)
	if out != 10 {
		src += "  - relu\n  - dense: {out: 10}\n"
	}
	src += "loss: softmax_cross_entropy\n"
	net, err := model.ReadYAML("vgg-"+name+".yaml", []byte(src))
	if err != nil {
		panic(err)
	}
	w := modelWorkload("vgg-"+strings.ToLower(name), compiler.Model{Net: net}, cifarExamples)
	w.Shape = fmt.Sprintf("VGG-16 layer %s %dx%d", name, rows, out)
	return w
}

// modelWorkload describes a network's training: its matrix layers in order
// (a convolution as its unrolled matrix over the output pixels).
func modelWorkload(name string, m compiler.Model, examples int) Workload {
	w := Workload{Name: name, model: m, DatasetExamples: examples}
	var widths []string
	for i, l := range m.Net.Layers {
		if !l.Trainable() {
			continue
		}
		ml := MatrixLayer{Name: fmt.Sprintf("%s%d", l.Kind, i+1), In: l.FanIn(), Out: l.CellCols(), Positions: l.OutShape.Size() / l.Out, First: len(w.Layers) == 0}
		w.Layers = append(w.Layers, ml)
		widths = append(widths, strconv.Itoa(ml.Out))
	}
	w.Shape = fmt.Sprintf("%s %s input, %s", name, m.Net.Input, strings.Join(widths, "-"))
	if !slices.ContainsFunc(m.Net.Layers, func(l model.Layer) bool { return l.Kind == model.Conv2D }) {
		w.Shape = fmt.Sprintf("MLP %d-%s", m.Net.Input.Size(), strings.Join(widths, "-"))
	}
	return w
}
