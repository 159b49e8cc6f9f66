package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

// Config is one training run.
type Config struct {
	// Model is the network; Dataset names the data it trains on (as
	// data.Load reads it), for the record and the checkpoint's identity.
	Model   *model.Network `json:"model"`
	Dataset string         `json:"dataset"`
	// Unit configures every crossbar tile (variant, plans, ADC, device,
	// rounding, OPA mode, tile size); its Seed is replaced per tile.
	Unit xbar.UnitConfig `json:"unit"`
	// Bias says where the layers' biases lie: model.BiasAuto (the
	// default; left out of the JSON form, so that the identity of such a
	// run is the one it had before the setting existed) or
	// model.BiasCrossbar.
	Bias   model.BiasPlacement `json:"bias,omitempty"`
	Epochs int                 `json:"epochs"`
	Batch  int                 `json:"batch"`
	// LR is the crossbar learning rate per example: each example's OPA
	// adds -LR times its own gradient (docs/training.md).
	LR float64 `json:"lr"`
	// CRSInterval: a CRS after every CRSInterval-th batch, counted across
	// epochs, and a final one at the end of training.
	CRSInterval int    `json:"crs_interval"`
	Seed        uint64 `json:"seed"`
	// Limit and TestLimit use only the first that many training and test
	// examples (0: all).
	Limit     int `json:"limit"`
	TestLimit int `json:"test_limit"`
	// FP32 trains the float32 reference beside, with FP32LR on the
	// batch-mean loss.
	FP32   bool    `json:"fp32"`
	FP32LR float64 `json:"fp32_lr"`
	// CurveEvery is the number of batches between learning-curve points
	// (0: about 50 points per epoch).
	CurveEvery int `json:"curve_every"`
	// InitialWeights, when set, are the weights both trainers start from
	// (an ONNX model's), per layer as model.InitialWeights lays them out
	// (nil for layers without weights); nil draws them from Seed. The
	// checkpoint's identity holds their digest.
	InitialWeights [][]float64 `json:"-"`
}

// DefaultConfig is PANTHER's defaults: the mlp preset on MNIST, the default
// unit (accumulate, the default plans of docs/numeric-model.md, 8-bit ADC, ideal cells, chunked OPA,
// round to nearest), CRS every batch, batch 64, lr 0.01 per example, one
// epoch, seed 1, and the FP32 reference at lr 0.05.
func DefaultConfig() Config {
	net, err := model.Preset("mlp")
	if err != nil {
		panic(err) // the preset is embedded and tested
	}
	return Config{
		Model: net, Dataset: "mnist", Unit: xbar.DefaultUnitConfig(),
		Epochs: 1, Batch: 64, LR: 0.01, CRSInterval: 1, Seed: 1,
		FP32: true, FP32LR: 0.05,
	}
}

// Validate checks every setting and names the one that is wrong.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Model == nil {
		bad("no model given")
	}
	if c.Epochs < 1 {
		bad("epochs = %d: want at least 1", c.Epochs)
	}
	if c.Batch < 1 {
		bad("batch = %d: want at least 1", c.Batch)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad("lr = %v: want a positive number (the step per example)", c.LR)
	}
	// Checked with or without the reference: the value is part of the
	// configuration's identity either way.
	if !(c.FP32LR > 0) || math.IsInf(c.FP32LR, 0) {
		bad("fp32 lr = %v: want a positive number", c.FP32LR)
	}
	if c.Bias > model.BiasCrossbar {
		bad("bias = %v: want auto or crossbar", c.Bias)
	}
	if c.CRSInterval < 1 {
		bad("crs interval = %d: want at least 1 (batches between CRSs)", c.CRSInterval)
	}
	if c.InitialWeights != nil && c.Model != nil {
		if err := checkInitialWeights(c.Model, c.InitialWeights); err != nil {
			bad("initial weights: %v", err)
		}
	}
	if c.Limit < 0 || c.TestLimit < 0 || c.CurveEvery < 0 {
		bad("limit = %d, test limit = %d, curve every = %d: want 0 (all) or more", c.Limit, c.TestLimit, c.CurveEvery)
	}
	for _, p := range []struct {
		name string
		plan xbar.Plan
	}{{"inplace plan", c.Unit.InplacePlan}, {"read plan", c.Unit.ReadPlan}, {"update plan", c.Unit.UpdatePlan}} {
		sc := xbar.SetConfig{Plan: p.plan, Size: c.Unit.Size, ADC: c.Unit.ADC, Device: c.Unit.Device, Rounding: c.Unit.Rounding, OPAMode: c.Unit.OPAMode}
		if err := sc.Validate(); err != nil {
			bad("%s: %v", p.name, err)
			break // the shared settings would repeat the same message
		}
	}
	return errors.Join(errs...)
}

