package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/train"
	"github.com/panther-xbar/panther/xbar"
)

// unitFlags binds the crossbar settings shared by train and study.
type unitFlags struct {
	o   train.UnitOptions
	dev map[string]*float64
}

// deviceSettings are the device flags that UnitOptions takes as text (the
// flag's own text: pflag writes bools and ints as strconv does).
var deviceSettings = []string{"read_noise_scale", "sigma_update", "fault_map", "spare_rows", "spare_cols", "fault_record"}

func (u *unitFlags) register(f *pflag.FlagSet, adcDefault string) {
	u.o = train.DefaultUnitOptions()
	f.StringVar(&u.o.Variant, "variant", u.o.Variant, "crossbar variant: inplace, accumulate or pipelined")
	f.StringVar(&u.o.InplacePlan, "inplace-plan", u.o.InplacePlan, "slice plan of the inplace variant's set (NOMINAL[/CELLS][/fN])")
	f.StringVar(&u.o.ReadPlan, "read-plan", u.o.ReadPlan, "slice plan of the read sets (accumulate, pipelined)")
	f.StringVar(&u.o.UpdatePlan, "update-plan", u.o.UpdatePlan, "slice plan of the update set (accumulate, pipelined)")
	f.StringVar(&u.o.ADC, "adc", adcDefault, "ADC: ideal, a bit count such as 8, or bits>>shift")
	f.StringVar(&u.o.Rounding, "rounding", u.o.Rounding, "OPA rounding: nearest, truncate or stochastic")
	f.StringVar(&u.o.OPAMode, "opa-mode", u.o.OPAMode, "OPA mode: chunked, bitstream or per_step")
	f.IntVar(&u.o.Tile, "tile", u.o.Tile, "crossbar rows and columns (32..512)")
	f.StringVar(&u.o.DeviceFile, "device", "", "device model YAML file (keys kind, alpha, sigma, d2d, c2c, read_noise, stuck_low, stuck_high, table, read_noise_scale, sigma_update, fault_map, spare_rows, spare_cols, fault_record)")
	f.StringVar(&u.o.DeviceKind, "device-kind", "", "device model: ideal, nonlinear or table (overrides --device)")
	f.StringVar(&u.o.DeviceTable, "device-table", "", "pulse-response CSV for --device-kind table")
	u.dev = map[string]*float64{}
	for _, p := range []struct{ name, help string }{
		{"alpha", "nonlinear write: nonlinearity"}, {"sigma", "nonlinear write noise"},
		{"d2d", "device-to-device step variation (lognormal sigma)"}, {"c2c", "cycle-to-cycle write noise"},
		{"read_noise", "read noise per active cell, in levels"}, {"stuck_low", "fraction of cells stuck at level 0"},
		{"stuck_high", "fraction of cells stuck at the top level"},
	} {
		u.dev[p.name] = f.Float64(strings.ReplaceAll(p.name, "_", "-"), 0, p.help+" (overrides --device)")
	}
	f.String("read-noise-scale", "level", "what read noise is a fraction of: level (one level per active cell) or range (the cell's range per active cell) (overrides --device)")
	f.String("sigma-update", "g/R", "the nonlinear write noise's update: g/R (std sigma*sqrt(|g|) levels) or g (sigma*sqrt(R*|g|) levels) (overrides --device)")
	f.Bool("fault-map", false, "fault-aware mapping: test-read the stuck cells, use spare lines, store the nearest allowed weights (overrides --device)")
	f.Int("spare-rows", 0, "spare rows per crossbar for --fault-map (overrides --device)")
	f.Int("spare-cols", 0, "spare columns per crossbar for --fault-map (overrides --device)")
	f.Int("fault-record", 0, "entries of each crossbar set's digital fault record for --fault-map (overrides --device)")
}

// config parses the flags; only device parameters given on the command line
// override the device file.
func (u *unitFlags) config(f *pflag.FlagSet) (xbar.UnitConfig, error) {
	u.o.DeviceParams = map[string]float64{}
	for name, v := range u.dev {
		if f.Changed(strings.ReplaceAll(name, "_", "-")) {
			u.o.DeviceParams[name] = *v
		}
	}
	u.o.DeviceSettings = map[string]string{}
	for _, name := range deviceSettings {
		if flag := strings.ReplaceAll(name, "_", "-"); f.Changed(flag) {
			u.o.DeviceSettings[name] = f.Lookup(flag).Value.String()
		}
	}
	return u.o.Parse()
}

