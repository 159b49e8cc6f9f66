package model

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	want := map[string][][2]int{ // cell matrix of each trainable layer
		"mlp":     {{785, 256}, {257, 128}, {129, 10}},
		"lenet":   {{26, 6}, {151, 16}, {401, 120}, {121, 84}, {85, 10}},
		"mlp-l4":  {{1025, 256}, {257, 512}, {513, 512}, {513, 10}},
		"mlp-big": {{1025, 512}, {513, 1024}, {1025, 768}, {769, 10}},
		"vgg16": {{28, 64}, {577, 64}, {577, 128}, {1153, 128}, {1153, 256}, {2305, 256}, {2305, 256},
			{2305, 512}, {4609, 512}, {4609, 512}, {4609, 512}, {4609, 512}, {4609, 512}, {513, 4096}, {4097, 4096}, {4097, 10}},
	}
	if got := Presets(); len(got) != len(want) {
		t.Fatalf("presets %v, want %d of them", got, len(want))
	}
	for name, cells := range want {
		n, err := Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got [][2]int
		for _, l := range n.Layers {
			if l.Trainable() {
				got = append(got, [2]int{l.CellRows(), l.CellCols()})
			}
		}
		if len(got) != len(cells) {
			t.Fatalf("%s: cell matrices %v, want %v", name, got, cells)
		}
		for i := range got {
			if got[i] != cells[i] {
				t.Errorf("%s: cell matrices %v, want %v", name, got, cells)
			}
		}
		if n.Output().Size() != 10 || n.Loss != SoftmaxCrossEntropy {
			t.Errorf("%s: output %v loss %s", name, n.Output(), n.Loss)
		}
	}
	lenet, _ := Preset("lenet")
	shapes := []string{"6x28x28", "6x28x28", "6x14x14", "16x10x10", "16x10x10", "16x5x5", "400", "120", "120", "84", "84", "10"}
	for i, l := range lenet.Layers {
		if l.OutShape.String() != shapes[i] {
			t.Errorf("lenet layer %d (%s) gives %s, want %s", i+1, l.Kind, l.OutShape, shapes[i])
		}
	}
}

