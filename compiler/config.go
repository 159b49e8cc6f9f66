package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/xbar"
)

// Config is a training configuration: what the compiled program does with
// the network. The YAML form (every key optional):
//
//	variant: accumulate      # inplace, accumulate or pipelined (docs/numeric-model.md)
//	batch: 4                 # examples per mini-batch
//	lr: 0.01                 # learning rate per example: OPA eta = -lr
//	loss: mse                # overrides the model's loss
//	crs_interval: 1          # a CRS after every this many batches, and at the end
//	bias: auto               # or crossbar: every bias a crossbar row (docs/training.md, "Biases")
//	examples: 8              # examples the program streams
//	seed: 1                  # synthetic data and initial weights
//	data: synthetic          # or a CSV file (train.csv: label, then the values in [0, 255]), or a dataset (mnist, ...)
//	update_plan: 2x12/6x8,5x4/f8   # crossbar settings recorded for the run
//	inplace_plan: 2x8/6x4,5x4
//	read_plan: 2x8
//	adc: "8"
//	device: ideal
//
// Decoding is strict: an unknown key or a value of the wrong type is an
// error naming file:line:col. The crossbar settings do not change the
// program; they are recorded in its metadata for the run (the simulator
// takes them from its architecture).
type Config struct {
	Variant     xbar.Variant
	Batch       int
	LR          float64
	Loss        model.Loss // "" keeps the model's loss
	CRSInterval int
	// Bias says where the layers' biases lie, as the trainer's
	// train.Config.Bias does.
	Bias     model.BiasPlacement
	Examples int
	Seed     uint64
	Data     string // "synthetic", a CSV path (ending in .csv) or a model/data dataset
	// Crossbar settings recorded in the program's metadata, by key
	// (update_plan, inplace_plan, read_plan, adc, device).
	Crossbar map[string]string
	// NoCRS leaves carry resolution out, for a design whose update is
	// resolved at once (arch.Arch.HasCRS is false): it has no crs.
	NoCRS bool
}

// DefaultConfig is a short run: the accumulate variant, batches of 4,
// lr 0.01, a CRS after every batch, 8 synthetic examples, seed 1.
func DefaultConfig() Config {
	return Config{Variant: xbar.Accumulate, Batch: 4, LR: 0.01, CRSInterval: 1, Examples: 8, Seed: 1, Data: "synthetic"}
}

// MaxExamples bounds the examples one program streams: every example adds
// transfers to the tiles' straight-line programs and data to shared memory.
const MaxExamples = 1 << 12

// Validate checks every setting and names the one that is wrong.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Variant > xbar.Pipelined {
		bad("variant %v: want inplace, accumulate or pipelined", c.Variant)
	}
	if c.Batch < 1 {
		bad("batch = %d: want at least 1", c.Batch)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad("lr = %v: want a positive number (the step per example; OPA eta = -lr)", c.LR)
	}
	if c.Loss != "" && !slices.Contains(model.Losses, c.Loss) {
		bad("loss %q: want softmax_cross_entropy or mse", c.Loss)
	}
	if c.Bias > model.BiasCrossbar {
		bad("bias %v: want auto or crossbar", c.Bias)
	}
	if c.CRSInterval < 1 {
		bad("crs_interval = %d: want at least 1 (batches between CRSs)", c.CRSInterval)
	}
	if c.Examples < 1 || c.Examples > MaxExamples {
		bad("examples = %d: want 1..%d", c.Examples, MaxExamples)
	}
	if c.Data == "" {
		bad("data: want synthetic, a CSV file or a dataset")
	}
	for k, v := range c.Crossbar {
		if err := checkCrossbarSetting(k, v); err != nil {
			bad("%s: %v", k, err)
		}
	}
	return errors.Join(errs...)
}

// crossbarKeys are the recorded crossbar settings.
var crossbarKeys = []string{"update_plan", "inplace_plan", "read_plan", "adc", "device"}

func checkCrossbarSetting(key, v string) error {
	switch key {
	case "update_plan", "inplace_plan", "read_plan":
		_, err := xbar.ParsePlan(v)
		return err
	case "adc":
		_, err := xbar.ParseADC(v)
		return err
	case "device":
		switch v {
		case "ideal", "nonlinear", "table":
			return nil
		}
		return fmt.Errorf("device %q: want ideal, nonlinear or table", v)
	}
	return fmt.Errorf("unknown crossbar setting")
}

// Batches is the number of mini-batches; the last may be short.
func (c Config) Batches() int { return (c.Examples + c.Batch - 1) / c.Batch }

