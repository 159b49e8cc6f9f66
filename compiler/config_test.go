package compiler

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

const fullConfig = `# every key
variant: inplace
batch: 3
lr: 0.125
loss: mse
crs_interval: 2
bias: crossbar
examples: 10
seed: 42
data: synthetic
update_plan: 2x12/6x8,5x4/f8
adc: "8"
device: ideal
`

func TestReadConfig(t *testing.T) {
	c, err := ReadConfig("train.yaml", []byte(fullConfig), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if c.Variant != xbar.Inplace || c.Batch != 3 || c.LR != 0.125 || c.Loss != model.MSE || c.CRSInterval != 2 || c.Bias != model.BiasCrossbar ||
		c.Examples != 10 || c.Seed != 42 || c.Data != "synthetic" || c.Crossbar["adc"] != "8" || c.Crossbar["update_plan"] != "2x12/6x8,5x4/f8" {
		t.Fatalf("got %+v", c)
	}
	if c.Batches() != 4 {
		t.Errorf("%d batches of 10 examples by 3, want 4", c.Batches())
	}
	// A CRS after every second batch (the one ending at example 5) and
	// after the last example.
	var crs []int
	for e := range c.Examples {
		if c.CRSAfter(e) {
			crs = append(crs, e)
		}
	}
	if want := []int{5, 9}; !slices.Equal(crs, want) {
		t.Errorf("CRS after examples %v, want %v", crs, want)
	}
	for _, empty := range []string{"", "# nothing\n", "~\n"} {
		if c, err := ReadConfig("empty.yaml", []byte(empty), DefaultConfig()); err != nil || c.Batch != DefaultConfig().Batch {
			t.Errorf("%q: %+v, %v; want the defaults", empty, c, err)
		}
	}
	// Flags override the file through Set.
	if err := c.Set("batch", "5"); err != nil || c.Batch != 5 {
		t.Errorf("Set batch: %v, %d", err, c.Batch)
	}
}

// data: train.csv, as the compile help says, is one CSV file of examples
// (it once failed with "unknown dataset" and no position); the dataset
// forms of model/data still work.
func TestConfigDataCSVFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train.csv")
	if err := os.WriteFile(path, []byte("1,0,255,128,64\n0,255,0,0,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{path, "csv:a.csv,b.csv", "mnist", "synthetic"} {
		c, err := ReadConfig("train.yaml", []byte("data: "+v+"\n"), DefaultConfig())
		if err != nil || c.Data != v {
			t.Errorf("data: %s: %v, %q", v, err, c.Data)
		}
	}
	c := DefaultConfig()
	if err := c.Set("data", path); err != nil {
		t.Fatal(err)
	}
	net := yamlNet(t, "input: [4]\nlayers:\n  - dense: {out: 2}\nloss: mse\n")
	ds, err := LoadData(c, net, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int16{{0, 4096, 2056, 1028}, {4096, 0, 0, 16}}; !slices.EqualFunc(ds.Inputs, want, slices.Equal) || !slices.Equal(ds.Labels, []int{1, 0}) {
		t.Errorf("inputs %v labels %v", ds.Inputs, ds.Labels)
	}
	c.Data = filepath.Join(dir, "missing.csv")
	if _, err := LoadData(c, net, 2); err == nil || !strings.Contains(err.Error(), "data "+c.Data+": ") {
		t.Errorf("a missing CSV file: %v", err)
	}
}

// TestReadConfigErrors checks that every rejection says where and why.
func TestReadConfigErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"batch: 4\nbacth: 2\n", `train.yaml:2:1: unknown key "bacth"`},
		{"batch: 0\n", "train.yaml:1:8: batch: want a whole number in [1, 4096]"},
		{"batch: four\n", `train.yaml:1:8: batch: want a whole number in [1, 4096], got "four"`},
		{"lr: -1\n", "train.yaml:1:5: lr: want a positive number"},
		{"variant: sideways\n", "train.yaml:1:10: "},
		{"loss: hinge\n", `train.yaml:1:7: loss "hinge"`},
		{"batch: 2\nbatch: 3\n", `train.yaml:2:1: key "batch" given twice`},
		{"batch: [1, 2]\n", "train.yaml:1:8: batch: want a single value"},
		{"- batch\n", "train.yaml:1:1: a training configuration is a mapping"},
		{"adc: many\n", "train.yaml:1:6: "},
		{"device: quantum\n", `train.yaml:1:9: device "quantum"`},
		{"batch: 2\n---\nbatch: 3\n", "more than one YAML document"},
		{"batch: : :\n", "train.yaml: "},
		{"bias: vector\n", `train.yaml:1:7: bias "vector": want one of auto, crossbar`},
		{"batch: 2\ndata: cifar\n", `train.yaml:2:7: data: "cifar" is not synthetic, a CSV file (a path ending in .csv) or a dataset: unknown dataset "cifar"`},
		{"data: train.txt\n", `train.yaml:1:7: data: "train.txt" is not synthetic`},
	}
	for _, c := range cases {
		_, err := ReadConfig("train.yaml", []byte(c.src), DefaultConfig())
		if err == nil || !strings.HasPrefix(err.Error(), c.want) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}

// FuzzReadConfig: the reader never panics, and what it accepts is valid.
func FuzzReadConfig(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Add([]byte("batch: 2\nlr: 1e-3\n"))
	f.Add([]byte("{variant: accumulate, examples: 4096}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadConfig("fuzz.yaml", data, DefaultConfig())
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
	})
}
