package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
