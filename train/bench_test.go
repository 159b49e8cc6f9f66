package train

import (
	"context"
	"testing"

	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// The epoch benchmarks train the mlp preset (784-256-128-10) for one epoch
// over the 60,000 MNIST training images, batch 64; run them with
// -benchtime=1x. Each reports the training time of the epoch (train-s,
// evaluation excluded) and the test accuracy after it (on all 10,000 test
// images); the crossbar ones also the non-zero slice writes (OPA pulses).

func benchEpoch(b *testing.B, cfg Config) {
	train, test, err := data.Load("mnist")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := Run(context.Background(), cfg, train, test, Options{})
		if err != nil {
			b.Fatal(err)
		}
		m := res.Epochs[len(res.Epochs)-1]
		b.ReportMetric(m.Seconds, "train-s")
		b.ReportMetric(100*m.TestAccuracy, "test-%")
		if m.Events != nil {
			b.ReportMetric(float64(m.Events.OPAPulses)/1e6, "Mwrites")
			b.ReportMetric(float64(m.Events.SliceSaturations()), "slice-sat")
		}
	}
}

// BenchmarkEpochSliced: the accumulate variant with a 16-bit sliced update
// set (2x8/6x4,5x4, f = 0: the inplace plan), ideal ADC, round to nearest,
// eta 0.01 per example, CRS every batch.
func BenchmarkEpochSliced(b *testing.B) {
	cfg := DefaultConfig()
	cfg.FP32 = false
	cfg.Unit.ADC = xbar.ADC{Ideal: true}
	cfg.Unit.UpdatePlan = xbar.DefaultInplacePlan
	benchEpoch(b, cfg)
}

// BenchmarkEpochDefault: PANTHER's defaults (what `panther train` runs):
// the update plan 2x12/6x8,5x4/f8 and an 8-bit ADC.
func BenchmarkEpochDefault(b *testing.B) {
	cfg := DefaultConfig()
	cfg.FP32 = false
	benchEpoch(b, cfg)
}

// BenchmarkEpochFP32: the float32 reference, lr 0.05 on the batch mean, in
// the data order of Run's first epoch; the timer covers training only.
func BenchmarkEpochFP32(b *testing.B) {
	train, test, err := data.Load("mnist")
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	perm := rng.Derive(cfg.Seed, "order", 0).Perm(train.Len())
	results := make([]exampleResult, cfg.Batch)
	all := make([]exampleResult, test.Len())
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fn := newFloatNet[float32](cfg.Model, cfg)
		b.StartTimer()
		for s := 0; s < len(perm); s += cfg.Batch {
			fn.trainBatch(perm[s:min(s+cfg.Batch, len(perm))], train.Example, train.Labels, results)
		}
		b.StopTimer()
		fn.evaluate(test.Len(), test.Example, test.Labels, all)
		var t tally
		t.add(all)
		_, acc := t.mean()
		b.ReportMetric(100*acc, "test-%")
	}
}
