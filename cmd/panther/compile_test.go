package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/program"
)

// TestCompileNamesTheLoss: panther compile prints the loss and where it
// comes from, and writes it in the JSON report; a PyTorch export without a
// softmax head is told that it gets softmax cross-entropy by default.
func TestCompileNamesTheLoss(t *testing.T) {
	dir := t.TempDir()
	onnxModel := filepath.Join("..", "..", "compiler", "testdata", "pytorch", "mlp_bn_opset13", "model.onnx")
	args := []string{"compile", onnxModel, "--train", filepath.Join("..", "..", "compiler", "testdata", "train.yaml"),
		"-o", filepath.Join(dir, "m.prog"), "--report", filepath.Join(dir, "r.json")}
	for _, c := range []struct {
		flags      []string
		text, json string
	}{
		{nil, "softmax_cross_entropy (the default: the ONNX graph has no Softmax or LogSoftmax head; set loss: mse (--loss mse)",
			`"loss_source": "the default: the ONNX graph has no Softmax or LogSoftmax head`},
		{[]string{"--loss", "mse"}, "mse (set by the training configuration)", `"loss": "mse"`},
	} {
		out, err := runPanther(t, append(args, c.flags...)...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, c.text) {
			t.Errorf("panther compile %v does not say %q:\n%s", c.flags, c.text, out)
		}
		js, err := os.ReadFile(filepath.Join(dir, "r.json"))
		if err != nil || !strings.Contains(string(js), c.json) {
			t.Errorf("the JSON report does not say %q (%v):\n%s", c.json, err, js)
		}
	}
}

// TestCompileBias: --bias crossbar makes every bias of mlp-l4 a crossbar
// row (55 matrix units), the default holds those of inputs that fill their
// last row tile in the vector unit (44); the program records the setting.
func TestCompileBias(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		flags       []string
		units, meta string
	}{
		{nil, `"matrix_units": 44,`, "auto"},
		{[]string{"--bias", "crossbar"}, `"matrix_units": 55,`, "crossbar"},
	} {
		prog := filepath.Join(dir, "m.prog")
		args := []string{"compile", "mlp-l4", "--infer", "--examples", "1", "-o", prog, "--report", filepath.Join(dir, "r.json")}
		if _, err := runPanther(t, append(args, c.flags...)...); err != nil {
			t.Fatal(err)
		}
		js, err := os.ReadFile(filepath.Join(dir, "r.json"))
		if err != nil || !strings.Contains(string(js), c.units) {
			t.Errorf("panther compile %v: the report does not say %s (%v)", c.flags, c.units, err)
		}
		if p, err := program.ReadFile(prog); err != nil || p.Meta.Options["bias"] != c.meta {
			t.Errorf("panther compile %v: the program's options do not say bias %s (%v)", c.flags, c.meta, err)
		}
	}
	if _, err := runPanther(t, "compile", "mlp-l4", "--infer", "--bias", "vector", "-o", filepath.Join(dir, "m.prog")); err == nil || !strings.Contains(err.Error(), "want one of auto, crossbar") {
		t.Errorf("--bias vector: %v", err)
	}
}

// TestCompileLeNetAnyBatch: panther compile lenet with the sample training
// configuration (16 examples) compiles at batch 16 and 64, where its first
// maps do not fit shared memory as many examples deep as its stages
// overlap, and says how many examples it keeps in flight; at batch 4 it
// keeps all four.
func TestCompileLeNetAnyBatch(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ batch, text, json string }{
		{"4", "4 example(s) at once (every example between two carry resolutions)", `"in_flight": 4,`},
		{"16", "4 example(s) at once (bounded by shared memory; the stages allow 14)", `"in_flight_limit": "bounded by shared memory; the stages allow 14"`},
		{"64", "4 example(s) at once (bounded by shared memory; the stages allow 14)", `"in_flight": 4,`},
	} {
		out, err := runPanther(t, "compile", "lenet", "--train", filepath.Join("..", "..", "compiler", "testdata", "train.yaml"), "--batch", c.batch,
			"-o", filepath.Join(dir, "l.prog"), "--report", filepath.Join(dir, "r.json"))
		if err != nil {
			t.Fatalf("batch %s: %v", c.batch, err)
		}
		if !strings.Contains(out, c.text) {
			t.Errorf("batch %s: the report does not say %q:\n%s", c.batch, c.text, out)
		}
		js, err := os.ReadFile(filepath.Join(dir, "r.json"))
		if err != nil || !strings.Contains(string(js), c.json) {
			t.Errorf("batch %s: the JSON report does not say %s (%v)", c.batch, c.json, err)
		}
	}
}
