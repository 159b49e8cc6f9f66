// Package trainkind is the "train" kind of sweep point: one run of the fast
// trainer (package train) per point. It owns the table of the trainer's
// configuration keys a sweep file may set, with their parsers, and turns a
// run's result into metrics. Importing it registers the kind.
package trainkind

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/sweep"
	"github.com/panther-xbar/panther/train"
	"github.com/panther-xbar/panther/xbar"
)

// Kind is the name sweep files give.
const Kind = "train"

func init() { sweep.Register(Kind, &Runner{}) }

// deviceParams are the device model's numeric parameters.
var deviceParams = []string{"alpha", "sigma", "d2d", "c2c", "read_noise", "stuck_low", "stuck_high"}

// Keys is the table of configuration keys: one row per setting of
// train.Config and its unit, defaults from train.DefaultConfig.
func Keys() []sweep.Key {
	c := train.DefaultConfig()
	u := train.DefaultUnitOptions()
	enum := func(parse func(string) (string, error)) func(string) (any, error) {
		return func(s string) (any, error) { return parse(s) }
	}
	ks := []sweep.Key{
		{Name: "model", Help: "network: a preset (" + strings.Join(model.Presets(), ", ") + "), a YAML file or an ONNX file (its structure; training starts from fresh weights)", Default: "mlp", Parse: parseModel},
		{Name: "dataset", Help: "dataset: " + data.Datasets, Default: c.Dataset, Parse: parseDataset},
		{Name: "variant", Help: "crossbar variant: inplace, accumulate or pipelined", Default: u.Variant,
			Parse: enum(func(s string) (string, error) { v, err := xbar.ParseVariant(s); return v.String(), err })},
		{Name: "inplace_plan", Help: "slice plan of the inplace variant's set", Default: u.InplacePlan, Parse: parsePlan},
		{Name: "read_plan", Help: "slice plan of the read sets", Default: u.ReadPlan, Parse: parsePlan},
		{Name: "update_plan", Help: "slice plan of the update set", Default: u.UpdatePlan, Parse: parsePlan},
		{Name: "adc", Help: "ADC: ideal, a bit count, or bits>>shift", Default: u.ADC,
			Parse: enum(func(s string) (string, error) { v, err := xbar.ParseADC(s); return v.String(), err })},
		{Name: "rounding", Help: "OPA rounding: nearest, truncate or stochastic", Default: u.Rounding,
			Parse: enum(func(s string) (string, error) { v, err := fixed.ParseRounding(s); return v.String(), err })},
		{Name: "opa_mode", Help: "OPA mode: chunked, bitstream or per_step", Default: u.OPAMode,
			Parse: enum(func(s string) (string, error) { v, err := xbar.ParseOPAMode(s); return v.String(), err })},
		{Name: "tile", Help: "crossbar rows and columns", Default: strconv.Itoa(u.Tile), Parse: ParseInt(1)},
		{Name: "bias", Help: "where biases lie: auto or crossbar (every bias a crossbar row)", Default: c.Bias.String(),
			Parse: enum(func(s string) (string, error) { v, err := model.ParseBiasPlacement(s); return v.String(), err })},
		{Name: "crs_interval", Help: "batches between carry resolutions", Default: strconv.Itoa(c.CRSInterval), Parse: ParseInt(1)},
		{Name: "batch", Help: "examples per batch", Default: strconv.Itoa(c.Batch), Parse: ParseInt(1)},
		{Name: "lr", Help: "crossbar learning rate per example", Default: fmt.Sprint(c.LR), Parse: parseFloat},
		{Name: "epochs", Help: "passes over the training set", Default: strconv.Itoa(c.Epochs), Parse: ParseInt(1)},
		{Name: "limit", Help: "train on the first N examples (0: all)", Default: "0", Parse: ParseInt(0)},
		{Name: "test_limit", Help: "test on the first N examples (0: all)", Default: "0", Parse: ParseInt(0)},
		{Name: "seed", Help: "seed of every random choice", Default: strconv.FormatUint(c.Seed, 10), Parse: parseSeed},
		{Name: "fp32", Help: "train the FP32 reference beside", Default: strconv.FormatBool(c.FP32), Parse: parseBool},
		{Name: "fp32_lr", Help: "FP32 reference learning rate", Default: fmt.Sprint(c.FP32LR), Parse: parseFloat},
		{Name: "device", Help: "device model: ideal, nonlinear or table", Default: "ideal", Parse: parseWord},
		{Name: "device_table", Help: "pulse-response CSV for device table", Default: "", Parse: func(s string) (any, error) { return s, nil }},
	}
	for _, p := range deviceParams {
		ks = append(ks, sweep.Key{Name: p, Help: "device parameter " + p, Default: "0", Parse: parseFloat})
	}
	ks = append(ks,
		sweep.Key{Name: "read_noise_scale", Help: "read noise per active cell in levels (level) or as a fraction of the cell's range (range)", Default: "level", Parse: parseWord},
		sweep.Key{Name: "sigma_update", Help: "nonlinear write noise's update: g/R or g (empty: g/R)", Default: "", Parse: func(s string) (any, error) { return s, nil }},
		sweep.Key{Name: "fault_map", Help: "fault-aware mapping of stuck cells", Default: "false", Parse: parseBool},
		sweep.Key{Name: "spare_rows", Help: "spare rows per crossbar (with fault_map)", Default: "0", Parse: ParseInt(0)},
		sweep.Key{Name: "spare_cols", Help: "spare columns per crossbar (with fault_map)", Default: "0", Parse: ParseInt(0)},
		sweep.Key{Name: "fault_record", Help: "entries of each crossbar set's fault record (with fault_map)", Default: "0", Parse: ParseInt(0)},
	)
	return ks
}

