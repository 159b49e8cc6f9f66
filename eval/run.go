package eval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/sim"
	"github.com/panther-xbar/panther/xbar"
)

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
	// EpochExamples, if positive, is the training set of every workload's
	// epoch; 0 keeps each workload's own (Workload.DatasetExamples).
	EpochExamples int `json:"epoch_examples,omitempty"`
	// GPUMeasured are measured GPU steps (ReadGPUMeasurements); each that
	// matches a workload and batch adds a MeasuredDesign row.
	GPUMeasured []GPUMeasurement `json:"gpu_measured,omitempty"`
	// Progress, if set, is called when a point starts a stage and when it
	// is measured, from one goroutine at a time.
	Progress func(Progress) `json:"-"`
	// Jobs is how many points are measured at once (0: GOMAXPROCS). The
	// results do not depend on it.
	Jobs int `json:"-"`
	// MemoryBytes bounds the estimated memory of the points measured at
	// once (0: no bound): a point starts only while its estimate fits
	// beside those under way, or when none is under way.
	MemoryBytes int64 `json:"-"`
	// simulate replaces compile-and-simulate in tests.
	simulate stepFunc
}

// stepFunc compiles and simulates the training program of w for batches
// steps of batch examples on a, telling stage what it is doing.
type stepFunc func(ctx context.Context, w Workload, a *arch.Arch, batch, batches int, bias model.BiasPlacement, stage func(string)) (Measure, error)

// Progress is where Run stands. A point is one workload, batch size,
// design and varied value: one row of the comparison.
type Progress struct {
	// Done of Total points are measured.
	Done, Total int
	// Point names the point under way, or the one just measured.
	Point string
	// Stage is what the point is doing ("compiling", "simulating: cycle
	// N"), or "" when it has been measured; Line is then its result.
	Stage, Line string
}

// DefaultOptions is the quick run of `panther eval` with no flags: the
// paper's workloads (every workload but the MNIST mlp, which the
// demonstration of the main job uses).
func DefaultOptions() Options {
	return Options{
		Workloads: slices.DeleteFunc(WorkloadNames(), func(n string) bool { return n == "mlp" }),
		Batches:   []int{1, 4, 16, 64},
		Designs:   append(Designs(), GPUDesign),
		GPU:       "rtx2080ti",
		// The whole VGG-16 (estimated at 1.36 GiB) leaves room beside it
		// for the smallest points only: with larger ones the peak passed
		// 1.5 GB (docs/performance.md, "Memory, 2026-12-03").
		MemoryBytes: 7 << 30 / 5,
	}
}

