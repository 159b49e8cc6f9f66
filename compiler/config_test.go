package compiler

import (
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
	if c.Variant != xbar.Inplace || c.Batch != 3 || c.LR != 0.125 || c.Loss != model.MSE || c.CRSInterval != 2 ||
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
