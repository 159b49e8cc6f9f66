package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/onnx"
)

// train writes the trained network as ONNX: the weights of weights.json bit
// for bit, the same outputs on the machine, and a model that compiles and
// trains again.
func TestTrainWritesONNXThatCompilesAgain(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first")
	out, err := runPanther(t, "train", "--limit", "128", "--test-limit", "64", "--no-fp32", "--out", first)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(first, ModelONNX)
	if !strings.Contains(out, path) {
		t.Errorf("output does not name %s:\n%s", path, out)
	}
	m, err := onnx.ReadFile(path, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := model.ReadWeightsFile(filepath.Join(first, "weights.json"), m.Net)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ws {
		for k, v := range ws[i] {
			if math.Float64bits(m.Weights[i][k]) != math.Float64bits(v) {
				t.Fatalf("layer %d weight %d: %v in the ONNX model, %v in weights.json", i+1, k, m.Weights[i][k], v)
			}
		}
	}

	var csvs []string
	for _, args := range [][]string{{"mlp", "--weights", filepath.Join(first, "weights.json")}, {path}} {
		o := filepath.Join(dir, "o.csv")
		if _, err := runPanther(t, append([]string{"infer", "--data", "synthetic", "--examples", "8", "-o", o}, args...)...); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(o)
		csvs = append(csvs, string(b))
	}
	if csvs[0] != csvs[1] {
		t.Errorf("the ONNX model's outputs differ from weights.json's:\n%s\n%s", csvs[0], csvs[1])
	}

	if _, err := runPanther(t, "compile", path, "--infer", "--examples", "2", "-o", filepath.Join(dir, "m.prog")); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(dir, "second")
	if _, err := runPanther(t, "train", "--model", path, "--limit", "64", "--test-limit", "32", "--no-fp32", "--out", second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(second, ModelONNX)); err != nil {
		t.Error(err)
	}
}

func TestTimeLeft(t *testing.T) {
	for _, c := range []struct {
		elapsed     time.Duration
		done, total int
		want        string
	}{
		{10 * time.Second, 1, 3, ", about 20s left"},
		{90 * time.Second, 2, 5, ", about 2m15s left"},
		{time.Second, 0, 3, ""},
		{time.Second, 3, 3, ""},
	} {
		if got := timeLeft(c.elapsed, c.done, c.total); got != c.want {
			t.Errorf("timeLeft(%v, %d, %d) = %q, want %q", c.elapsed, c.done, c.total, got, c.want)
		}
	}
}
