package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/rng"
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
		{[]string{"--examples", "-1"}, "--examples -1: want 0 (all) or more"},
		{[]string{"-o", filepath.Join(dir, "o.txt")}, "o.txt: want a .csv, .npy or .f32 file"},
		{[]string{"--input", "x.npy", "--test"}, "--input x.npy: give either --input or --data (and --test), not both"},
		{[]string{"--input", "x.txt", "--data", "mnist"}, "give either --input or --data"},
		{[]string{"--shape", "1,784"}, "--shape 1,784: it gives the shape of an --input .f32 file"},
		{[]string{"--per-program", "0"}, "--per-program 0: want 1 to 4096"},
	} {
		args := append([]string{"infer", "mlp", "--data", "synthetic", "--per-program", "32", "-o", filepath.Join(dir, "o.csv")}, c.args...)
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

// Float examples in .npy or raw float32 give the outputs that the same
// values as pixels (p/255) give, written as .npy and .f32 with the CSV's
// values; a larger file runs whole without --examples.
func TestInferFloatTensorsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const n = 5
	src := rng.Derive(7, "test", 0)
	var lines []string
	x := data.Tensor{Shape: []int{n, 784}}
	for ex := range n {
		line := []string{strconv.Itoa(ex)}
		for range 784 {
			p := src.IntN(256)
			line = append(line, strconv.Itoa(p))
			x.Values = append(x.Values, float64(p)/255)
		}
		lines = append(lines, strings.Join(line, ","))
	}
	pixels := filepath.Join(dir, "x.csv")
	os.WriteFile(pixels, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	npyIn, f32In := filepath.Join(dir, "x.npy"), filepath.Join(dir, "x.f32")
	atomicfile.Write(npyIn, func(w io.Writer) error { return data.WriteNPY(w, x) })
	atomicfile.Write(f32In, func(w io.Writer) error { return data.WriteF32(w, x.Values) })

	csvOut := filepath.Join(dir, "y.csv")
	out, err := runPanther(t, "infer", "mlp", "--data", pixels, "-o", csvOut)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "5 examples in 1 program(s)") || !strings.Contains(out, "largest output = label for") {
		t.Errorf("output:\n%s", out)
	}
	b, _ := os.ReadFile(csvOut)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != n+1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	var want []float64
	for _, r := range recs[1:] {
		for _, f := range r[3:] {
			v, _ := strconv.ParseFloat(f, 64)
			want = append(want, v)
		}
	}

	npyOut := filepath.Join(dir, "y.npy")
	out, err = runPanther(t, "infer", "mlp", "--input", npyIn, "-o", npyOut)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "x.npy: 5 example(s), 0 value(s) saturated") || strings.Contains(out, "largest output = label") {
		t.Errorf("output:\n%s", out)
	}
	y, err := data.ReadNPYFile(npyOut)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape, []int{n, 10}) || !slices.Equal(y.Values, want) {
		t.Errorf(".npy outputs %v %v, want %v", y.Shape, y.Values, want)
	}

	f32Out := filepath.Join(dir, "y.f32")
	if _, err := runPanther(t, "infer", "mlp", "--input", f32In, "--shape", "5,784", "--examples", "3", "-o", f32Out); err != nil {
		t.Fatal(err)
	}
	got, err := data.ReadF32File(f32Out)
	if err != nil || !slices.Equal(got, want[:30]) {
		t.Errorf(".f32 outputs %v (%v), want %v", got, err, want[:30])
	}
}

// Values outside Q4.12's range saturate and are counted; shapes and files
// that do not fit the model are named.
func TestInferFloatTensorErrors(t *testing.T) {
	dir := t.TempDir()
	x := data.Tensor{Shape: []int{2, 784}, Values: make([]float64, 2*784)}
	x.Values[0], x.Values[900], x.Values[901] = 9, -8.5, 7.999
	path := filepath.Join(dir, "x.npy")
	atomicfile.Write(path, func(w io.Writer) error { return data.WriteNPY(w, x) })
	out, err := runPanther(t, "infer", "mlp", "--input", path, "-o", filepath.Join(dir, "y.csv"))
	if err != nil || !strings.Contains(out, "2 example(s), 2 value(s) saturated to Q4.12's range [-8, 8)") {
		t.Errorf("%v:\n%s", err, out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "y.csv"))
	if !strings.HasPrefix(string(b), "example,largest,y0,") {
		t.Errorf("CSV without labels starts %.40q", b)
	}

	bad := filepath.Join(dir, "bad.npy")
	atomicfile.Write(bad, func(w io.Writer) error {
		return data.WriteNPY(w, data.Tensor{Shape: []int{2, 28, 28}, Values: make([]float64, 2*784)})
	})
	raw := filepath.Join(dir, "x.f32")
	atomicfile.Write(raw, func(w io.Writer) error { return data.WriteF32(w, make([]float64, 785)) })
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--input", bad}, "bad.npy: shape [2 28 28] does not match model mlp's input 784: want [N, 784] (N examples) or [784]"},
		{[]string{"--input", raw}, "x.f32: 785 values are not a whole number of examples of 784 (model mlp's input 784); give --shape"},
		{[]string{"--input", raw, "--shape", "5,784"}, "x.f32: --shape 5,784 calls for 3920 values, but the file holds 785"},
		{[]string{"--input", path, "--shape", "2,784"}, "--shape 2,784: a .npy file gives its own shape"},
		{[]string{"--input", path, "--examples", "3"}, "--examples 3: the data holds 2"},
		{[]string{"--input", filepath.Join(dir, "x.csv")}, "x.csv: want a .npy file or raw float32 (.f32)"},
	} {
		args := append([]string{"infer", "mlp", "-o", filepath.Join(dir, "z.csv")}, c.args...)
		if _, err := runPanther(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
}
