package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runPanther runs the command line in-process and returns its output. Every
// flag starts from its default, as in a fresh process.
func runPanther(t *testing.T, args ...string) (string, error) {
	t.Helper()
	resetFlags(root)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func resetFlags(c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		f.Value.Set(f.DefValue)
		f.Changed = false
	})
	for _, sub := range c.Commands() {
		resetFlags(sub)
	}
}

func TestQuickstartWritesTableAndJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.json")
	out, err := runPanther(t, "quickstart", "--size", "32", "--repeats", "1", "--json", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wrong outputs", "inplace 2x8/6x4,5x4", "weights differing from exact"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Products []struct{ Operation string } `json:"products"`
	}
	if err := json.Unmarshal(b, &res); err != nil || len(res.Products) != 12 {
		t.Fatalf("JSON: %v, %d products (want 12)", err, len(res.Products))
	}
}

func TestAssembleDisassembleInspect(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "sample.prog")
	if _, err := runPanther(t, "asm", "../../isa/testdata/train_sample.s", "-o", prog); err != nil {
		t.Fatal(err)
	}
	dis := filepath.Join(dir, "sample.s")
	if _, err := runPanther(t, "disasm", prog, "-o", dis); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(dir, "again.prog")
	if _, err := runPanther(t, "asm", dis, "-o", again); err != nil {
		t.Fatal(err)
	}
	out, err := runPanther(t, "inspect", again)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "2 tiles, 4 cores, 103 instructions") {
		t.Errorf("inspect of the reassembled program:\n%s", out)
	}
}

func TestAssemblyErrorsLeaveNoOutput(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bad.s")
	os.WriteFile(src, []byte(".tile 0\n.core 0\n  mvm u5:mvm\n  jmp nowhere\n"), 0o644)
	prog := filepath.Join(dir, "bad.prog")
	out, err := runPanther(t, "asm", src, "-o", prog)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"bad.s:3:7: matrix unit u5 does not exist", "bad.s:4:7: undefined label nowhere"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(prog); !os.IsNotExist(err) {
		t.Errorf("a failed assembly left %s behind", prog)
	}
}

func TestPlotDrawsHeatmapAndLines(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ kind, file string }{{"heatmap", "hm.png"}, {"line", "lines.svg"}} {
		out := filepath.Join(dir, c.file)
		if _, err := runPanther(t, "plot", "../../sweep/testdata/results.jsonl", "--x", "crs_interval", "--y", "variant",
			"--kind", c.kind, "-o", out); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(out); err != nil || st.Size() < 1000 {
			t.Fatalf("%s: %v (size %v)", out, err, st)
		}
	}
	if _, err := runPanther(t, "plot", "../../sweep/testdata/results.jsonl", "--x", "cells", "-o", filepath.Join(dir, "x.png")); err == nil ||
		!strings.Contains(err.Error(), `parameter "cells" is not in the records`) {
		t.Fatalf("unknown parameter: %v", err)
	}
}

func TestDemoTrainsThenCompares(t *testing.T) {
	dir := t.TempDir()
	out, err := runPanther(t, "demo", "--limit", "640", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== 1. training on PANTHER crossbars", "epoch 1 panther", "== 2. the trained network on the simulated machine: 10000 MNIST test images",
		"== 3. one training step", "serial", "digital", "gpu"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The simulated machine, running the trained weights, classifies the
	// test set exactly as the trainer's crossbars do.
	var trainer, machine float64
	i := strings.Index(out, "test accuracy: ")
	if i < 0 {
		t.Fatalf("no test accuracy comparison in\n%s", out)
	}
	if _, err := fmt.Sscanf(out[i:], "test accuracy: %f%% on the trainer's crossbars, %f%% on the simulated machine", &trainer, &machine); err != nil {
		t.Fatal(err)
	}
	if trainer != machine || trainer < 20 {
		t.Errorf("test accuracy %.2f%% on the trainer, %.2f%% on the machine: want equal (and above chance)", trainer, machine)
	}
	for _, f := range []string{"train/metrics.json", "train/accuracy.png", "train/weights.json", "eval/eval.json", "eval/eval.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