// parseModel checks that a model key names a network (onnx.Load): an ONNX
// file gives the structure, which the trainer trains from fresh weights.
func parseModel(s string) (any, error) {
	if _, err := onnx.Load(s); err != nil {
		return nil, err
	}
	return s, nil
}

// parseDataset checks the form of a dataset; its files are read when a
// point runs.
func parseDataset(s string) (any, error) {
	if _, err := data.ParseSpec(s); err != nil {
		return nil, err
	}
	return s, nil
}

func parsePlan(s string) (any, error) {
	p, err := xbar.ParsePlan(s)
	return p.String(), err
}

// ParseInt parses a whole-number key of at least least (as int64).
func ParseInt(least int64) func(string) (any, error) {
	return func(s string) (any, error) {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil || v < least {
			return nil, fmt.Errorf("%q: want a whole number of at least %d", s, least)
		}
		return v, nil
	}
}

func parseSeed(s string) (any, error) {
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return nil, fmt.Errorf("%q: want a whole number from 0 to 2^63-1", s)
	}
	return int64(v), nil
}

func parseFloat(s string) (any, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("%q: want a finite number", s)
	}
	return v, nil
}

func parseBool(s string) (any, error) {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return nil, fmt.Errorf("%q: want true or false", s)
	}
	return v, nil
}

func parseWord(s string) (any, error) {
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return nil, fmt.Errorf("%q: want one word", s)
	}
	return s, nil
}

// Runner runs train points; other kinds train through it (Train).
type Runner struct {
	mu   sync.Mutex
	sets map[string]*dataset
}

// dataset is a dataset read once per process and shared by its points.
type dataset struct {
	once        sync.Once
	train, test *data.Set
	err         error
}

func (r *Runner) Keys() []sweep.Key { return Keys() }

