package eval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/sim"
)

// Workload is one network of SPEC section 6 with the matrix layers the GPU
// model counts.
type Workload struct {
	Name   string        `json:"name"`
	Shape  string        `json:"shape"`
	Layers []MatrixLayer `json:"layers"`
	// MaxBatch, where set, is the largest batch one program can hold.
	MaxBatch int `json:"max_batch,omitempty"`
	net      func() (*model.Network, error)
	// fit adapts a design's architecture to the workload.
	fit func(a *arch.Arch)
}

// vgg16Workload is the whole VGG-16 at 32 x 32 inputs (the model preset
// vgg16). It compiles only on the larger structure
// of compiler/testdata/vgg-arch.yaml (two nodes, 16K-instruction tile and
// 1K-instruction core memories), one example per program; every design
// gets that structure, its own operation constants unchanged.
func vgg16Workload() Workload {
	w := Workload{Name: "vgg16", Shape: "VGG-16, 32x32x3 input", MaxBatch: 1,
		net: func() (*model.Network, error) { return model.Preset("vgg16") },
		fit: func(a *arch.Arch) {
			a.Structure.Nodes, a.Structure.TileInstMem, a.Structure.CoreInstMem = 2, 16384, 1024
		},
	}
	// 3x3 convolutions with padding 1 (In = 9 x input channels) over the
	// pixels of their block, then the dense layers.
	convs := []struct{ in, out, side int }{
		{3, 64, 32}, {64, 64, 32}, {64, 128, 16}, {128, 128, 16},
		{128, 256, 8}, {256, 256, 8}, {256, 256, 8},
		{256, 512, 4}, {512, 512, 4}, {512, 512, 4},
		{512, 512, 2}, {512, 512, 2}, {512, 512, 2},
	}
	for i, c := range convs {
		w.Layers = append(w.Layers, MatrixLayer{Name: fmt.Sprintf("conv%d", i+1), In: 9 * c.in, Out: c.out, Positions: c.side * c.side, First: i == 0})
	}
	for i, d := range [][2]int{{512, 4096}, {4096, 4096}, {4096, 10}} {
		w.Layers = append(w.Layers, MatrixLayer{Name: fmt.Sprintf("fc%d", i+1), In: d[0], Out: d[1], Positions: 1})
	}
	return w
}

// vggLayers are the VGG-16 conv layers of SPEC section 6 as unrolled
// matrices (rows x columns).
var vggLayers = []struct {
	name      string
	rows, out int
}{
	{"A", 4608, 512}, {"B", 2304, 256}, {"C", 2304, 512}, {"D", 512, 4096},
	{"E", 4096, 512}, {"F", 4096, 10}, {"G", 1152, 256},
}

// Workloads lists every workload by name, in the report's order.
func Workloads() []Workload {
	ws := []Workload{
		presetWorkload("mlp", "mlp", []int{784, 256, 128, 10}),
		presetWorkload("mlp-l4", "mlp-l4", []int{1024, 256, 512, 512, 10}),
		presetWorkload("mlp-big", "mlp-big", []int{1024, 512, 1024, 768, 10}),
	}
	for _, l := range vggLayers {
		ws = append(ws, vggLayerWorkload(l.name, l.rows, l.out))
	}
	return append(ws, vgg16Workload())
}

// WorkloadNames lists the workload names in order.
func WorkloadNames() []string {
	var names []string
	for _, w := range Workloads() {
		names = append(names, w.Name)
	}
	return names
}

func presetWorkload(name, preset string, sizes []int) Workload {
	w := Workload{Name: name, net: func() (*model.Network, error) { return model.Preset(preset) }}
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = strconv.Itoa(s)
	}
	w.Shape = "MLP " + strings.Join(parts, "-")
	for i := 0; i+1 < len(sizes); i++ {
		w.Layers = append(w.Layers, MatrixLayer{Name: fmt.Sprintf("fc%d", i+1), In: sizes[i], Out: sizes[i+1], Positions: 1, First: i == 0})
	}
	return w
}

