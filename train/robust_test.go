package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/panther-xbar/panther/xbar"
)

// TestFP32LRCheckedWithoutReference: `train --no-fp32 --fp32-lr NaN`
// panicked while hashing the configuration; every setting is checked
// whether or not its part runs.
func TestFP32LRCheckedWithoutReference(t *testing.T) {
	net := tinyNets(t)["mlp"]
	train := syntheticSet("train", 1, 6, net.Input, 5)
	test := syntheticSet("test", 2, 2, net.Input, 5)
	for _, lr := range []float64{math.NaN(), math.Inf(1), -0.5, 0} {
		cfg := tinyConfig(net)
		cfg.FP32, cfg.FP32LR = false, lr
		_, err := Run(context.Background(), cfg, train, test, Options{})
		if want := "fp32 lr = "; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("fp32 lr %v without the reference: error %v, want one containing %q", lr, err, want)
		}
	}
}

// TestDivergingReferenceKeepsOutputs: an FP32 reference at lr 1e20 reaches
// a NaN loss; metrics.json used to fail on it and weights.json was never
// written. Every output is written, the NaN as the string "NaN".
func TestDivergingReferenceKeepsOutputs(t *testing.T) {
	net := tinyNets(t)["mlp"]
	train := syntheticSet("train", 1, 12, net.Input, 5)
	test := syntheticSet("test", 2, 3, net.Input, 5)
	cfg := tinyConfig(net)
	cfg.FP32, cfg.FP32LR, cfg.Epochs = true, 1e20, 1
	res, err := Run(context.Background(), cfg, train, test, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fp := res.Epochs[1]; fp.Trainer != FP32 || !math.IsNaN(float64(fp.TrainLoss)) || !math.IsNaN(float64(fp.TestLoss)) {
		t.Fatalf("the reference at lr 1e20 did not diverge (%+v): the test needs a NaN loss", fp)
	}
	dir := t.TempDir()
	paths, err := WriteOutputs(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{MetricsCSV, MetricsJSON, AccuracyPlot, WeightsJSON} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written (paths %v): %v", name, paths, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, MetricsJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"train_loss": "NaN"`) {
		t.Errorf("metrics.json does not write the NaN loss as \"NaN\":\n%s", b)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(back.Epochs[1].TestLoss)) || back.Epochs[0].TestLoss != res.Epochs[0].TestLoss {
		t.Errorf("metrics.json read back: %+v, want %+v", back.Epochs, res.Epochs)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, MetricsCSV))
	if !strings.Contains(string(csv), "fp32,1,12,NaN,") {
		t.Errorf("metrics.csv lacks the NaN loss:\n%s", csv)
	}
}

func TestLossJSON(t *testing.T) {
	for _, c := range []struct {
		v    float64
		text string
	}{{math.NaN(), `"NaN"`}, {math.Inf(1), `"+Inf"`}, {math.Inf(-1), `"-Inf"`}, {0.25, `0.25`}, {1e-7, `1e-7`}} {
		b, err := json.Marshal(Loss(c.v))
		if err != nil || string(b) != c.text {
			t.Errorf("marshal %v: %s, %v; want %s", c.v, b, err, c.text)
		}
		var back Loss
		if err := json.Unmarshal(b, &back); err != nil || !cmp.Equal(float64(back), c.v, cmp.Comparer(func(a, b float64) bool {
			return a == b || math.IsNaN(a) && math.IsNaN(b)
		})) {
			t.Errorf("unmarshal %s: %v, %v; want %v", b, back, err, c.v)
		}
	}
	for _, bad := range []string{`"nan"`, `"Infinity"`, `true`, `"1"`} {
		var l Loss
		if err := json.Unmarshal([]byte(bad), &l); err == nil || !strings.Contains(err.Error(), `want a number or "NaN", "+Inf", "-Inf"`) {
			t.Errorf("unmarshal %s: %v, want an error", bad, err)
		}
	}
}

// TestEventsCountTrainingOnly: the epoch's events were read after the test
// pass, whose MVMs clip in a 4-bit ADC. Two runs that differ only in the
// test examples must report the same events.
func TestEventsCountTrainingOnly(t *testing.T) {
	net := tinyNets(t)["mlp"]
	train := syntheticSet("train", 1, 9, net.Input, 5)
	test := syntheticSet("test", 2, 6, net.Input, 5)
	var events []Events
	var all []Events // the units' counters after the run, test pass included
	for _, limit := range []int{1, 6} {
		cfg := tinyConfig(net)
		cfg.Unit.ADC = xbar.ADC{Bits: 4}
		cfg.Epochs, cfg.TestLimit = 1, limit
		r, err := runTo(t, cfg, train, test, Options{}, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, *r.res.Epochs[0].Events)
		all = append(all, r.xn.events())
	}
	if all[0].ADCClips == all[1].ADCClips {
		t.Fatalf("the test pass does not clip (%d ADC clips either way): the test needs one that does", all[0].ADCClips)
	}
	if diff := cmp.Diff(events[0], events[1]); diff != "" {
		t.Errorf("the epoch's events depend on the test pass (-1 test example +6):\n%s", diff)
	}
}
