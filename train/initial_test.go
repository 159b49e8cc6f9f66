package train

import (
	"math"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/rng"
)

// Given initial weights (an ONNX model's) are the ones both trainers start
// from, code for code; they enter the checkpoint's identity.
func TestInitialWeightsStartBothTrainers(t *testing.T) {
	for name, net := range tinyNets(t) {
		cfg := tinyConfig(net)
		src := rng.Derive(5, "test", 0)
		ws := make([][]float64, len(net.Layers))
		for i, l := range net.Layers {
			if l.Trainable() {
				ws[i] = make([]float64, l.CellRows()*l.CellCols())
				for k := range ws[i] {
					ws[i][k] = float64(src.IntN(1<<16)-1<<15) / 4096
				}
			}
		}
		drawn := cfg.Hash()
		cfg.InitialWeights = ws
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if cfg.Hash() == drawn {
			t.Errorf("%s: the hash does not see the initial weights", name)
		}
		xn, err := newCrossbarNet(net, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := xn.weights()
		if err != nil {
			t.Fatal(err)
		}
		fn := newFloatNet[float64](net, cfg)
		for i := range ws {
			for k, v := range ws[i] {
				if math.Float64bits(got[i][k]) != math.Float64bits(v) || fn.layers[i].m[k] != v {
					t.Fatalf("%s layer %d weight %d: crossbars %v, fp32 reference %v, given %v", name, i+1, k, got[i][k], fn.layers[i].m[k], v)
				}
			}
		}
	}
}

func TestInitialWeightsChecked(t *testing.T) {
	net := tinyNets(t)["mlp"]
	cfg := tinyConfig(net)
	cfg.InitialWeights = make([][]float64, 2)
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "initial weights: 2 matrices for 4 layers") {
		t.Errorf("got %v", err)
	}
	cfg.InitialWeights = make([][]float64, len(net.Layers))
	cfg.InitialWeights[1] = make([]float64, net.Layers[1].CellRows()*net.Layers[1].CellCols())
	cfg.InitialWeights[3] = make([]float64, 3)
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "initial weights: layer 4 (dense): 3 weights; want 185") {
		t.Errorf("got %v", err)
	}
	cfg.InitialWeights[3] = make([]float64, 185)
	cfg.InitialWeights[1][7] = 8
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "initial weights: layer 2 (dense): weight 7 is 8, outside Q4.12's range [-8, 8)") {
		t.Errorf("got %v", err)
	}
}