func TestYAMLForms(t *testing.T) {
	n, err := ReadYAML("t.yaml", []byte(`
input: [2, 9, 9]
layers:
  - conv2d: {in: 2, out: 3, kernel: 3, stride: 2, padding: 1, bias: false}
  - tanh
  - avgpool: {kernel: 2, stride: 1, padding: 1}
  - flatten:
  - dense: {out: 4}
  - sigmoid: {}
loss: mse
`))
	if err != nil {
		t.Fatal(err)
	}
	c := n.Layers[0]
	if c.Bias || c.CellRows() != 18 || c.OutShape.String() != "3x5x5" || n.Layers[2].OutShape.String() != "3x6x6" {
		t.Errorf("conv %+v, pool %v", c, n.Layers[2].OutShape)
	}
	if n.Name != "t" || n.Loss != MSE || n.Layers[4].In != 108 || !n.Layers[4].Bias || n.Layers[4].Source != "t.yaml:8:5" {
		t.Errorf("network %+v", n)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"sizes do not chain", "input: [784]\nlayers:\n  - dense: {out: 256}\n  - relu: {}\n  - dense: {in: 500, out: 10}\n",
			[]string{"m.yaml: layer 3 (dense at m.yaml:5:5) does not fit layer 2 (relu at m.yaml:4:5) (256)", "in: 500 but receives 256"}},
		{"dense after image", "input: [1, 28, 28]\nlayers:\n  - dense: {out: 10}\n",
			[]string{"layer 1 (dense at m.yaml:3:5) does not fit the input (1x28x28)", "insert a flatten"}},
		{"kernel too large", "input: [1, 4, 4]\nlayers:\n  - conv2d: {out: 2, kernel: 5}\n  - flatten\n  - dense: {out: 2}\n",
			[]string{"kernel 5 is larger than its 4x4 input"}},
		{"unknown top key", "input: [4]\nlayerz: []\n", []string{"m.yaml:2: unknown key \"layerz\": allowed keys are name, input, layers, loss"}},
		{"unknown option", "input: [4]\nlayers:\n  - dense: {outs: 3}\n", []string{"m.yaml:3:13: dense has no option \"outs\": allowed options are in, out, bias"}},
		{"unknown kind", "input: [4]\nlayers:\n  - densee: {out: 3}\n", []string{"m.yaml:3:5: unknown layer kind \"densee\""}},
		{"bad number", "input: [4]\nlayers:\n  - dense: {out: many}\n", []string{"m.yaml:3:18: dense.out: want a whole number", "\"many\""}},
		{"bad bias", "input: [4]\nlayers:\n  - dense: {out: 2, bias: 3}\n", []string{"m.yaml:3:27: dense.bias: want true or false"}},
		{"pool stride 0", "input: [1, 4, 4]\nlayers:\n  - maxpool: {kernel: 2, stride: 0}\n  - flatten\n  - dense: {out: 2}\n",
			[]string{"m.yaml:3:34: maxpool.stride: want a stride >= 1, got 0 (leave it out for the kernel size)"}},
		{"conv stride 0", "input: [1, 4, 4]\nlayers:\n  - conv2d: {out: 2, kernel: 3, stride: 0}\n  - flatten\n  - dense: {out: 2}\n",
			[]string{"m.yaml:3:41: conv2d.stride: want a stride >= 1, got 0 (leave it out for 1)"}},
		{"missing out", "input: [4]\nlayers:\n  - dense: {}\n", []string{"m.yaml:3:5: dense needs out >= 1"}},
		{"unknown loss", "input: [4]\nlayers:\n  - dense: {out: 2}\nloss: hinge\n", []string{"m.yaml:4:7: unknown loss \"hinge\": want one of softmax_cross_entropy, mse"}},
		{"no input", "layers:\n  - dense: {out: 2}\n", []string{"m.yaml: missing input"}},
		{"bad input", "input: [0]\nlayers:\n  - dense: {out: 2}\n", []string{"input shape [0]: every size must lie in [1,"}},
		{"no trainable", "input: [4]\nlayers:\n  - relu\n", []string{"no dense or conv2d layer"}},
		{"image output", "input: [1, 4, 4]\nlayers:\n  - conv2d: {out: 2, kernel: 3}\n", []string{"the loss needs a vector", "gives 2x2x2"}},
		{"padded maxpool", "input: [1, 4, 4]\nlayers:\n  - maxpool: {kernel: 2, padding: 1}\n", []string{"maxpool has no option \"padding\""}},
		{"syntax", "input: [4\n", []string{"m.yaml:"}},
		{"empty", "", []string{"m.yaml: empty model file"}},
		{"two documents", "input: [4]\nlayers: [dense: {out: 1}]\n---\ninput: [3]\n", []string{"more than one YAML document"}},
		{"layer with two kinds", "input: [4]\nlayers:\n  - {dense: {out: 2}, relu: {}}\n", []string{"m.yaml:3:5: a layer is one kind"}},
	}
	for _, tc := range tests {
		_, err := ReadYAML("m.yaml", []byte(tc.yaml))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
	}
}