// vggLayerWorkload is a VGG-16 conv layer as its unrolled matrix: a dense
// layer of rows x out, followed by a 10-way classifier for the loss (layer
// F is that classifier itself), as compiler/workloads_test.go compiles it.
func vggLayerWorkload(name string, rows, out int) Workload {
	src := fmt.Sprintf("name: vgg-%s\ninput: [%d]\nlayers:\n  - dense: {out: %d}\n", name, rows, out)
	layers := []MatrixLayer{{Name: "unrolled", In: rows, Out: out, Positions: 1, First: true}}
	if out != 10 {
		src += "  - relu\n  - dense: {out: 10}\n"
		layers = append(layers, MatrixLayer{Name: "classifier", In: out, Out: 10, Positions: 1})
	}
	src += "loss: softmax_cross_entropy\n"
	return Workload{
		Name: "vgg-" + strings.ToLower(name), Shape: fmt.Sprintf("VGG-16 layer %s %dx%d", name, rows, out), Layers: layers,
		net: func() (*model.Network, error) { return model.ReadYAML("vgg-"+name+".yaml", []byte(src)) },
	}
}

// Reference is the design the ratios divide by.
const Reference = "panther"

// GPUDesign names the GPU model's row.
const GPUDesign = "gpu"

// Designs lists the simulated designs (architecture presets) in the
// report's order; the GPU comes after them.
func Designs() []string {
	return []string{"panther", "panther-inplace", "panther-pipelined", "cmos-op", "serial", "digital"}
}

// Options select what Run measures.
type Options struct {
	Workloads []string `json:"workloads"`
	Batches   []int    `json:"batches"`
	// Designs are architecture presets; GPUDesign adds the GPU model.
	Designs []string `json:"designs"`
	GPU     string   `json:"gpu"`
	// Vary overrides one architecture setting (see VaryKeys) with each
	// value in turn; the zero Vary keeps the presets.
	Vary Vary `json:"vary"`
	// Progress, if set, receives one line per measurement.
	Progress func(string) `json:"-"`
	// simulate replaces compile-and-simulate in tests.
	simulate func(ctx context.Context, w Workload, a *arch.Arch, batch int) (Measure, error)
}

// DefaultOptions is the quick run of `panther eval` with no flags: the
// paper's workloads (every workload but the MNIST mlp, which the
// demonstration of the main job uses).
func DefaultOptions() Options {
	return Options{
		Workloads: slices.DeleteFunc(WorkloadNames(), func(n string) bool { return n == "mlp" }),
		Batches:   []int{1, 16},
		Designs:   append(Designs(), GPUDesign),
		GPU:       "rtx2080ti",
	}
}

