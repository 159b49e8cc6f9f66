package onnx

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/rng"
)

// quantisedWeights draws a cell matrix per trainable layer with values
// q/4096, as the crossbars hold them.
func quantisedWeights(net *model.Network, seed uint64) [][]float64 {
	src := rng.Derive(seed, "test", 0)
	out := make([][]float64, len(net.Layers))
	for i, l := range net.Layers {
		if l.Trainable() {
			out[i] = make([]float64, l.CellRows()*l.CellCols())
			for k := range out[i] {
				out[i][k] = float64(src.IntN(1<<16)-1<<15) / 4096
			}
		}
	}
	return out
}

// Written networks read back as the same layers and the same weights, bit
// for bit, with their head.
func TestWriteReadsBack(t *testing.T) {
	for _, name := range []string{"mlp", "lenet"} {
		for _, head := range []Head{NoHead, Softmax, LogSoftmax} {
			net, err := model.Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			w := quantisedWeights(net, 3)
			var buf bytes.Buffer
			if err := Write(&buf, &Model{Net: net, Weights: w, Head: head, Output: "y"}); err != nil {
				t.Fatal(err)
			}
			m, err := Read(name+".onnx", buf.Bytes(), Options{})
			if err != nil {
				t.Fatalf("%s %s: %v", name, head, err)
			}
			if m.Head != head || m.Input != "input" || m.Output != "y" || !slices.Equal(m.Net.Input, net.Input) || len(m.Net.Layers) != len(net.Layers) {
				t.Fatalf("%s %s: head %s, input %q %v, output %q, %d layers", name, head, m.Head, m.Input, m.Net.Input, m.Output, len(m.Net.Layers))
			}
			for i, l := range net.Layers {
				g := m.Net.Layers[i]
				// Shapes say the rest: In, Out, Kernel, Stride, Padding.
				if g.Kind != l.Kind || !slices.Equal(g.InShape, l.InShape) || !slices.Equal(g.OutShape, l.OutShape) || g.Kernel != l.Kernel ||
					l.Trainable() && g.Bias != l.Bias {
					t.Errorf("%s layer %d: read %+v, wrote %+v", name, i+1, g, l)
				}
				if len(m.Weights[i]) != len(w[i]) {
					t.Fatalf("%s layer %d: %d weights, wrote %d", name, i+1, len(m.Weights[i]), len(w[i]))
				}
				for k, v := range w[i] {
					if math.Float64bits(m.Weights[i][k]) != math.Float64bits(v) {
						t.Fatalf("%s layer %d weight %d: read %v, wrote %v", name, i+1, k, m.Weights[i][k], v)
					}
				}
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	net, err := model.Preset("mlp")
	if err != nil {
		t.Fatal(err)
	}
	w := quantisedWeights(net, 1)
	var buf bytes.Buffer
	if err := Write(&buf, &Model{Net: net, Weights: w[:1]}); err == nil || err.Error() != "1 weight matrices for 5 layers" {
		t.Errorf("got %v", err)
	}
	w[0] = w[0][:10]
	if err := Write(&buf, &Model{Net: net, Weights: w}); err == nil || err.Error() != "layer 1 (dense): 10 weights for a 785 x 256 cell matrix" {
		t.Errorf("got %v", err)
	}
}

// ONNX's own checker (Debian's python3-onnx), where installed, accepts the
// written model, its operators, attributes and shapes.
func TestWrittenModelPassesONNXChecker(t *testing.T) {
	python := "/usr/bin/python3"
	if exec.Command(python, "-c", "import onnx").Run() != nil {
		t.Skip("python3-onnx is not installed (apt-get install python3-onnx): the ONNX checker is not run")
	}
	for _, name := range []string{"mlp", "lenet"} {
		net, err := model.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, &Model{Net: net, Weights: quantisedWeights(net, 1), Head: Softmax}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".onnx")
		os.WriteFile(path, buf.Bytes(), 0o644)
		out, err := exec.Command(python, "-c", `import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print(onnx.shape_inference.infer_shapes(m, strict_mode=True).graph.output[0].type.tensor_type.shape)`, path).CombinedOutput()
		if err != nil {
			t.Errorf("%s: the ONNX checker rejects the model: %v\n%s", name, err, out)
		}
	}
}

// Load reads an ONNX file with its weights and head, a preset as
// model.Load does, and refuses a missing file as model.FormOf does.
func TestLoad(t *testing.T) {
	net, err := model.Preset("mlp")
	if err != nil {
		t.Fatal(err)
	}
	w := quantisedWeights(net, 2)
	var buf bytes.Buffer
	if err := Write(&buf, &Model{Net: net, Weights: w, Head: LogSoftmax}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mlp.ONNX")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := Read(path, buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Load(path); err != nil || !reflect.DeepEqual(got, want) || got.Head != LogSoftmax {
		t.Errorf("Load(%s) = %+v, %v; want %+v", path, got, err, want)
	}
	if got, err := Load("mlp"); err != nil || !reflect.DeepEqual(got, &Model{Net: net}) {
		t.Errorf("Load(mlp) = %+v, %v; want the preset alone", got, err)
	}
	for _, name := range []string{"missing.onnx", "mlp.pb"} {
		_, want := model.FormOf(name)
		if _, err := Load(name); want == nil || err == nil || err.Error() != want.Error() {
			t.Errorf("Load(%s): %v, want %v", name, err, want)
		}
	}
}