// Hash identifies the configuration for checkpoints: a SHA-256 of its JSON
// form, with the model's source file names left out (moving a file does
// not change the run). The configuration must be valid (see Validate).
func (c Config) Hash() string {
	sum := sha256.Sum256(c.identity())
	return hex.EncodeToString(sum[:])
}

func (c Config) identity() []byte {
	if c.Model != nil {
		m := *c.Model
		m.Source = ""
		m.Layers = append([]model.Layer(nil), m.Layers...)
		for i := range m.Layers {
			m.Layers[i].Source = ""
		}
		c.Model = &m
	}
	id := struct {
		Config
		Initial string `json:"initial_weights,omitempty"`
	}{Config: c}
	if c.InitialWeights != nil {
		h := sha256.New()
		for _, m := range c.InitialWeights {
			binary.Write(h, binary.LittleEndian, m)
			h.Write([]byte{0}) // layer boundaries count
		}
		id.Initial = hex.EncodeToString(h.Sum(nil))
	}
	b, err := json.Marshal(id)
	if err != nil {
		panic(err) // plain data, and Validate refuses NaN and infinities: cannot fail
	}
	return b
}

// checkInitialWeights checks that ws fits net's layers and that every
// weight is a Q4.12 value the crossbars can hold.
func checkInitialWeights(net *model.Network, ws [][]float64) error {
	if len(ws) != len(net.Layers) {
		return fmt.Errorf("%d matrices for %d layers", len(ws), len(net.Layers))
	}
	for i, l := range net.Layers {
		if want := l.CellRows() * l.CellCols(); len(ws[i]) != want {
			return fmt.Errorf("layer %d (%s): %d weights; want %d", i+1, l.Kind, len(ws[i]), want)
		}
		for k, v := range ws[i] {
			if _, sat, err := fixed.Q4_12.FromFloat(v); err != nil || sat {
				return fmt.Errorf("layer %d (%s): weight %d is %v, outside Q4.12's range [-8, 8) that the crossbars hold", i+1, l.Kind, k, v)
			}
		}
	}
	return nil
}

// initialCodes is layer i's starting cell matrix in Q4.12 codes: the
// given initial weights (rounded to the nearest code), or
// model.InitialWeights drawn from the seed.
func (c Config) initialCodes(l model.Layer, i int) []int16 {
	w := model.InitialWeights(l, c.Seed, i)
	if c.InitialWeights != nil {
		w = c.InitialWeights[i]
	}
	m := make([]int16, len(w))
	for k, v := range w {
		m[k], _, _ = fixed.Q4_12.FromFloat(v) // checked by Validate; drawn weights are below 8
	}
	return m
}

// differences names the top-level settings in which two identities differ.
func differences(a, b []byte) []string {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return nil
	}
	var out []string
	for k, v := range ma {
		if !bytes.Equal(v, mb[k]) {
			out = append(out, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out = append(out, k) // a setting one form leaves out
		}
	}
	sort.Strings(out)
	return out
}

// ReadDeviceFile reads a device model from YAML (the keys of device.Config:
// kind, alpha, sigma, d2d, c2c, read_noise, stuck_low, stuck_high, table,
// read_noise_scale, sigma_update, fault_map, spare_rows, spare_cols,
// fault_record),
// strictly, and loads its table if it names one.
func ReadDeviceFile(path string) (device.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return device.Config{}, fmt.Errorf("device file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c device.Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return device.Config{}, fmt.Errorf("device file %s: %w (keys: kind, alpha, sigma, d2d, c2c, read_noise, stuck_low, stuck_high, table, %s)", path, err, strings.Join(DeviceSettingNames, ", "))
	}
	if err := c.Load(); err != nil {
		return device.Config{}, fmt.Errorf("device file %s: %w", path, err)
	}
	return c, nil
}

// UnitOptions are the crossbar settings in text form, as a command line
// gives them; Parse checks them all and names each one that is wrong with
// the values it allows.
type UnitOptions struct {
	Variant, InplacePlan, ReadPlan, UpdatePlan string
	ADC, Rounding, OPAMode                     string
	Tile                                       int
	// DeviceFile is a device YAML (see ReadDeviceFile); DeviceKind,
	// DeviceTable and DeviceParams (alpha, sigma, d2d, c2c, read_noise,
	// stuck_low, stuck_high) and DeviceSettings (DeviceSettingNames)
	// override it where given.
	DeviceFile, DeviceKind, DeviceTable string
	DeviceParams                        map[string]float64
	DeviceSettings                      map[string]string
}