// Validate checks the options and names what is wrong.
func (o Options) Validate() error {
	var errs []error
	if len(o.Workloads) == 0 {
		errs = append(errs, errors.New("no workloads given"))
	}
	for _, w := range o.Workloads {
		if !slices.Contains(WorkloadNames(), w) {
			errs = append(errs, fmt.Errorf("workload %q: want one of %s", w, strings.Join(WorkloadNames(), ", ")))
		}
	}
	if len(o.Batches) == 0 {
		errs = append(errs, errors.New("no batch sizes given"))
	}
	for _, b := range o.Batches {
		if b < 1 || b > compiler.MaxExamples {
			errs = append(errs, fmt.Errorf("batch size %d: want 1 to %d", b, compiler.MaxExamples))
		}
	}
	if !slices.Contains(o.Designs, Reference) {
		errs = append(errs, fmt.Errorf("designs must include %s, the reference of the ratios", Reference))
	}
	for _, d := range o.Designs {
		if d != GPUDesign && !slices.Contains(arch.Presets(), d) {
			errs = append(errs, fmt.Errorf("design %q: want %s or an architecture preset (%s)", d, GPUDesign, strings.Join(arch.Presets(), ", ")))
		}
	}
	if slices.Contains(o.Designs, GPUDesign) {
		if _, err := LookupGPU(o.GPU); err != nil {
			errs = append(errs, err)
		}
	}
	if o.Vary.Key != "" {
		if err := o.Vary.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Measure is one design's training step on one workload and batch.
type Measure struct {
	Workload string `json:"workload"`
	Batch    int    `json:"batch"`
	Design   string `json:"design"`
	// Variant is the --vary value applied ("" without --vary).
	Variant  string  `json:"vary,omitempty"`
	TimeNS   float64 `json:"time_ns"`
	EnergyPJ float64 `json:"energy_pj"`
	// ByClass is the energy by operation class (simulated designs).
	ByClass []sim.Share `json:"energy_by_class,omitempty"`
	Source  string      `json:"source"` // "simulated" or the GPU model's card
	// Wall is how long compiling and simulating took on this machine.
	WallSeconds float64 `json:"wall_seconds"`
}

// EDP is the energy-delay product in pJ x ns.
func (m Measure) EDP() float64 { return m.EnergyPJ * m.TimeNS }

// Row is a measurement with its ratios to the reference: how many times
// the baseline's time, energy and EDP exceed PANTHER's (1 for PANTHER; 0
// where the reference is missing).
type Row struct {
	Measure
	EDPPJNS     float64 `json:"edp_pj_ns"`
	TimeRatio   float64 `json:"time_ratio"`
	EnergyRatio float64 `json:"energy_ratio"`
	EDPRatio    float64 `json:"edp_ratio"`
}

// Result is everything a run measured.
type Result struct {
	Options Options   `json:"options"`
	GPU     *GPU      `json:"gpu,omitempty"`
	Rows    []Row     `json:"rows"`
	Paper   []Claim   `json:"paper"`
	Notes   []string  `json:"notes"`
	Started time.Time `json:"-"`
}

// Compare turns measurements into rows with ratios baseline / reference,
// pairing each with the reference of the same workload, batch and vary
// value. The order of the measurements is kept.
func Compare(ms []Measure) []Row {
	type key struct {
		w, v string
		b    int
	}
	ref := map[key]Measure{}
	for _, m := range ms {
		if m.Design == Reference {
			ref[key{m.Workload, m.Variant, m.Batch}] = m
		}
	}
	rows := make([]Row, len(ms))
	for i, m := range ms {
		r := Row{Measure: m, EDPPJNS: m.EDP()}
		if p, ok := ref[key{m.Workload, m.Variant, m.Batch}]; ok {
			r.TimeRatio = ratio(m.TimeNS, p.TimeNS)
			r.EnergyRatio = ratio(m.EnergyPJ, p.EnergyPJ)
			r.EDPRatio = ratio(m.EDP(), p.EDP())
		}
		rows[i] = r
	}
	return rows
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// Run measures every workload, batch size and design of o.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.simulate == nil {
		o.simulate = simulate
	}
	res := &Result{Options: o, Paper: PaperClaims(), Started: time.Now()}
	var g GPU
	if slices.Contains(o.Designs, GPUDesign) {
		g, _ = LookupGPU(o.GPU)
		res.GPU = &g
	}
	values := []string{""}
	if o.Vary.Key != "" {
		values = o.Vary.Values
	}
	all := map[string]Workload{}
	for _, w := range Workloads() {
		all[w.Name] = w
	}
	var ms []Measure
	var skipped []string
	for _, wn := range o.Workloads {
		w := all[wn]
		for _, b := range o.Batches {
			if w.MaxBatch > 0 && b > w.MaxBatch {
				skipped = append(skipped, fmt.Sprintf("%s at batch %d: one program holds at most %d example(s); not measured", w.Name, b, w.MaxBatch))
				continue
			}
			for _, v := range values {
				for _, d := range o.Designs {
					if err := ctx.Err(); err != nil {
						return nil, err
					}
					var m Measure
					if d == GPUDesign {
						var ks []Kernel
						for _, l := range w.Layers {
							ks = append(ks, TrainingKernels(l, b)...)
						}
						st := g.Step(ks)
						m = Measure{TimeNS: st.Seconds * 1e9, EnergyPJ: st.Joules * 1e12, Source: "model: " + g.Name}
					} else {
						a, err := arch.Preset(d)
						if err != nil {
							return nil, err
						}
						if w.fit != nil {
							w.fit(a)
						}
						if v != "" {
							if err := o.Vary.apply(a, v); err != nil {
								return nil, err
							}
						}
						start := time.Now()
						m, err = o.simulate(ctx, w, a, b)
						if err != nil {
							return nil, fmt.Errorf("%s, batch %d, %s: %w", w.Name, b, d, err)
						}
						m.WallSeconds = time.Since(start).Seconds()
						m.Source = "simulated"
					}
					m.Workload, m.Batch, m.Design, m.Variant = w.Name, b, d, v
					if v != "" {
						m.Variant = o.Vary.Key + "=" + v
					}
					ms = append(ms, m)
					if o.Progress != nil {
						o.Progress(fmt.Sprintf("%-8s batch %-3d %-18s %s  %s/step  %s/step%s", w.Name, b, d, m.Variant,
							FormatTime(m.TimeNS), FormatEnergy(m.EnergyPJ), wallNote(m.WallSeconds)))
					}
				}
			}
		}
	}
	res.Rows = Compare(ms)
	res.Notes = append(notes(o), skipped...)
	return res, nil
}

func wallNote(s float64) string {
	if s == 0 {
		return ""
	}
	return fmt.Sprintf("  (%.1f s)", s)
}

// simulate compiles w's training program for one step of batch examples on
// a (with a's own variant and instruction set) and simulates it.
func simulate(ctx context.Context, w Workload, a *arch.Arch, batch int) (Measure, error) {
	net, err := w.net()
	if err != nil {
		return Measure{}, err
	}
	cfg := compiler.DefaultConfig()
	cfg.Variant = a.Crossbar.Variant
	cfg.Batch, cfg.Examples = batch, batch
	res, err := compiler.Compile(compiler.Model{Net: net}, a.ISA(), compiler.Options{Train: cfg})
	if err != nil {
		return Measure{}, err
	}
	s, err := sim.New(a, res.Program, sim.Options{Seed: cfg.Seed})
	if err != nil {
		return Measure{}, err
	}
	rep, err := s.Run(ctx)
	if err != nil {
		return Measure{}, err
	}
	if rep.Partial {
		return Measure{}, fmt.Errorf("simulation stopped: %s", rep.Stopped)
	}
	return Measure{TimeNS: rep.TimeNS, EnergyPJ: rep.EnergyPJ, ByClass: rep.ByClass}, nil
}

func notes(o Options) []string {
	n := []string{
		"One training step = one batch: the compiler's training program with batch = examples = B (lr 0.01, a CRS after the batch where the variant needs one, synthetic inputs, seed 1), simulated to the end.",
		"Ratios are baseline / panther (the accumulate-variant preset): how many times higher the baseline's time, energy or EDP is; 1 for panther itself.",
		"Energy and time constants are those of the architecture presets (SPEC section 4); the GPU row is the analytic model of eval/gpu.go, not a measurement.",
		"VGG-16 layers A-G are their unrolled matrices compiled as dense layers followed by a 10-way classifier (F is the classifier itself).",
		"The whole VGG-16 (32x32 inputs) runs at batch 1 only, every design on the structure of compiler/testdata/vgg-arch.yaml (2 nodes, 16K tile and 1K core instruction memories) with its own operation constants.",
	}
	if o.Vary.Key != "" {
		n = append(n, fmt.Sprintf("Sensitivity: %s takes the values %s in every simulated design, overriding the presets.", o.Vary.Key, strings.Join(o.Vary.Values, ", ")))
	}
	return n
}

// ParseBatches reads a comma-separated list of batch sizes.
func ParseBatches(s string) ([]int, error) {
	var bs []int
	for _, f := range splitList(s) {
		b, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("batch size %q is not an integer", f)
		}
		bs = append(bs, b)
	}
	return bs, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// SplitList reads a comma-separated list of names.
func SplitList(s string) []string { return splitList(s) }
