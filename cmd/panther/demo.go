package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/eval"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/train"
)

func init() {
	var out string
	var limit, batch, inferExamples int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "End to end: train the MNIST MLP on PANTHER crossbars, run it on the simulated machine, compare a training step with the baselines",
		Long: `demo is panther's main job in one command. It trains the mlp preset (784-256-128-10) on
MNIST for one epoch with PANTHER's defaults and an FP32 reference (as panther train does);
runs the trained network on the MNIST test images on the simulated machine (compiled for
inference with the trained weights, as panther infer does), whose accuracy equals the
trainer's when every test image is run; then compiles one training step of the same network
for PANTHER and each baseline design (cmos-op, serial, digital, the other PANTHER variants),
simulates it, adds the GPU model, and prints time, energy and energy-delay product per step
with the ratios (as panther eval does). The simulated step uses synthetic inputs: its time and
energy do not depend on the trained values.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			cfg := train.DefaultConfig()
			cfg.Limit = limit
			if err := cfg.Validate(); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "loading %s ...\n", cfg.Dataset)
			trainSet, testSet, err := data.Load(cfg.Dataset)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, "== 1. training on PANTHER crossbars")
			trained, err := runTraining(cmd.Context(), stdout, stderr, cfg, onnx.Model{}, trainSet, testSet, filepath.Join(out, "train"), train.Options{})
			if err != nil {
				return err // an interrupted run too: its weights are not final
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()

			n := min(inferExamples, testSet.Len())
			fmt.Fprintf(stdout, "\n== 2. the trained network on the simulated machine: %d MNIST test images\n", n)
			a, err := arch.Load("panther")
			if err != nil {
				return err
			}
			m := compiler.Model{Net: cfg.Model, Weights: trained.Weights}
			ds, err := compiler.DatasetFrom(testSet, cfg.Dataset+" (test set)", cfg.Model, n)
			if err != nil {
				return err
			}
			inf, err := infer(ctx, a, m, ds, 32, cfg.Seed, cfg.Bias, newProgress(stderr))
			if err != nil {
				return err
			}
			inf.summary(stdout, cfg.Model.Name, a.Name)
			if n == trained.TestExamples {
				var acc float64
				for _, e := range trained.Epochs {
					if e.Trainer == train.Panther {
						acc = e.TestAccuracy
					}
				}
				fmt.Fprintf(stdout, "test accuracy: %.2f%% on the trainer's crossbars, %.2f%% on the simulated machine\n",
					100*acc, 100*float64(inf.correct())/float64(n))
			}

			fmt.Fprintf(stdout, "\n== 3. one training step of the same network (batch %d), compiled and simulated per design\n", batch)
			o := eval.DefaultOptions()
			o.Workloads, o.Batches = []string{"mlp"}, []int{batch}
			res, err := runEval(ctx, o, stderr)
			if err != nil {
				return err
			}
			if err := res.WriteTable(stdout); err != nil {
				return err
			}
			dir := filepath.Join(out, "eval")
			if err := res.WriteFiles(dir); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(eval.Files(dir), ", "))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", filepath.Join("runs", "demo"), "output folder (train/ and eval/ inside)")
	f.IntVar(&limit, "limit", 0, "train on the first N examples only (0: all 60,000)")
	f.IntVar(&inferExamples, "infer-examples", 10000, "test images to run on the simulated machine (all 10,000 by default)")
	f.IntVar(&batch, "sim-batch", 16, "batch size of the simulated step (16 fits the default preset's shared memory)")
	root.AddCommand(cmd)
}