// DeviceSettingNames are the device keys that are not numeric parameters:
// the readings of the noise formulas and fault-aware mapping.
var DeviceSettingNames = []string{"read_noise_scale", "sigma_update", "fault_map", "spare_rows", "spare_cols", "fault_record"}

// setDeviceSetting sets one of DeviceSettingNames from its text.
func setDeviceSetting(d *device.Config, name, value string) error {
	var err error
	switch name {
	case "read_noise_scale":
		d.ReadNoiseScale = value
	case "sigma_update":
		d.SigmaUpdate = value
	case "fault_map":
		d.FaultMap, err = strconv.ParseBool(value)
	case "spare_rows":
		d.SpareRows, err = strconv.Atoi(value)
	case "spare_cols":
		d.SpareCols, err = strconv.Atoi(value)
	case "fault_record":
		d.FaultRecord, err = strconv.Atoi(value)
	default:
		return fmt.Errorf("device setting %q: want one of %s", name, strings.Join(DeviceSettingNames, ", "))
	}
	if err != nil {
		return fmt.Errorf("device setting %s = %q: %w", name, value, err)
	}
	return nil
}

// DefaultUnitOptions is xbar.DefaultUnitConfig in text form.
func DefaultUnitOptions() UnitOptions {
	d := xbar.DefaultUnitConfig()
	return UnitOptions{Variant: d.Variant.String(), InplacePlan: d.InplacePlan.String(), ReadPlan: d.ReadPlan.String(),
		UpdatePlan: d.UpdatePlan.String(), ADC: d.ADC.String(), Rounding: d.Rounding.String(), OPAMode: d.OPAMode.String(), Tile: d.Size.Rows}
}

// Parse builds the unit configuration.
func (o UnitOptions) Parse() (xbar.UnitConfig, error) {
	c := xbar.DefaultUnitConfig()
	var errs []error
	check := func(option string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", option, err))
		}
	}
	var err error
	c.Variant, err = xbar.ParseVariant(o.Variant)
	check("variant", err)
	c.InplacePlan, err = xbar.ParsePlan(o.InplacePlan)
	check("inplace plan", err)
	c.ReadPlan, err = xbar.ParsePlan(o.ReadPlan)
	check("read plan", err)
	c.UpdatePlan, err = xbar.ParsePlan(o.UpdatePlan)
	check("update plan", err)
	c.ADC, err = xbar.ParseADC(o.ADC)
	check("adc", err)
	c.Rounding, err = fixed.ParseRounding(o.Rounding)
	check("rounding", err)
	c.OPAMode, err = xbar.ParseOPAMode(o.OPAMode)
	check("opa mode", err)
	c.Size = xbar.Size{Rows: o.Tile, Cols: o.Tile}
	check("tile", c.Size.Validate())
	if o.DeviceFile != "" {
		if c.Device, err = ReadDeviceFile(o.DeviceFile); err != nil {
			errs = append(errs, err)
		}
	}
	if o.DeviceKind != "" {
		c.Device.Kind = device.Kind(o.DeviceKind)
	}
	if o.DeviceTable != "" {
		c.Device.TablePath, c.Device.Table = o.DeviceTable, nil
	}
	params := map[string]*float64{"alpha": &c.Device.Alpha, "sigma": &c.Device.Sigma, "d2d": &c.Device.D2D, "c2c": &c.Device.C2C,
		"read_noise": &c.Device.ReadNoise, "stuck_low": &c.Device.StuckLow, "stuck_high": &c.Device.StuckHigh}
	for name, v := range o.DeviceParams {
		p, ok := params[name]
		if !ok {
			errs = append(errs, fmt.Errorf("device parameter %q: want one of alpha, sigma, d2d, c2c, read_noise, stuck_low, stuck_high", name))
			continue
		}
		*p = v
	}
	for _, name := range slices.Sorted(maps.Keys(o.DeviceSettings)) {
		if err := setDeviceSetting(&c.Device, name, o.DeviceSettings[name]); err != nil {
			errs = append(errs, err)
		}
	}
	if o.DeviceFile == "" || o.DeviceKind != "" || o.DeviceTable != "" || len(o.DeviceParams) > 0 || len(o.DeviceSettings) > 0 {
		check("device", c.Device.Load())
	}
	return c, errors.Join(errs...)
}
