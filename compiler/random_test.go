package compiler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/rng"
)

// randomNet writes a small random chain: convolutions and pooling (average
// pooling with or without padding) on an image, then dense layers, with
// activations between.
func randomNet(src *rng.Source) string {
	var b strings.Builder
	c, h, w := 1+src.IntN(4), 3+src.IntN(8), 3+src.IntN(8)
	fmt.Fprintf(&b, "input: [%d, %d, %d]\nlayers:\n", c, h, w)
	acts := []string{"relu", "sigmoid", "tanh"}
	for range src.IntN(3) {
		k := 1 + src.IntN(3)
		if k > h || k > w {
			break
		}
		switch src.IntN(3) {
		case 0, 1:
			s, p := 1+src.IntN(2), src.IntN(k)
			fmt.Fprintf(&b, "  - conv2d: {out: %d, kernel: %d, stride: %d, padding: %d}\n", 1+src.IntN(40), k, s, p)
			h, w = (h+2*p-k)/s+1, (w+2*p-k)/s+1
		default:
			if src.IntN(2) == 0 {
				fmt.Fprintf(&b, "  - maxpool: {kernel: %d, stride: 1}\n", k)
				h, w = h-k+1, w-k+1
				break
			}
			k = min(k, 2) // larger averages are refused (see docs/compiler.md)
			p := src.IntN(k)
			fmt.Fprintf(&b, "  - avgpool: {kernel: %d, stride: 1, padding: %d}\n", k, p)
			h, w = h+2*p-k+1, w+2*p-k+1
		}
		if src.IntN(2) == 0 {
			fmt.Fprintf(&b, "  - %s\n", acts[src.IntN(3)])
		}
	}
	b.WriteString("  - flatten\n")
	for range src.IntN(3) {
		fmt.Fprintf(&b, "  - dense: {out: %d}\n  - %s\n", 1+src.IntN(150), acts[src.IntN(3)])
	}
	fmt.Fprintf(&b, "  - dense: {out: %d}\nloss: %s\n", 2+src.IntN(10), []string{"mse", "softmax_cross_entropy"}[src.IntN(2)])
	return b.String()
}

// TestRandomNetworks compiles random small networks for inference and for
// training, on small architectures (so that they spread over tiles), and
// runs what compiles: no panic, no deadlock, every refusal an error, and
// every result bit-identical to the reference.
func TestRandomNetworks(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 10
	}
	src := rng.New(5)
	ran := 0
	for i := range n {
		yml := randomNet(src)
		net, err := model.ReadYAML("random.yaml", []byte(yml))
		if err != nil {
			continue // a shape the model package refuses
		}
		ar, a := testArch(t, 32, 1+src.IntN(4), 4096+src.IntN(8)*2048)
		cfg := DefaultConfig()
		cfg.Batch, cfg.Examples = 1+src.IntN(3), 1+src.IntN(4)
		ds := randomData(net, cfg.Examples, 4096, uint64(i))
		weights := InitialWeights(net, uint64(i))
		for _, infer := range []bool{true, false} {
			res, err := Compile(Model{Net: net, Weights: weights}, a, Options{Infer: infer, Train: cfg, Data: &ds})
			if err != nil {
				t.Logf("network %d (infer %v): %v", i, infer, err)
				continue
			}
			ar.Crossbar.Variant = cfg.Variant
			if infer {
				checkInfer(t, net, ar, ds, weights, res)
			} else {
				checkTrain(t, net, ar, cfg, ds, weights, res)
			}
			ran++
		}
	}
	if ran < n/2 {
		t.Fatalf("only %d of %d programs compiled", ran, 2*n)
	}
	t.Logf("%d of %d programs compiled and ran", ran, 2*n)
}
