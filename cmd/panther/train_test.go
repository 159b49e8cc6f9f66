package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/train"
	"github.com/panther-xbar/panther/xbar"
)

// TestTrainFlagsCheckedWhetherUsedOrNot: `train --no-fp32 --fp32-lr NaN`
// panicked in the configuration's hash (json: unsupported value: NaN).
func TestTrainFlagsCheckedWhetherUsedOrNot(t *testing.T) {
	cmd, _, err := root.Find([]string{"train"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for name, v := range map[string]string{"no-fp32": "false", "fp32-lr": "0.05", "checkpoint-every": "0", "max-memory": "0"} {
			cmd.Flags().Set(name, v)
		}
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--no-fp32", "--fp32-lr", "NaN"}, "fp32 lr = NaN: want a positive number"},
		{[]string{"train", "--fp32-lr", "0.05", "--checkpoint-every", "5"}, "checkpoint every 5 batches: want 0 (after every epoch only) or more, with a checkpoint folder"},
		{[]string{"train", "--checkpoint-every", "0", "--max-memory", "-1"}, "--max-memory -1: want a size in GiB"},
		{[]string{"train", "--max-memory", "NaN"}, "--max-memory NaN: want a size in GiB"},
	} {
		_, err := runPanther(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// TestStopSignalsExitStatus: `train` stopped by SIGTERM or SIGINT exited
// 0; it exits 128 plus the signal's number.
func TestStopSignalsExitStatus(t *testing.T) {
	for sig, status := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		ctx, stop := signalContext(context.Background())
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		<-ctx.Done()
		got, ok := signalOf(ctx)
		stop()
		if !ok || got != sig {
			t.Fatalf("%v: the context names %v (%v)", sig, got, ok)
		}
		if s := exitStatus(stoppedBy{sig: got, err: errors.New("stopped")}); s != status {
			t.Errorf("%v: exit status %d, want %d", sig, s, status)
		}
	}
	if s := exitStatus(errors.New("bad flag")); s != 1 {
		t.Errorf("an error's exit status is %d, want 1", s)
	}
}

// TestStoppedTrainingWritesOutputsAndFails: a run stopped by SIGTERM still
// writes its outputs and checkpoint, and returns an error that exits 143
// and says where the state is.
func TestStoppedTrainingWritesOutputsAndFails(t *testing.T) {
	net, err := model.ReadYAML("tiny.yaml", []byte("input: [4]\nlayers:\n  - dense: {out: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	set := &data.Set{Name: "tiny", Shape: []int{4}, Pixels: []uint8{0, 50, 100, 150, 200, 250, 0, 9, 3, 4, 5, 6}, Labels: []uint8{0, 1, 2}}
	cfg := train.DefaultConfig()
	cfg.Model, cfg.Dataset, cfg.Batch = net, "tiny", 1
	cfg.Unit.Size = xbar.Size{Rows: 32, Cols: 32}
	dir := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stoppedBy{sig: syscall.SIGTERM, err: errors.New("stopped by terminated")})
	res, err := runTraining(ctx, io.Discard, io.Discard, cfg, onnx.Model{}, set, set, filepath.Join(dir, "out"), train.Options{Checkpoint: filepath.Join(dir, "ck")})
	if exitStatus(err) != 143 || !strings.Contains(err.Error(), "stopped by SIGTERM; the state is saved in "+filepath.Join(dir, "ck")+": run the same command to resume") {
		t.Errorf("error %v (exit status %d), want exit status 143 and where the state is", err, exitStatus(err))
	}
	if res == nil || !res.Interrupted {
		t.Errorf("result %+v, want the interrupted run's", res)
	}
	for _, name := range []string{"out/" + train.MetricsJSON, "ck/" + train.CheckpointFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
}

// TestEpochLineNamesEvents: the epoch line called the events otherwise
// than metrics.csv and metrics.json ("output saturations" was output_sat
// and vector_sat added); it uses their names.
func TestEpochLineNamesEvents(t *testing.T) {
	e := train.Events{SliceSat: []int64{3, 1}, OPAPulses: 400, Vanished: 5, ADCClips: 6, OutputSat: 7, VectorSat: 8}
	line := epochLine(train.EpochMetrics{Trainer: train.Panther, Epoch: 1, Events: &e})
	want := "training events: opa_pulses 400, slice_saturations 4, slice_sat [3 1], vanished 5, g_clips 0, adc_clips 6, output_sat 7, q_sat 0, weight_sat 0, vector_sat 8; sat_rate 0.01"
	if !strings.HasSuffix(line, want) {
		t.Errorf("epoch line\n%s\nwant it to end with\n%s", line, want)
	}
}

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

// study --bias reaches its points: a one-point study with --bias crossbar
// trains as train --bias crossbar does, to the bit of the test loss, and
// the default (auto) trains otherwise on mlp, whose second layer's 256
// inputs fill their row tiles.
func TestStudyBiasReachesPoints(t *testing.T) {
	dir := t.TempDir()
	shared := []string{"--limit", "64", "--test-limit", "32", "--seed", "3"}
	if _, err := runPanther(t, append([]string{"train", "--adc", "ideal", "--lr", "0.002", "--no-fp32", "--crs-interval", "1",
		"--bias", "crossbar", "--out", filepath.Join(dir, "train")}, shared...)...); err != nil {
		t.Fatal(err)
	}
	var metrics struct {
		Epochs []struct {
			TestLoss train.Loss `json:"test_loss"`
		} `json:"epochs"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "train", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &metrics); err != nil || len(metrics.Epochs) != 1 {
		t.Fatalf("metrics.json: %d epochs, %v", len(metrics.Epochs), err)
	}
	want := metrics.Epochs[0].TestLoss
	for _, bias := range []string{"crossbar", "auto"} {
		out := filepath.Join(dir, "study-"+bias)
		if _, err := runPanther(t, append([]string{"study", "--mlp", "--datasets", "mnist", "--variants", "accumulate", "--roundings", "nearest",
			"--fraction-bits", "8", "--cell-bits", "", "--mixed", "6,6,6,6,5,5,5,5", "--crs-intervals", "1", "--jobs", "1",
			"--bias", bias, "--out", out}, shared...)...); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, train.StudyJSONL))
		if err != nil {
			t.Fatal(err)
		}
		var rec train.StudyRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("--bias %s: %s: %v", bias, b, err)
		}
		if same := rec.TestLoss == want; same != (bias == "crossbar") {
			t.Errorf("--bias %s: the study's test loss %v, train --bias crossbar's %v", bias, rec.TestLoss, want)
		}
	}
}
