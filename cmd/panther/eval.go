package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/eval"
)

func init() {
	def := eval.DefaultOptions()
	var (
		workloads, designs, batches, vary string
		gpu, gpuCSV, out                  string
		epoch, jobs                       int
		maxMemoryGiB                      float64
	)
	cmd := &cobra.Command{
		Use:   "eval [--workloads ...] [--batches 1,4,16,64] [--designs ...] [--gpu rtx2080ti] [--gpu-csv FILE] [--vary KEY=V1,V2] [--out DIR]",
		Short: "Compare PANTHER with its baselines: time, energy and EDP per training step and epoch",
		Long: `eval compiles the training program of each workload for each design (an architecture
preset, compiled with that preset's variant and instruction set), simulates one training step
(one batch), adds the analytic GPU model (and measured GPU figures from --gpu-csv), and reports
time, energy and energy-delay product per step, time and energy per epoch, the ratios
baseline / panther, the energy by operation class and by operation beside panther's, and the
paper's headline figures beside ours. It writes eval.txt, eval.csv, eval.json and eval.html
into --out. Every constant the designs use is listed with its source in docs/constants.md;
docs/reproduction.md traces each headline ratio. While it runs it shows the points measured,
the total and the time left (a bar on a terminal, a line every 10 s otherwise), what the
point under way is doing (compiling, simulating), and one line per point measured.

Points run in parallel, --jobs at once (default: one per processor), while their estimated
memory fits in --max-memory, which also bounds the heap softly (unless GOMEMLIMIT is set);
designs that compile the same program (panther and panther-pipelined; cmos-op, serial and
digital) share one compilation. The report is the same at any --jobs.

workloads: ` + strings.Join(eval.WorkloadNames(), ", ") + `,
           or a model: an ONNX file (.onnx), a YAML file or a model preset
designs:   ` + strings.Join(eval.Designs(), ", ") + `, gpu (or any architecture preset)
--gpu-csv: measured GPU steps, one per line: workload,batch,step_seconds and energy_joules or
           power_watts, optionally card,date,method (docs/reproduction.md)
--vary:    ` + strings.Join(eval.VaryKeys(), "\n           "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := def
			o.Workloads, o.Designs, o.GPU = splitList(workloads), splitList(designs), gpu
			var err error
			if o.Batches, err = intList("batches", batches); err != nil {
				return err
			}
			o.EpochExamples, o.Jobs = epoch, jobs
			if !(maxMemoryGiB >= 0) || maxMemoryGiB > 1<<30 {
				return fmt.Errorf("--max-memory %v: want a size in GiB, or 0 for no bound", maxMemoryGiB)
			}
			o.MemoryBytes = int64(maxMemoryGiB * (1 << 30))
			if o.MemoryBytes > 0 && os.Getenv("GOMEMLIMIT") == "" {
				// Collect harder near the bound rather than let the heap
				// grow to twice what is live.
				defer debug.SetMemoryLimit(debug.SetMemoryLimit(o.MemoryBytes))
			}
			if gpuCSV != "" {
				if o.GPUMeasured, err = eval.ReadGPUMeasurements(gpuCSV); err != nil {
					return err
				}
			}
			if vary != "" {
				if o.Vary, err = eval.ParseVary(vary); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			res, err := runEval(ctx, o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := res.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if err := res.WriteFiles(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nwrote %s\n", strings.Join(eval.Files(out), ", "))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&workloads, "workloads", strings.Join(def.Workloads, ","), "workloads, comma-separated")
	f.StringVar(&batches, "batches", joinInts(def.Batches), "batch sizes, comma-separated (the paper's: 1,4,16,64)")
	f.StringVar(&designs, "designs", strings.Join(def.Designs, ","), "designs, comma-separated (must include panther)")
	f.StringVar(&gpu, "gpu", def.GPU, "GPU model preset: "+strings.Join(eval.GPUNames(), ", "))
	f.StringVar(&gpuCSV, "gpu-csv", "", "measured GPU steps (CSV) to report beside the model")
	f.IntVar(&epoch, "epoch-examples", 0, "training-set size of an epoch (0: each workload's own, 60000 for the MLPs, 50000 for VGG)")
	f.StringVar(&vary, "vary", "", "sensitivity: KEY=V1,V2 overrides one architecture setting in turn")
	f.StringVar(&out, "out", "runs/eval", "folder for the report files")
	f.IntVar(&jobs, "jobs", 0, "points measured at once (0: one per processor)")
	defGiB := math.Round(float64(def.MemoryBytes)/(1<<30)*100) / 100 // as written, not as a sum of powers of two
	f.Float64Var(&maxMemoryGiB, "max-memory", defGiB, "GiB the points measured at once may need, by estimate (0: no bound)")
	root.AddCommand(cmd)
}

// runEval runs eval.Run with its progress on out: the points done, the
// total and the time left, the stage of the point under way, and a line
// per point measured.
func runEval(ctx context.Context, o eval.Options, out io.Writer) (*eval.Result, error) {
	prog := newProgress(out)
	var bar progressBar
	o.Progress = func(p eval.Progress) {
		if bar == nil {
			bar = prog.bar("eval", "points", p.Total)
		}
		if p.Line != "" {
			prog.println(fmt.Sprintf("%d/%d  %s", p.Done, p.Total, p.Line))
		}
		status := p.Point + ": done"
		if p.Stage != "" {
			status = p.Point + ": " + p.Stage
		}
		bar.set(p.Done, status)
	}
	res, err := eval.Run(ctx, o)
	if bar != nil {
		bar.done()
	}
	prog.wait()
	return res, err
}