// CRSAfter reports whether a CRS follows example e (0-based): after every
// CRSInterval-th batch, counting a short last batch, and after the last
// example so that the final weights are resolved (docs/numeric-model.md, item 13).
func (c Config) CRSAfter(e int) bool {
	if e == c.Examples-1 {
		return true
	}
	if (e+1)%c.Batch != 0 {
		return false
	}
	return ((e+1)/c.Batch)%c.CRSInterval == 0
}

// configKeys lists the keys of the YAML form, in documentation order.
var configKeys = append([]string{"variant", "batch", "lr", "loss", "crs_interval", "bias", "examples", "seed", "data"}, crossbarKeys...)

// ReadConfig reads a training configuration from YAML over base (the
// defaults, or settings such as the architecture's variant); name labels
// messages (a file name).
func ReadConfig(name string, data []byte, base Config) (Config, error) {
	c := base
	c.Crossbar = maps.Clone(base.Crossbar)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		return Config{}, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: more than one YAML document: a training configuration holds one", name)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return c, nil
	}
	if root.Kind != yaml.MappingNode {
		return Config{}, fmt.Errorf("%s: a training configuration is a mapping of keys (%s)", at(name, root), strings.Join(configKeys, ", "))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !slices.Contains(configKeys, k.Value) {
			return Config{}, fmt.Errorf("%s: unknown key %q: allowed keys are %s", at(name, k), k.Value, strings.Join(configKeys, ", "))
		}
		if seen[k.Value] {
			return Config{}, fmt.Errorf("%s: key %q given twice", at(name, k), k.Value)
		}
		seen[k.Value] = true
		if v.Kind != yaml.ScalarNode {
			return Config{}, fmt.Errorf("%s: %s: want a single value", at(name, v), k.Value)
		}
		if err := c.Set(k.Value, v.Value); err != nil {
			return Config{}, fmt.Errorf("%s: %w", at(name, v), err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// ReadConfigFile reads a training configuration file over base.
func ReadConfigFile(path string, base Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("training configuration: %w", err)
	}
	return ReadConfig(path, b, base)
}

// isCSVPath reports whether a data setting is a plain CSV file: a path
// ending in .csv, not a dataset form such as csv:TRAIN.csv,TEST.csv.
func isCSVPath(s string) bool {
	_, err := data.ParseSpec(s)
	return strings.HasSuffix(strings.ToLower(s), ".csv") && err != nil
}

// ConfigKeys lists the settings of a training configuration, in
// documentation order: the keys of the YAML form and of Set.
func ConfigKeys() []string { return slices.Clone(configKeys) }

func at(name string, n *yaml.Node) string {
	if n.Line == 0 {
		return name
	}
	return fmt.Sprintf("%s:%d:%d", name, n.Line, n.Column)
}

// Set assigns one setting from text, as the YAML form and command-line
// flags give it.
func (c *Config) Set(key, value string) error {
	num := func(lo, hi int) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || v < lo || v > hi {
			return 0, fmt.Errorf("%s: want a whole number in [%d, %d], got %q", key, lo, hi, value)
		}
		return v, nil
	}
	var err error
	switch key {
	case "variant":
		c.Variant, err = xbar.ParseVariant(value)
	case "batch":
		c.Batch, err = num(1, MaxExamples)
	case "lr":
		c.LR, err = strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || !(c.LR > 0) || math.IsInf(c.LR, 0) {
			err = fmt.Errorf("lr: want a positive number, got %q", value)
		}
	case "loss":
		c.Loss = model.Loss(strings.TrimSpace(value))
		if !slices.Contains(model.Losses, c.Loss) {
			err = fmt.Errorf("loss %q: want softmax_cross_entropy or mse", value)
		}
	case "crs_interval":
		c.CRSInterval, err = num(1, MaxExamples)
	case "bias":
		c.Bias, err = model.ParseBiasPlacement(value)
	case "examples":
		c.Examples, err = num(1, MaxExamples)
	case "seed":
		c.Seed, err = strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if err != nil {
			err = fmt.Errorf("seed: want a whole number >= 0, got %q", value)
		}
	case "data":
		c.Data = strings.TrimSpace(value)
		if c.Data != "synthetic" && !isCSVPath(c.Data) {
			if _, e := data.ParseSpec(c.Data); e != nil {
				err = fmt.Errorf("data: %q is not synthetic, a CSV file (a path ending in .csv) or a dataset: %w", c.Data, e)
			}
		}
	default:
		if !slices.Contains(crossbarKeys, key) {
			return fmt.Errorf("unknown setting %q: allowed keys are %s", key, strings.Join(configKeys, ", "))
		}
		if err = checkCrossbarSetting(key, value); err == nil {
			if c.Crossbar == nil {
				c.Crossbar = map[string]string{}
			}
			c.Crossbar[key] = strings.TrimSpace(value)
		}
	}
	return err
}
