package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// infer writes one CSV line per example; splitting the examples over
// several programs changes no output.
func TestInferSplitsIntoPrograms(t *testing.T) {
	dir := t.TempDir()
	var outs []string
	for _, per := range []string{"40", "16"} {
		path := filepath.Join(dir, "out"+per+".csv")
		out, err := runPanther(t, "infer", "mlp", "--data", "synthetic", "--examples", "40", "--per-program", per, "--weights", "", "--json", "", "-o", path)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"40": "40 examples in 1 program(s) of up to 40", "16": "40 examples in 3 program(s) of up to 16"}[per]
		if !strings.Contains(out, want) || !strings.Contains(out, "largest output = label for") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 41 || !strings.HasPrefix(lines[0], "example,label,largest,y0,") || !strings.HasSuffix(lines[0], ",y9") {
			t.Fatalf("%d lines, header %q", len(lines), lines[0])
		}
		outs = append(outs, string(b))
	}
	if outs[0] != outs[1] {
		t.Error("outputs differ between one program and three")
	}
}

func TestInferErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "w.json")
	os.WriteFile(bad, []byte(`{"model":"x","layers":[]}`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--weights", bad}, "w.json: no weights for layer 1 (dense"},
		{[]string{"--examples", "0"}, "--examples 0: want at least 1"},
		{[]string{"--per-program", "0"}, "--per-program 0: want 1 to 4096"},
	} {
		args := append([]string{"infer", "mlp", "--data", "synthetic", "--examples", "4", "--per-program", "32", "--weights", "", "-o", filepath.Join(dir, "o.csv")}, c.args...)
		if _, err := runPanther(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.csv")); err == nil {
		t.Error("a failed run left an output file")
	}
}

// Where the asked-for examples do not fit a program's shared memory, infer
// halves them until they do.
func TestInferFitsPrograms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.csv")
	out, err := runPanther(t, "infer", "mlp", "--data", "synthetic", "--examples", "200", "--per-program", "4096", "--weights", "", "--json", "", "-o", path)
	if err != nil {
		t.Fatal(err)
	}
	// 784 inputs: 4096, 2048, ... 128 do not fit the first layer's tiles, 64 does.
	if !strings.Contains(out, "200 examples in 4 program(s) of up to 64") {
		t.Errorf("output:\n%s", out)
	}
}

// Integer list flags name the flag and the entry that is not a number.
func TestIntListFlag(t *testing.T) {
	if _, err := runPanther(t, "eval", "--batches", "1,x", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), `--batches: "x" is not a whole number`) {
		t.Errorf("got %v", err)
	}
}
