package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/sim"
)

var runOpts struct {
	arch      string
	json      string
	trace     string
	seed      uint64
	maxCycles int64
}

var runCmd = &cobra.Command{
	Use:   "run PROG [--arch NAME|FILE] [--json OUT] [--trace FILE] [--seed N]",
	Short: "Simulate a program container: cycles, energy, power, area, utilisation",
	Long: "run executes a program container on an architecture (a preset, see `panther arch list`, or a\n" +
		"YAML file) and prints the report: cycles and time, energy by operation class and component,\n" +
		"average and peak power, area, per-core utilisation and instruction counts. A deadlock, the\n" +
		"cycle limit or Ctrl-C stops the run; the report is still written, marked partial.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		p, err := program.ReadFile(args[0])
		if err != nil {
			return err
		}
		a, err := arch.Load(runOpts.arch)
		if err != nil {
			return err
		}
		ctx, stop := signalContext(cmd.Context())
		defer stop()
		opt := sim.Options{Seed: runOpts.seed, MaxCycles: runOpts.maxCycles}
		bar := newRunProgress(cmd.ErrOrStderr())
		opt.Progress = bar.update
		var report *sim.Report
		var runErr error
		simulate := func(trace io.Writer) error {
			opt.Trace = trace
			s, err := sim.New(a, p, opt)
			if err != nil {
				return err
			}
			report, runErr = s.Run(ctx)
			return nil // a stopped run still leaves a trace worth keeping
		}
		if runOpts.trace != "" {
			err = atomicfile.Write(runOpts.trace, simulate)
		} else {
			err = simulate(nil)
		}
		bar.finish()
		if err != nil {
			return err
		}
		if err := report.WriteTable(cmd.OutOrStdout()); err != nil {
			return err
		}
		if runOpts.json != "" {
			b, err := json.MarshalIndent(report, "", "  ")
			if err != nil {
				return err
			}
			if err := atomicfile.WriteFile(runOpts.json, append(b, '\n')); err != nil {
				return err
			}
		}
		if errors.Is(runErr, sim.ErrInterrupted) {
			err := fmt.Errorf("interrupted at cycle %d: the report above is partial", report.Cycles)
			if sig, ok := signalOf(ctx); ok {
				return stoppedBy{sig: sig, err: err}
			}
			return err
		}
		return runErr
	},
}

// runProgress shows a spinner with the simulated cycle on a terminal, once
// a run has lasted a second; elsewhere it shows nothing.
type runProgress struct {
	out          io.Writer
	start        time.Time
	cycle, insts atomic.Int64
	p            *mpb.Progress
	bar          *mpb.Bar
}

func newRunProgress(out io.Writer) *runProgress { return &runProgress{out: out, start: time.Now()} }

func (r *runProgress) update(cycle, instructions int64) {
	r.cycle.Store(cycle)
	r.insts.Store(instructions)
	if r.bar != nil || time.Since(r.start) < time.Second || !isTerminal(r.out) {
		return
	}
	r.p = mpb.New(mpb.WithOutput(r.out), mpb.WithWidth(1))
	r.bar = r.p.AddSpinner(0,
		mpb.PrependDecorators(decor.Name("simulating "), decor.Elapsed(decor.ET_STYLE_GO)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			return fmt.Sprintf(" cycle %d, %d instructions", r.cycle.Load(), r.insts.Load())
		})),
		mpb.BarRemoveOnComplete(),
	)
}

func (r *runProgress) finish() {
	if r.bar == nil {
		return
	}
	r.bar.SetTotal(-1, true)
	r.p.Wait()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func init() {
	f := runCmd.Flags()
	archNameFlag(f, &runOpts.arch)
	f.StringVar(&runOpts.json, "json", "", "also write the report as JSON to this file")
	f.StringVar(&runOpts.trace, "trace", "", "write one line per executed instruction to this file")
	f.Uint64Var(&runOpts.seed, "seed", 0, "seed of every random stream (stochastic rounding, devices, rand_cmp)")
	f.Int64Var(&runOpts.maxCycles, "max-cycles", sim.DefaultMaxCycles, "stop a run that has not finished after this many cycles")
	root.AddCommand(runCmd)
}