// Config builds the trainer's configuration of a point.
func Config(p sweep.Params) (train.Config, error) {
	c := train.DefaultConfig()
	str := func(k string) string { s, _ := p[k].(string); return s }
	num := func(k string) int { v, _ := p[k].(int64); return int(v) }
	flt := func(k string) float64 { v, _ := p[k].(float64); return v }
	m, err := onnx.Load(str("model"))
	if err != nil {
		return c, err
	}
	c.Model = m.Net
	o := train.UnitOptions{Variant: str("variant"), InplacePlan: str("inplace_plan"), ReadPlan: str("read_plan"), UpdatePlan: str("update_plan"),
		ADC: str("adc"), Rounding: str("rounding"), OPAMode: str("opa_mode"), Tile: num("tile"), DeviceKind: str("device"),
		DeviceTable: str("device_table"), DeviceParams: map[string]float64{}}
	for _, d := range deviceParams {
		o.DeviceParams[d] = flt(d)
	}
	o.DeviceSettings = map[string]string{}
	for _, d := range train.DeviceSettingNames {
		o.DeviceSettings[d] = fmt.Sprint(p[d])
	}
	if c.Unit, err = o.Parse(); err != nil {
		return c, err
	}
	if c.Bias, err = model.ParseBiasPlacement(str("bias")); err != nil {
		return c, err
	}
	c.Dataset, c.CRSInterval, c.Batch, c.LR, c.Epochs = str("dataset"), num("crs_interval"), num("batch"), flt("lr"), num("epochs")
	c.Limit, c.TestLimit, c.FP32LR = num("limit"), num("test_limit"), flt("fp32_lr")
	seed, _ := p["seed"].(int64)
	c.Seed = uint64(seed)
	c.FP32, _ = p["fp32"].(bool)
	return c, c.Validate()
}

func (r *Runner) Check(p sweep.Params) error {
	_, err := Config(p)
	return err
}

func (r *Runner) load(spec string) (*data.Set, *data.Set, error) {
	r.mu.Lock()
	if r.sets == nil {
		r.sets = map[string]*dataset{}
	}
	d := r.sets[spec]
	if d == nil {
		d = &dataset{}
		r.sets[spec] = d
	}
	r.mu.Unlock()
	d.once.Do(func() { d.train, d.test, d.err = data.Load(spec) })
	return d.train, d.test, d.err
}

// Run trains the point and returns Train's metrics.
func (r *Runner) Run(ctx context.Context, p sweep.Params) (sweep.Metrics, error) {
	m, _, err := r.Train(ctx, p)
	return m, err
}

// Train trains the point and returns the last epoch's accuracy and loss
// (train_*, test_*, and fp32_* for the reference) and the crossbar events
// of the whole run, with the trainer's result.
func (r *Runner) Train(ctx context.Context, p sweep.Params) (sweep.Metrics, *train.Result, error) {
	cfg, err := Config(p)
	if err != nil {
		return nil, nil, err
	}
	tr, te, err := r.load(cfg.Dataset)
	if err != nil {
		return nil, nil, err
	}
	res, err := train.Run(ctx, cfg, tr, te, train.Options{})
	if err != nil {
		return nil, nil, err
	}
	m := sweep.Metrics{"train_examples": float64(res.TrainExamples), "test_examples": float64(res.TestExamples)}
	var ev train.Events
	for _, e := range res.Epochs {
		prefix := ""
		if e.Trainer == train.FP32 {
			prefix = "fp32_"
		}
		if e.Epoch == cfg.Epochs {
			m[prefix+"test_accuracy"], m[prefix+"test_loss"] = e.TestAccuracy, float64(e.TestLoss)
			m[prefix+"train_accuracy"], m[prefix+"train_loss"] = e.TrainAccuracy, float64(e.TrainLoss)
		}
		if e.Events != nil {
			ev = ev.Combine(*e.Events, 1)
		}
	}
	m["opa_pulses"], m["slice_saturations"], m["vanished"] = float64(ev.OPAPulses), float64(ev.SliceSaturations()), float64(ev.Vanished)
	m["adc_clips"], m["output_sat"], m["q_sat"] = float64(ev.ADCClips), float64(ev.OutputSat), float64(ev.QSat)
	m["weight_sat"], m["vector_sat"], m["g_clips"] = float64(ev.WeightSat), float64(ev.VectorSat), float64(ev.GClips)
	m["sat_rate"] = ev.SatRate()
	return m, res, nil
}