func init() {
	cfg := train.DefaultConfig()
	var (
		uf                         unitFlags
		modelName, dataset, outDir string
		noFP32                     bool
		maxMemoryGiB               float64
		opts                       train.Options
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a network through the crossbar model, with an FP32 reference beside it",
		Long: `train trains a network on a dataset with every product and weight update going through
the crossbar model (MVM, MTVM, OPA and CRS of the chosen variant, slice plans, rounding,
ADC and device model), and an FP32 reference of the same architecture and initial
weights beside it. Without flags it trains the mlp preset (784-256-128-10) on MNIST
for one epoch with PANTHER's defaults: the accumulate variant with the plans of
docs/numeric-model.md, CRS every batch, an 8-bit ADC, ideal cells, batch 64, lr 0.01 per example.

--model is a preset, a YAML file or an ONNX file (.onnx), whose weights are the initial
ones. It prints each epoch's loss, accuracy and event counts and writes metrics.csv,
metrics.json and accuracy.png into --out, and for a finished run weights.json and model.onnx:
the network with the crossbar trainer's final weights (each exactly a Q4.12 value q/4096),
which panther infer, panther compile and other ONNX readers load. With --checkpoint DIR
the state is saved after every epoch, every --checkpoint-every batches, and on Ctrl-C or
SIGTERM (at the end of the current batch); running the same command again resumes it. A
stopped run exits with status 130 (SIGINT) or 143 (SIGTERM). A run whose estimated memory
exceeds --max-memory (default: the machine's memory) is refused before it starts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			unit, err := uf.config(cmd.Flags())
			if err != nil {
				return err
			}
			// The ONNX model written at the end keeps an ONNX model's
			// head and tensor names.
			m, err := onnx.Load(modelName)
			if err != nil {
				return err
			}
			written, net := *m, m.Net
			cfg.InitialWeights = m.Weights
			cfg.Model, cfg.Dataset, cfg.Unit, cfg.FP32 = net, dataset, unit, !noFP32
			if err := cfg.Validate(); err != nil {
				return err
			}
			if opts.MaxMemory, err = memoryLimit(maxMemoryGiB); err != nil {
				return err
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			if outDir == "" {
				outDir = filepath.Join("runs", fmt.Sprintf("train-%s-%s", net.Name, unit.Variant))
			}
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "loading %s ...\n", dataset)
			trainSet, testSet, err := data.Load(dataset)
			if err != nil {
				return err
			}
			_, err = runTraining(cmd.Context(), cmd.OutOrStdout(), stderr, cfg, written, trainSet, testSet, outDir, opts)
			return err
		},
	}
	f := cmd.Flags()
	uf.register(f, cfg.Unit.ADC.String())
	f.StringVar(&modelName, "model", "mlp", "network: a preset ("+strings.Join(model.Presets(), ", ")+"), a YAML file or an ONNX file (its weights are the initial ones)")
	f.StringVar(&dataset, "data", cfg.Dataset, "dataset: "+data.Datasets)
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "passes over the training set")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "examples per batch")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "crossbar learning rate per example (each OPA adds -lr times the example's gradient)")
	biasFlag(f, &cfg.Bias)
	f.IntVar(&cfg.CRSInterval, "crs-interval", cfg.CRSInterval, "batches between carry resolutions (counted across epochs)")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of every random choice (initial weights, data order, rounding, devices)")
	f.IntVar(&cfg.Limit, "limit", 0, "train on the first N examples only (0: all)")
	f.IntVar(&cfg.TestLimit, "test-limit", 0, "test on the first N examples only (0: all)")
	f.BoolVar(&noFP32, "no-fp32", false, "skip the FP32 reference")
	f.Float64Var(&cfg.FP32LR, "fp32-lr", cfg.FP32LR, "FP32 reference learning rate on the batch-mean loss")
	f.StringVar(&outDir, "out", "", "output folder (default runs/train-MODEL-VARIANT)")
	f.StringVar(&opts.Checkpoint, "checkpoint", "", "folder for checkpoints: saved after every epoch and on Ctrl-C or SIGTERM, resumed when it matches")
	f.IntVar(&opts.CheckpointEvery, "checkpoint-every", 0, "also save the checkpoint after every N batches (0: only after epochs)")
	f.Float64Var(&maxMemoryGiB, "max-memory", 0, "refuse a run estimated to need more than this many GiB (0: the machine's memory)")
	root.AddCommand(cmd)
}

// runTraining runs with progress on stderr, stops cleanly on Ctrl-C or
// SIGTERM, prints the epochs and writes the outputs. opts gives the
// checkpoint and the memory limit; its callbacks are set here. A finished
// run is also written as ONNX, with written's head and tensor names and the
// trained weights. An interrupted run still writes its outputs (not the
// ONNX file) and returns its partial result with an error that says where
// its state is (stoppedBy for a signal).
func runTraining(ctx context.Context, stdout, stderr io.Writer, cfg train.Config, written onnx.Model, trainSet, testSet *data.Set, outDir string, opts train.Options) (*train.Result, error) {
	ctx, stop := signalContext(ctx)
	defer stop()
	nTrain, nTest := cfg.Examples(trainSet, testSet)
	fmt.Fprintf(stdout, "training %s on %s (%d examples, test %d): %s variant, OPA plan %s, ADC %s, device %s, rounding %s, batch %d, lr %g, CRS every %d batches, seed %d\n",
		cfg.Model.Name, cfg.Dataset, nTrain, nTest, cfg.Unit.Variant,
		activePlan(cfg.Unit), cfg.Unit.ADC, cfg.Unit.Device, cfg.Unit.Rounding, cfg.Batch, cfg.LR, cfg.CRSInterval, cfg.Seed)
	prog := newProgress(stderr)
	var bar progressBar
	opts.Batch = func(p train.Progress) {
		if bar == nil {
			bar = prog.bar(fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs), "batches", p.Batches)
		}
		status := fmt.Sprintf("panther %5.1f%%", 100*p.Accuracy)
		if p.HasFP32 {
			status += fmt.Sprintf("  fp32 %5.1f%%", 100*p.FP32Accuracy)
		}
		bar.set(p.Batch, status)
		if p.Batch == p.Batches {
			bar.done()
			bar = nil
		}
	}
	opts.Epoch = func(ms []train.EpochMetrics) {
		prog.wait() // the epoch's bar is drawn in full before its lines
		for _, m := range ms {
			fmt.Fprintln(stdout, epochLine(m))
		}
	}
	res, err := train.Run(ctx, cfg, trainSet, testSet, opts)
	if bar != nil {
		bar.done()
	}
	prog.wait()
	if err != nil && !errors.Is(err, train.ErrInterrupted) {
		return nil, err
	}
	if res.ResumedFrom != "" {
		fmt.Fprintf(stdout, "resumed from the checkpoint at %s\n", res.ResumedFrom)
	}
	paths, werr := train.WriteOutputs(outDir, res)
	if len(paths) > 0 {
		fmt.Fprintf(stdout, "wrote %s\n", strings.Join(paths, ", "))
	}
	if err == nil {
		return res, errors.Join(werr, writeONNX(stdout, outDir, cfg, written, res))
	}
	stopped := "interrupted"
	sig, bySignal := signalOf(ctx)
	if bySignal {
		stopped = "stopped by " + signalName(sig)
	}
	if opts.Checkpoint != "" {
		stopped += fmt.Sprintf("; the state is saved in %s: run the same command to resume", opts.Checkpoint)
	} else {
		stopped += " (without --checkpoint the progress is not kept)"
	}
	err = errors.Join(errors.New(stopped), werr)
	if bySignal {
		err = stoppedBy{sig: sig, err: err}
	}
	return res, err
}

// memoryLimit is the --max-memory limit in bytes: gib GiB, or for 0 the
// machine's memory (none where that is unknown).
func memoryLimit(gib float64) (int64, error) {
	if !(gib >= 0) || gib > 1<<30 {
		return 0, fmt.Errorf("--max-memory %v: want a size in GiB, or 0 for the machine's memory", gib)
	}
	if gib > 0 {
		return int64(gib * (1 << 30)), nil
	}
	return machineMemory(), nil
}

// machineMemory is the physical memory (MemTotal of /proc/meminfo), or the
// cgroup's memory limit where that is lower; 0 where neither can be read.
func machineMemory() int64 {
	var total int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					total = kb << 10
				}
			}
		}
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && limit > 0 && (total == 0 || limit < total) {
			total = limit // "max" (no limit) does not parse
		}
	}
	return total
}

// writeONNX writes a finished run's network with its trained weights as
// ModelONNX in outDir.
func writeONNX(stdout io.Writer, outDir string, cfg train.Config, written onnx.Model, res *train.Result) error {
	if res.Weights == nil {
		return nil
	}
	path := filepath.Join(outDir, ModelONNX)
	written.Net, written.Weights = cfg.Model, res.Weights
	if err := atomicfile.Write(path, func(w io.Writer) error { return onnx.Write(w, &written) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}

// ModelONNX is the trained network that train writes into its output
// folder: the model's graph with the crossbar trainer's final weights.
const ModelONNX = "model.onnx"

// activePlan is the plan OPA writes: the inplace set's or the update set's.
func activePlan(u xbar.UnitConfig) xbar.Plan {
	if u.Variant == xbar.Inplace {
		return u.InplacePlan
	}
	return u.UpdatePlan
}

func epochLine(m train.EpochMetrics) string {
	s := fmt.Sprintf("epoch %d %-7s loss %.4f  train %.2f%%  test %.2f%% (loss %.4f)  %.1f s",
		m.Epoch, m.Trainer, m.TrainLoss, 100*m.TrainAccuracy, 100*m.TestAccuracy, m.TestLoss, m.Seconds)
	if e := m.Events; e != nil {
		// Named as in metrics.csv and metrics.json; training only.
		names, values := e.Columns(), e.Values()
		for i, name := range names {
			if name == "slice_sat" {
				values[i] = "[" + values[i] + "]" // per slice, space-separated
			}
			names[i] = name + " " + values[i]
		}
		s += fmt.Sprintf("\n        training events: %s; sat_rate %.4g", strings.Join(names, ", "), e.SatRate())
	}
	return s
}

// progress shows bars on a terminal and plain lines every few seconds
// otherwise (a log file or CI).
type progress struct {
	out      io.Writer
	terminal bool
	p        *mpb.Progress
	mu       sync.Mutex
}

type progressBar interface {
	set(done int, status string)
	done()
}

func newProgress(out io.Writer) *progress {
	pr := &progress{out: out, terminal: isTerminal(out)}
	if pr.terminal {
		pr.p = mpb.New(mpb.WithOutput(out), mpb.WithWidth(40))
	}
	return pr
}

func (pr *progress) bar(name, unit string, total int) progressBar {
	if !pr.terminal {
		return &logBar{pr: pr, name: name, unit: unit, total: total, start: time.Now(), last: time.Now()}
	}
	tb := &termBar{start: time.Now()}
	tb.b = pr.p.AddBar(int64(total),
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.CountersNoUnit("%d/%d", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.Any(func(st decor.Statistics) string {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			return tb.status + timeLeft(time.Since(tb.start), int(st.Current), int(st.Total))
		})),
	)
	return tb
}

// println prints a line above the bars (on a terminal) or among the
// progress lines.
func (pr *progress) println(line string) {
	if pr.terminal {
		fmt.Fprintln(pr.p, line)
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	fmt.Fprintln(pr.out, line)
}

// wait flushes the bars drawn so far; later bars start below them.
func (pr *progress) wait() {
	if pr.p != nil {
		pr.p.Wait()
		pr.p = mpb.New(mpb.WithOutput(pr.out), mpb.WithWidth(40))
	}
}

// timeLeft estimates the time to finish from the mean time per item so
// far ("" before the first item and after the last).
func timeLeft(elapsed time.Duration, done, total int) string {
	if done <= 0 || done >= total {
		return ""
	}
	left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
	return fmt.Sprintf(", about %s left", left.Round(time.Second))
}

type termBar struct {
	b      *mpb.Bar
	mu     sync.Mutex
	status string
	start  time.Time
}

func (t *termBar) set(done int, status string) {
	t.mu.Lock()
	t.status = status
	t.mu.Unlock()
	t.b.SetCurrent(int64(done))
}

func (t *termBar) done() {
	if !t.b.Completed() {
		t.b.Abort(false)
	}
}

type logBar struct {
	pr          *progress
	name, unit  string
	total       int
	start, last time.Time
}

func (l *logBar) set(done int, status string) {
	if now := time.Now(); now.Sub(l.last) >= 10*time.Second || done == l.total {
		l.last = now
		elapsed := now.Sub(l.start)
		l.pr.mu.Lock()
		fmt.Fprintf(l.pr.out, "%s: %d/%d %s, %s, %.0f s%s\n", l.name, done, l.total, l.unit, status, elapsed.Seconds(), timeLeft(elapsed, done, l.total))
		l.pr.mu.Unlock()
	}
}

func (l *logBar) done() {}
