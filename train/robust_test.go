package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
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

// checkpointFixture trains the tiny mlp for one epoch with a checkpoint
// and returns the configuration, the data and the folder.
func checkpointFixture(t testing.TB) (Config, *data.Set, *data.Set, string) {
	net := tinyNets(t)["mlp"]
	train := syntheticSet("train", 1, 6, net.Input, 5)
	test := syntheticSet("test", 2, 2, net.Input, 5)
	cfg := tinyConfig(net)
	cfg.Epochs, cfg.FP32 = 2, true
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := newRunner(cfg, train, test, Options{Checkpoint: dir, Batch: func(p Progress) {
		if p.Epoch == 2 {
			cancel() // mid-run: the checkpoint holds a partial epoch
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.run(ctx); err != ErrInterrupted {
		t.Fatalf("run: %v, want it interrupted", err)
	}
	return cfg, train, test, dir
}

// TestCheckpointChecksum: one flipped bit in checkpoint.gob resumed
// silently with a changed weight. A changed, cut or old-format checkpoint
// is refused, naming the file.
func TestCheckpointChecksum(t *testing.T) {
	cfg, train, test, dir := checkpointFixture(t)
	path := filepath.Join(dir, CheckpointFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	payload := good[len(checkpointHeader) : len(good)-checkpointSumLine]
	flipped := bytes.Clone(good)
	flipped[len(flipped)-checkpointSumLine-40] ^= 0x10 // within the FP32 weights, the payload's end
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"one bit flipped", flipped, "is corrupt: its content has SHA-256 "},
		{"cut short", good[:len(good)-100], "does not end with its checksum line"},
		{"header only", []byte(checkpointHeader), "does not end with its checksum line"},
		{"version 1 (no header)", payload, `does not start with the line "panther checkpoint 2"`},
		{"changed checksum", append(bytes.Clone(good[:len(good)-checkpointSumLine]), "sha256 "+strings.Repeat("0", 64)+"\n"...), `its last line records "0000`},
	} {
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := newRunner(cfg, train, test, Options{Checkpoint: dir})
		if err == nil || !strings.Contains(err.Error(), "checkpoint "+path+" ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s and saying %q", c.name, err, path, c.want)
		}
	}
	os.WriteFile(path, good, 0o644)
	if r, err := newRunner(cfg, train, test, Options{Checkpoint: dir}); err != nil || r.res.ResumedFrom == "" {
		t.Errorf("the intact checkpoint: %v", err)
	}
}

// TestStaleCheckpointTemporaries: kill -9 during a checkpoint write left
// .checkpoint.gob.tmp-* behind; a run in that folder removes them, and
// nothing else.
func TestStaleCheckpointTemporaries(t *testing.T) {
	cfg, train, test, dir := checkpointFixture(t)
	stale, other := filepath.Join(dir, ".checkpoint.gob.tmp-2471193852"), filepath.Join(dir, ".checkpoint.gob.tmp-notours")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := newRunner(cfg, train, test, Options{Checkpoint: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind: %v", stale, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("%s, not a temporary file of a checkpoint write, was removed: %v", other, err)
	}
}

// killed is the panic with which a test stops a run as kill -9 would: no
// interrupt checkpoint, only what was saved before.
type killed struct{}

// runUntilKilled runs until the Batch callback has seen batch kill (counted
// over the run), then abandons the run.
func runUntilKilled(t *testing.T, cfg Config, train, test *data.Set, opts Options, kill int) {
	t.Helper()
	defer func() {
		if p := recover(); p != (killed{}) {
			t.Fatalf("run ended with %v, want it killed at batch %d", p, kill)
		}
	}()
	seen := 0
	opts.Batch = func(Progress) {
		if seen++; seen == kill {
			panic(killed{})
		}
	}
	r, err := newRunner(cfg, train, test, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.run(context.Background())
}

// outputBytes writes the outputs of a result with the timings and the
// resume note cleared, and returns each file's bytes.
func outputBytes(t *testing.T, res *Result) map[string]string {
	t.Helper()
	for i := range res.Epochs {
		res.Epochs[i].Seconds, res.Epochs[i].TestSeconds = 0, 0
	}
	res.ResumedFrom = ""
	dir := t.TempDir()
	if _, err := WriteOutputs(dir, res); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range []string{MetricsCSV, MetricsJSON, WeightsJSON} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

// TestCheckpointEveryResumesBitIdentical: a single-epoch run killed with -9
// lost the whole epoch. With CheckpointEvery 2, a run of 7 batches killed
// after batch 5 resumes from batch 4 and ends with the bytes of a straight
// run.
func TestCheckpointEveryResumesBitIdentical(t *testing.T) {
	net := tinyNets(t)["cnn"]
	train := syntheticSet("train", 1, 20, net.Input, 5)
	test := syntheticSet("test", 2, 4, net.Input, 5)
	cfg := tinyConfig(net)
	cfg.Epochs, cfg.FP32 = 1, true
	straight, err := Run(context.Background(), cfg, train, test, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runUntilKilled(t, cfg, train, test, Options{Checkpoint: dir, CheckpointEvery: 2}, 5)
	resumed, err := Run(context.Background(), cfg, train, test, Options{Checkpoint: dir, CheckpointEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	if resumed.ResumedFrom != "epoch 1, batch 4" {
		t.Errorf("resumed from %q, want epoch 1, batch 4", resumed.ResumedFrom)
	}
	want, got := outputBytes(t, straight), outputBytes(t, resumed)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs of the resumed run differ from a straight run's (-straight +resumed):\n%s", diff)
	}
	if err := (Options{CheckpointEvery: 2}).Validate(); err == nil || !strings.Contains(err.Error(), "with a checkpoint folder") {
		t.Errorf("checkpoint every 2 batches without a folder: %v", err)
	}
}

// FuzzCheckpoint reads corrupted checkpoints, both as files (the checksum
// refuses nearly all) and as payloads under a valid checksum (a writer
// with a bug, or a crafted file): an error or a run that can go on, never
// a panic.
func FuzzCheckpoint(f *testing.F) {
	cfg, train, test, dir := checkpointFixture(f)
	good, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
	if err != nil {
		f.Fatal(err)
	}
	payload := good[len(checkpointHeader) : len(good)-checkpointSumLine]
	f.Add(good)
	f.Add(payload)
	f.Add(payload[:len(payload)/2])
	r, err := newRunner(cfg, train, test, Options{})
	if err != nil {
		f.Fatal(err)
	}
	stopped, cancel := context.WithCancel(context.Background())
	cancel() // a resumed run trains one batch
	f.Fuzz(func(t *testing.T, data []byte) {
		sum := sha256.Sum256(data)
		framed := append(append([]byte(checkpointHeader), data...), "sha256 "+hex.EncodeToString(sum[:])+"\n"...)
		for _, file := range [][]byte{data, framed} {
			cp, err := decodeCheckpoint("fuzz.gob", file)
			if err == nil {
				err = r.restore("fuzz.gob", cp)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "checkpoint fuzz.gob") {
					t.Fatalf("error without the file's name: %v", err)
				}
				continue
			}
			if err := r.run(stopped); err != nil && err != ErrInterrupted && !strings.Contains(err.Error(), "data order") {
				t.Fatalf("a resumed run failed: %v", err)
			}
		}
	})
}

// TestMemoryLimit: every layer within the per-layer limit, twenty of them
// together, and the trainer allocated until the machine killed it. The run
// is refused before anything is allocated, with the estimate.
func TestMemoryLimit(t *testing.T) {
	var text strings.Builder
	text.WriteString("name: wide\ninput: [8000]\nlayers:\n")
	for range 20 {
		text.WriteString("  - dense: {out: 8000}\n") // 8001 x 8000 cells, under model.MaxValues
	}
	text.WriteString("  - dense: {out: 5}\n")
	net, err := model.ReadYAML("wide.yaml", []byte(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	train := syntheticSet("train", 1, 5, net.Input, 5)
	test := syntheticSet("test", 2, 5, net.Input, 5)
	cfg := tinyConfig(net)
	cfg.Unit = xbar.DefaultUnitConfig()
	need := EstimateMemory(cfg, train, test, false)
	if need.Crossbars < 20*8001*8000*50 {
		t.Errorf("crossbars estimated at %d bytes, want at least 50 a cell (accumulator, code, slices)", need.Crossbars)
	}
	_, err = Run(context.Background(), cfg, train, test, Options{MaxMemory: 64 << 30})
	want := "training wide needs about " + need.String() + ", more than the memory limit of 64.0 GiB"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--max-memory") {
		t.Errorf("error %v, want %q and the fix", err, want)
	}
}

// TestMemoryEstimate: the estimate is at least the heap a finished run
// holds and not far above it.
func TestMemoryEstimate(t *testing.T) {
	for _, c := range []struct {
		preset  string
		variant xbar.Variant
		fp32    bool
	}{{"mlp", xbar.Accumulate, true}, {"lenet", xbar.Inplace, false}, {"lenet", xbar.Pipelined, true}} {
		net, err := model.Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Model, cfg.Batch, cfg.FP32, cfg.Unit.Variant = net, 4, c.fp32, c.variant
		train := syntheticSet("train", 1, 10, net.Input, 10)
		test := syntheticSet("test", 2, 10, net.Input, 10)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := runTo(t, cfg, train, test, Options{}, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(r)
		live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		est := EstimateMemory(cfg, train, test, false)
		if ratio := float64(est.Total()) / float64(live); ratio < 1 || ratio > 2.5 {
			t.Errorf("%s %v fp32 %v: estimate %s for a live heap of %s (ratio %.2f), want 1 to 2.5 times it",
				c.preset, c.variant, c.fp32, est, FormatBytes(live), ratio)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 20: "1.5 GiB", 3 << 40: "3.0 TiB", 5 << 50: "5120.0 TiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
