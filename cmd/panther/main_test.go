package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/model"
)

// runPanther runs the command line in-process and returns its output. The
// commands keep their flags between runs, so every flag goes back to its
// default first, as in a fresh process.
func runPanther(t *testing.T, args ...string) (string, error) {
	t.Helper()
	resetFlags(t, root)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := execute()
	return out.String(), err
}

func resetFlags(t *testing.T, c *cobra.Command) {
	t.Helper()
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if err := f.Value.Set(f.DefValue); err != nil {
			t.Fatalf("resetting --%s of %s to %q: %v", f.Name, c.Name(), f.DefValue, err)
		}
		f.Changed = false
	})
	for _, sub := range c.Commands() {
		resetFlags(t, sub)
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
	sameBytes(t, prog, again)
}

// sameBytes fails unless files a and b hold the same bytes.
func sameBytes(t *testing.T, a, b string) {
	t.Helper()
	x, errA := os.ReadFile(a)
	y, errB := os.ReadFile(b)
	if errA != nil || errB != nil || !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ (%d and %d bytes; %v, %v)", a, b, len(x), len(y), errA, errB)
	}
}

// A compiled training program, weights included, survives disasm then asm
// byte for byte: the model name and options come from .model and .option,
// the weight images from .weights and .codes, not from the file name.
func TestCompiledProgramRoundTrip(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.yaml")
	src := "name: tiny\ninput: [8]\nlayers:\n  - dense: {out: 4}\n  - relu\n  - dense: {out: 3}\nloss: softmax_cross_entropy\n"
	if err := os.WriteFile(model, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "tiny.prog")
	if out, err := runPanther(t, "compile", model, "--train", "../../compiler/testdata/train.yaml", "-o", prog); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dis := filepath.Join(dir, "other-name.s")
	if _, err := runPanther(t, "disasm", prog, "-o", dis); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(dis)
	if err != nil || !bytes.Contains(text, []byte("\n.weights tile=")) || !bytes.Contains(text, []byte("\n.model \"tiny\"\n")) {
		t.Fatalf("the disassembly lacks the weights or the model name (%v):\n%.600s", err, text)
	}
	again := filepath.Join(dir, "again.prog")
	if out, err := runPanther(t, "asm", dis, "-o", again); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	sameBytes(t, prog, again)
}

// An empty or comment-only file is refused with its place, and writes nothing.
func TestAssembleEmptyFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{"empty.s": "", "comments.s": "# only a comment\n\n"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		prog := filepath.Join(dir, name+".prog")
		out, err := runPanther(t, "asm", path, "-o", prog)
		if err == nil || !strings.Contains(out, path+":1:1: nothing to assemble") {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
		if _, err := os.Stat(prog); !os.IsNotExist(err) {
			t.Errorf("%s: a refused assembly left %s behind", name, prog)
		}
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

// compile --train with "data: train.csv" in the configuration streams that
// file's examples (it once failed with "unknown dataset" and no position).
func TestCompileTrainWithCSVData(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"m.yaml":    "input: [4]\nlayers:\n  - dense: {out: 2}\nloss: mse\n",
		"train.csv": "1,0,255,128,64\n0,255,0,0,1\n",
		"cfg.yaml":  "batch: 2\nexamples: 2\ndata: " + filepath.Join(dir, "train.csv") + "\n",
		"bad.yaml":  "batch: 2\ndata: cifar\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog := filepath.Join(dir, "m.prog")
	if out, err := runPanther(t, "compile", filepath.Join(dir, "m.yaml"), "--train", filepath.Join(dir, "cfg.yaml"), "-o", prog); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_, err := runPanther(t, "compile", filepath.Join(dir, "m.yaml"), "--train", bad, "-o", prog)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":2:7: data: \"cifar\" is not synthetic") {
		t.Errorf("data: cifar: %v", err)
	}
}

// A container whose weight image claims 2^63 + 2 cells once passed the size
// check and panicked in inspect, disasm and run; each now names the file,
// the image and the shape.
func TestWrappingImageIsRefused(t *testing.T) {
	const path = "../../program/testdata/wrapping-image.prog"
	for _, args := range [][]string{{"inspect", path}, {"disasm", path}, {"run", path}} {
		_, err := runPanther(t, args...)
		if err == nil || !strings.Contains(err.Error(), path+": program: section WGHT, image 0 (tile 0 core 1 unit 1), offset 120: shape 4294836226x2147549185 does not fit a 128x128 crossbar") {
			t.Errorf("%s: %v", args[0], err)
		}
	}
}

func TestProfilesAreWritten(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	if _, err := runPanther(t, "quickstart", "--size", "32", "--repeats", "1", "--cpuprofile", cpu, "--memprofile", mem); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{cpu, mem} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f) // pprof profiles are gzipped protocol buffers
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(zr)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %d bytes, %v", path, len(b), err)
		}
	}
}

// Every command that takes a network refuses a missing file and an unknown
// extension with model.FormOf's error, which names the input and the
// accepted forms.
func TestModelErrorsAreOne(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{filepath.Join(dir, "missing.yaml"), filepath.Join(dir, "missing.onnx"), filepath.Join(dir, "net.txt")} {
		_, want := model.FormOf(name)
		if want == nil {
			t.Fatalf("FormOf(%s) accepted it", name)
		}
		for _, args := range [][]string{
			{"train", "--model", name},
			{"study", "--model", name},
			{"compile", name, "--infer", "-o", filepath.Join(dir, "m.prog")},
			{"infer", name},
			{"eval", "--workloads", name},
		} {
			if _, err := runPanther(t, args...); err == nil || !strings.Contains(err.Error(), want.Error()) {
				t.Errorf("%s: %v\nwant it to contain %v", strings.Join(args, " "), err, want)
			}
		}
	}
}

// The flags several commands share mean the same everywhere: the same help
// and default (--arch names every architecture preset).
func TestSharedFlagsAlike(t *testing.T) {
	for name, cmds := range map[string][]string{"arch": {"compile", "infer", "run"}, "bias": {"train", "study", "infer"}} {
		var first *pflag.Flag
		for _, c := range cmds {
			cmd, _, err := root.Find([]string{c})
			if err != nil {
				t.Fatal(err)
			}
			f := cmd.Flags().Lookup(name)
			switch {
			case f == nil:
				t.Errorf("%s has no --%s", c, name)
			case first == nil:
				first = f
			case f.Usage != first.Usage || f.DefValue != first.DefValue:
				t.Errorf("%s --%s: %q (default %q); %s's: %q (default %q)", c, name, f.Usage, f.DefValue, cmds[0], first.Usage, first.DefValue)
			}
		}
	}
	run, _, _ := root.Find([]string{"run"})
	if f := run.Flags().Lookup("arch"); f.DefValue != "panther" || !strings.Contains(f.Usage, strings.Join(arch.Presets(), ", ")) {
		t.Errorf("--arch: %q (default %q)", f.Usage, f.DefValue)
	}
}