// FormOf reads a name as the presets, file extensions and paths say, and
// refuses the rest with one error naming the input and the accepted forms.
func TestFormOf(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"net.yaml", "net.YML", "net.onnx", "net.ONNX", "plain", "net.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for name, want := range map[string]Form{
		"mlp": PresetForm, "vgg16": PresetForm,
		"net.yaml": YAMLForm, "net.YML": YAMLForm, "./plain": YAMLForm, filepath.Join(dir, "net.yaml"): YAMLForm,
		"net.onnx": ONNXForm, "net.ONNX": ONNXForm,
	} {
		if got, err := FormOf(name); err != nil || got != want {
			t.Errorf("FormOf(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	const forms = ": want a preset (lenet, mlp, mlp-big, mlp-l4, vgg16), a YAML file (.yaml, .yml) or an ONNX file (.onnx)"
	for name, problem := range map[string]string{
		"lenet5":             "not a preset",
		"plain":              "not a preset", // a file, but a bare name is a preset's
		"net.txt":            "unknown extension .txt",
		"model.Json":         "unknown extension .Json",
		"missing.yaml":       "no such file",
		"missing/model.yaml": "no such file",
		"missing.onnx":       "no such file",
		"nets/missing":       "no such file",
	} {
		want := fmt.Sprintf("model %q: %s%s", name, problem, forms)
		if _, err := FormOf(name); err == nil || err.Error() != want {
			t.Errorf("FormOf(%q): %v\nwant %s", name, err, want)
		}
		if _, err := Load(name); err == nil || err.Error() != want {
			t.Errorf("Load(%q): %v\nwant %s", name, err, want)
		}
	}
	if _, err := Load("net.onnx"); err == nil || err.Error() != `model "net.onnx": an ONNX file: read it with onnx.Load` {
		t.Errorf("Load of an ONNX file: %v", err)
	}
}

// Load reads presets and YAML files as Preset and ReadFile do.
func TestLoad(t *testing.T) {
	want, err := Preset("lenet")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Load("lenet"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load(lenet) = %+v, %v; want %+v", got, err, want)
	}
	data, err := presetFiles.ReadFile("presets/lenet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lenet.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if want, err = ReadYAML(path, data); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(path); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load(%s) = %+v, %v; want %+v", path, got, err, want)
	}
}

func FuzzReadYAML(f *testing.F) {
	for _, name := range Presets() {
		data, _ := presetFiles.ReadFile("presets/" + name + ".yaml")
		f.Add(data)
	}
	f.Add([]byte("input: [2, 9, 9]\nlayers:\n  - conv2d: {out: 3, kernel: 3, stride: 2, padding: 1}\n  - avgpool: {kernel: 2}\n  - flatten\n  - dense: {out: 4}\nloss: mse\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ReadYAML("fuzz.yaml", data)
		if err != nil {
			return
		}
		// An accepted network chains: every layer's input is the previous output.
		in := n.Input
		for _, l := range n.Layers {
			if l.InShape.String() != in.String() || l.OutShape.Size() < 1 {
				t.Fatalf("layer %+v does not chain from %v", l, in)
			}
			in = l.OutShape
		}
		if len(n.Output()) != 1 {
			t.Fatalf("accepted a network with output %v", n.Output())
		}
	})
}

// TestBiasOnCrossbar pins where a bias goes: under BiasAuto a crossbar row
// wherever the inputs leave a spare row in their last row tile, the vector
// unit where they fill whole row tiles, so that a bias never takes a tile
// of its own; under BiasCrossbar always a crossbar row.
func TestBiasOnCrossbar(t *testing.T) {
	for _, c := range []struct {
		l          Layer
		size       int
		onCrossbar bool
		rows       int
	}{
		{Layer{Kind: Dense, In: 784, Out: 256, Bias: true}, 128, true, 785},
		{Layer{Kind: Dense, In: 1024, Out: 256, Bias: true}, 128, false, 1024},
		{Layer{Kind: Dense, In: 128, Out: 10, Bias: true}, 128, false, 128},
		{Layer{Kind: Dense, In: 127, Out: 10, Bias: true}, 128, true, 128},
		{Layer{Kind: Dense, In: 1024, Out: 10}, 128, false, 1024},
		{Layer{Kind: Dense, In: 64, Out: 10, Bias: true}, 32, false, 64},
		{Layer{Kind: Conv2D, In: 128, Out: 64, Kernel: 3, Bias: true}, 128, false, 1152},
		{Layer{Kind: Conv2D, In: 64, Out: 64, Kernel: 3, Bias: true}, 128, true, 577},
	} {
		if got := c.l.BiasOnCrossbar(c.size, BiasAuto); got != c.onCrossbar {
			t.Errorf("%+v on %d rows: BiasOnCrossbar auto %v, want %v", c.l, c.size, got, c.onCrossbar)
		}
		if got := c.l.CrossbarRows(c.size, BiasAuto); got != c.rows {
			t.Errorf("%+v on %d rows: CrossbarRows auto %d, want %d", c.l, c.size, got, c.rows)
		}
		// Every bias a row: the whole cell matrix lies on the crossbars.
		if got := c.l.BiasOnCrossbar(c.size, BiasCrossbar); got != c.l.Bias {
			t.Errorf("%+v on %d rows: BiasOnCrossbar crossbar %v, want %v", c.l, c.size, got, c.l.Bias)
		}
		if got := c.l.CrossbarRows(c.size, BiasCrossbar); got != c.l.CellRows() {
			t.Errorf("%+v on %d rows: CrossbarRows crossbar %d, want %d", c.l, c.size, got, c.l.CellRows())
		}
	}
}

// TestParseBiasPlacement: the names round-trip, and an unknown one is
// refused with the allowed ones.
func TestParseBiasPlacement(t *testing.T) {
	for _, p := range []BiasPlacement{BiasAuto, BiasCrossbar} {
		got, err := ParseBiasPlacement(p.String())
		if err != nil || got != p {
			t.Errorf("ParseBiasPlacement(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
	}
	if _, err := ParseBiasPlacement("vector"); err == nil || !strings.Contains(err.Error(), "auto, crossbar") {
		t.Errorf("ParseBiasPlacement(vector): %v; want an error listing auto, crossbar", err)
	}
}