// Validate checks the options and names what is wrong.
func (o Options) Validate() error {
	var errs []error
	if len(o.Workloads) == 0 {
		errs = append(errs, errors.New("no workloads given"))
	}
	named := map[string]string{} // workload name -> the argument that gave it
	for _, arg := range o.Workloads {
		w, err := LookupWorkload(arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first, dup := named[w.Name]; dup {
			errs = append(errs, fmt.Errorf("workloads %q and %q are both named %s: rename one model file", first, arg, w.Name))
		}
		named[w.Name] = arg
	}
	if o.Jobs < 0 {
		errs = append(errs, fmt.Errorf("%d jobs: want 0 (one per processor) or more", o.Jobs))
	}
	if o.MemoryBytes < 0 {
		errs = append(errs, fmt.Errorf("a memory bound of %d bytes: want 0 (none) or more", o.MemoryBytes))
	}
	if o.EpochExamples < 0 {
		errs = append(errs, fmt.Errorf("epoch of %d examples: want 0 (each workload's data set) or more", o.EpochExamples))
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
		} else {
			errs = append(errs, o.Vary.check(o.Designs)...)
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
	// ByOperation is the energy by the comparison's operations
	// (sim.Operations: MVM/MTVM, ADC, update, CRS, transfers, memory,
	// vector and control, leakage), shown beside panther's.
	ByOperation []sim.Share `json:"energy_by_operation,omitempty"`
	Source      string      `json:"source"` // "simulated" or the GPU model's card
	// AreaMM2 is the area of the tiles the program uses, their routers and
	// node links (simulated designs).
	AreaMM2 float64 `json:"area_mm2,omitempty"`
	// ADCCost says which resolution the ADC was charged at (designs with
	// analog MVM).
	ADCCost string `json:"adc_cost,omitempty"`
	// Wall is how long compiling and simulating took on this machine.
	WallSeconds float64 `json:"wall_seconds"`
	// EpochExamples is the training set one epoch goes through.
	EpochExamples int `json:"epoch_examples"`
}

// EpochSteps is the number of steps of an epoch: a last, partial batch
// counts as a whole step.
func (m Measure) EpochSteps() int { return (m.EpochExamples + m.Batch - 1) / max(m.Batch, 1) }

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
	// EpochSeconds and EpochJoules are an epoch's time and energy: its
	// steps run one after another, each as the measured step.
	EpochSeconds float64 `json:"epoch_seconds"`
	EpochJoules  float64 `json:"epoch_joules"`
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
		steps := float64(m.EpochSteps())
		r := Row{Measure: m, EDPPJNS: m.EDP(), EpochSeconds: steps * m.TimeNS / 1e9, EpochJoules: steps * m.EnergyPJ / 1e12}
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
	res := &Result{Options: o, Paper: PaperClaims(), Started: time.Now()}
	var g GPU
	if slices.Contains(o.Designs, GPUDesign) {
		g, _ = LookupGPU(o.GPU)
		res.GPU = &g
	}
	if len(o.GPUMeasured) > 0 {
		res.Paper = append(res.Paper, measuredClaims()...)
	}
	pts, skipped, err := o.points(g)
	if err != nil {
		return nil, err
	}
	outcomes, err := o.measureAll(ctx, pts)
	if err != nil {
		return nil, err
	}
	var ms []Measure
	for _, oc := range outcomes {
		if oc.skip != "" {
			skipped = append(skipped, oc.skip)
		} else {
			ms = append(ms, oc.m)
		}
	}
	for _, mg := range o.GPUMeasured {
		if !slices.ContainsFunc(ms, func(m Measure) bool {
			return m.Design == MeasuredDesign && m.Workload == mg.Workload && m.Batch == mg.Batch
		}) {
			skipped = append(skipped, fmt.Sprintf("the measured GPU step of %s at batch %d matches no workload and batch of this run; not shown", mg.Workload, mg.Batch))
		}
	}
	res.Rows = Compare(ms)
	res.Notes = append(append(notes(o), adcNotes(ms)...), skipped...)
	return res, nil
}

// point is one measurement to make; given holds it where it needs no
// simulation (the GPU model, a measured GPU step).
type point struct {
	w        Workload
	b, epoch int
	v, d     string
	given    *Measure
}

// name is how progress names the point.
func (pt point) name(o Options) string {
	name := fmt.Sprintf("%s batch %d %s", pt.w.Name, pt.b, pt.d)
	if pt.v != "" {
		name += " " + o.Vary.Key + "=" + pt.v
	}
	return name
}

// points lists the measurements of o in order, and notes the workloads
// and batches not measured.
func (o Options) points(g GPU) ([]point, []string, error) {
	values := []string{""}
	if o.Vary.Key != "" {
		values = o.Vary.Values
	}
	var pts []point
	var skipped []string
	for _, wn := range o.Workloads {
		w, err := LookupWorkload(wn)
		if err != nil {
			return nil, nil, err
		}
		epoch := w.DatasetExamples
		if o.EpochExamples > 0 {
			epoch = o.EpochExamples
		}
		for _, b := range o.Batches {
			if w.MaxBatch > 0 && b > w.MaxBatch {
				skipped = append(skipped, fmt.Sprintf("%s at batch %d: one program holds at most %d example(s); not measured", w.Name, b, w.MaxBatch))
				continue
			}
			// The GPU rows do not depend on the varied setting.
			same := map[string]*Measure{}
			if slices.Contains(o.Designs, GPUDesign) {
				var ks []Kernel
				for _, l := range w.Layers {
					ks = append(ks, TrainingKernels(l, b)...)
				}
				st := g.Step(ks)
				same[GPUDesign] = &Measure{TimeNS: st.Seconds * 1e9, EnergyPJ: st.Joules * 1e12, Source: "model: " + g.Name}
			}
			designs := o.Designs
			if mg, ok := lookupMeasured(o.GPUMeasured, w.Name, b); ok {
				same[MeasuredDesign] = &Measure{TimeNS: mg.StepSeconds * 1e9, EnergyPJ: mg.StepJoules * 1e12, Source: mg.source()}
				designs = append(slices.Clone(designs), MeasuredDesign)
			}
			for _, v := range values {
				for _, d := range designs {
					pts = append(pts, point{w: w, b: b, epoch: epoch, v: v, d: d, given: same[d]})
				}
			}
		}
	}
	return pts, skipped, nil
}

// design is the architecture point pt simulates: its design's preset,
// fitted to the workload, with the varied setting applied.
func (o Options) design(pt point) (*arch.Arch, error) {
	a, err := arch.Preset(pt.d)
	if err != nil {
		return nil, err
	}
	if pt.w.fit != nil {
		pt.w.fit(a)
	}
	if pt.v != "" {
		if err := o.Vary.apply(a, pt.v); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// simulated measures pt on a (its design) with step. A program that does
// not fit the design (a compiler.CapacityError), or a CRS interval whose
// batches do not fit one program, is not an error: skip says why it was
// not measured. stage hears what it is doing.
func (o Options) simulated(ctx context.Context, step stepFunc, pt point, a *arch.Arch, stage func(string)) (m Measure, skip string, err error) {
	w, b, v := pt.w, pt.b, pt.v
	batches := o.Vary.batchesPerCRS(v)
	if w.MaxBatch > 0 && b*batches > w.MaxBatch {
		return Measure{}, fmt.Sprintf("%s at batch %d, %s=%s: one program holds at most %d example(s); not measured", w.Name, b, o.Vary.Key, v, w.MaxBatch), nil
	}
	m, err = measureStep(ctx, step, w, a, b, batches, o.Vary.bias(v), stage)
	var ce *compiler.CapacityError
	// Several batches in one program may not fit where one does.
	if err != nil && (batches > 1 || errors.As(err, &ce)) && ctx.Err() == nil {
		at := pt.d
		if v != "" {
			at += ", " + o.Vary.Key + "=" + v
		}
		return Measure{}, fmt.Sprintf("%s at batch %d on %s: not measured: %v", w.Name, b, at, err), nil
	}
	if err != nil {
		return Measure{}, "", fmt.Errorf("%s, batch %d, %s: %w", w.Name, b, pt.d, err)
	}
	return m, "", nil
}

// MeasureStep compiles and simulates one training step of m on a, as Run
// measures its simulated designs: batch examples per step, crsInterval
// steps in one program with one CRS after the last (where a has a CRS),
// and the step is their mean. It fills the time, energy, energy by class
// and operation, ADC cost and wall time; workload, design and epoch are
// the caller's. bias places the layers' biases as the trainer does.
func MeasureStep(ctx context.Context, m compiler.Model, a *arch.Arch, batch, crsInterval int, bias model.BiasPlacement) (Measure, error) {
	return measureStep(ctx, simulate, Workload{model: m}, a, batch, crsInterval, bias, func(string) {})
}

func measureStep(ctx context.Context, step stepFunc, w Workload, a *arch.Arch, batch, batches int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
	start := time.Now()
	m, err := step(ctx, w, a, batch, batches, bias, stage)
	if err != nil {
		return Measure{}, err
	}
	m = m.perStep(batches)
	m.WallSeconds = time.Since(start).Seconds()
	m.Source = "simulated"
	if a.Ops.MVM.Mechanism == arch.MVMAnalog {
		m.ADCCost = a.ADCCostNote()
	}
	return m, nil
}

func wallNote(s float64) string {
	if s == 0 {
		return ""
	}
	return fmt.Sprintf("  (%.1f s)", s)
}

// perStep divides a measure of several steps into one step's share.
func (m Measure) perStep(steps int) Measure {
	if steps <= 1 {
		return m
	}
	k := float64(steps)
	m.TimeNS /= k
	m.EnergyPJ /= k
	for _, list := range []*[]sim.Share{&m.ByClass, &m.ByOperation} {
		*list = slices.Clone(*list)
		for i := range *list {
			(*list)[i].PJ /= k
		}
	}
	return m
}

// simulate compiles w's training program for batches steps of batch
// examples, with one CRS after the last (the CRS interval) and the biases
// placed by bias, on a (with a's own variant and instruction set) and
// simulates it, telling stage which it is doing.
func simulate(ctx context.Context, w Workload, a *arch.Arch, batch, batches int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
	return new(sharedProgram).simulate(ctx, w, a, batch, batches, bias, stage)
}

// trainConfig is the compiler's training configuration of a point on a.
func trainConfig(a *arch.Arch, batch, batches int, bias model.BiasPlacement) compiler.Config {
	cfg := compiler.DefaultConfig()
	cfg.Variant, cfg.NoCRS = a.Crossbar.Variant, !a.HasCRS()
	cfg.Batch, cfg.Examples, cfg.CRSInterval, cfg.Bias = batch, batch*batches, batches, bias
	return cfg
}

// programKey is what a training program is compiled from: points with
// equal keys simulate the same program, whatever else their designs set
// (the operations' costs, the crossbars' plans and ADC). The compiler
// builds one program for the accumulate and pipelined variants, which
// differ in the crossbars alone (TestVariantsCompileAlike), and another
// for inplace.
type programKey struct {
	workload string // names one model within a run (Options.Validate)
	isa      isa.Arch
	inplace  bool
	crs      bool
	batch    int
	examples int
	interval int
	bias     model.BiasPlacement
}

func keyOf(w Workload, a *arch.Arch, cfg compiler.Config) programKey {
	return programKey{workload: w.Name, isa: a.ISA(), inplace: cfg.Variant == xbar.Inplace, crs: !cfg.NoCRS,
		batch: cfg.Batch, examples: cfg.Examples, interval: cfg.CRSInterval, bias: cfg.Bias}
}

// sharedProgram simulates the last program it compiled again while the
// points asked for have its key, compiling only when the key changes.
// The simulator only reads a program.
type sharedProgram struct {
	key  programKey
	prog *program.Program
	err  error // the compiler's, for every point of the key
}

func (sp *sharedProgram) simulate(ctx context.Context, w Workload, a *arch.Arch, batch, batches int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
	cfg := trainConfig(a, batch, batches, bias)
	if k := keyOf(w, a, cfg); sp.prog == nil && sp.err == nil || k != sp.key {
		stage("compiling")
		sp.key, sp.prog = k, nil
		var res *compiler.Result
		if res, sp.err = compiler.Compile(w.model, a.ISA(), compiler.Options{Train: cfg}); sp.err == nil {
			sp.prog = res.Program // the rest of the result (notes, maps) can go
		}
	}
	if sp.err != nil {
		return Measure{}, sp.err
	}
	stage("simulating")
	last := time.Now()
	progress := func(cycle, _ int64) {
		// The simulator calls often; a person needs a line a second.
		if now := time.Now(); now.Sub(last) >= time.Second {
			last = now
			stage(fmt.Sprintf("simulating: cycle %d", cycle))
		}
	}
	s, err := sim.New(a, sp.prog, sim.Options{Seed: cfg.Seed, Progress: progress})
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
	return Measure{TimeNS: rep.TimeNS, EnergyPJ: rep.EnergyPJ, ByClass: rep.ByClass, ByOperation: rep.ByOperation, AreaMM2: rep.Area.UsedMM2}, nil
}

// adcNotes says, once per distinct cost, which ADC cost the measurements
// used and on which designs.
func adcNotes(ms []Measure) []string {
	var costs []string
	designs := map[string][]string{}
	for _, m := range ms {
		if m.ADCCost == "" {
			continue
		}
		if _, seen := designs[m.ADCCost]; !seen {
			costs = append(costs, m.ADCCost)
		}
		if !slices.Contains(designs[m.ADCCost], m.Design) {
			designs[m.ADCCost] = append(designs[m.ADCCost], m.Design)
		}
	}
	var n []string
	for _, c := range costs {
		n = append(n, fmt.Sprintf("%s: %s.", strings.Join(designs[c], ", "), c))
	}
	return n
}

func notes(o Options) []string {
	n := []string{
		"One training step = one batch: the compiler's training program with batch = examples = B (lr 0.01, a CRS after the batch where the design has one, synthetic inputs, seed 1), simulated to the end.",
		"cmos-op, serial and digital have one weight set per matrix unit, updated at once after every example (read, add, write back) and never resolved by a CRS; panther-* update in the crossbar and resolve carries after the batch.",
		"Ratios are baseline / panther (the accumulate-variant preset): how many times higher the baseline's time, energy or EDP is; 1 for panther itself.",
		"Energy and time constants are those of the architecture presets (docs/constants.md gives each with its source); the GPU row is the analytic model of eval/gpu.go, not a measurement.",
		"VGG-16 layers A-G are their unrolled matrices compiled as dense layers followed by a 10-way classifier (F is the classifier itself).",
		"The whole VGG-16 (32x32 inputs) runs at batch 1 only, every design on the structure of compiler/testdata/vgg-arch.yaml (2 nodes, 16K tile and 1K core instruction memories) with its own operation constants.",
		"An epoch is ceil(examples / B) steps run one after another, each as the simulated step (no overlap between steps); the MLPs' epoch is MNIST's 60,000 training examples, VGG-16's CIFAR's 50,000, unless --epoch-examples says otherwise.",
	}
	if len(o.GPUMeasured) > 0 {
		n = append(n, "gpu-measured rows are measured figures read from a CSV, as its card, date and method columns describe them; workloads and batches without a measurement have no such row.")
	}
	switch o.Vary.Key {
	case "":
	case "crs_interval":
		n = append(n, fmt.Sprintf("Sensitivity: CRS interval %s: each simulation runs that many batches with one CRS after the last, and the step figures are their mean.", strings.Join(o.Vary.Values, ", ")))
	default:
		n = append(n, fmt.Sprintf("Sensitivity: %s takes the values %s in every simulated design, overriding the presets.", o.Vary.Key, strings.Join(o.Vary.Values, ", ")))
	}
	return n
}

// splitOn splits s at sep, trimming entries and dropping empty ones.
func splitOn(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
