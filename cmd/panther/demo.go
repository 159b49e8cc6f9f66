package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/eval"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/train"
)

func init() {
	var out string
	var limit, batch int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "End to end: train the MNIST MLP on PANTHER crossbars, then compare a simulated training step with the baselines",
		Long: `demo is panther's main job in one command. It trains the mlp preset (784-256-128-10) on
MNIST for one epoch with PANTHER's defaults and an FP32 reference (as panther train does),
then compiles one training step of the same network for PANTHER and each baseline design
(cmos-op, serial, digital, the other PANTHER variants), simulates it, adds the GPU model,
and prints time, energy and energy-delay product per step with the ratios (as panther eval
does). The simulated step uses synthetic inputs: its time and energy do not depend on the
trained values.`,
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
			if err := runTraining(cmd.Context(), stdout, stderr, cfg, trainSet, testSet, filepath.Join(out, "train"), ""); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\n== 2. one training step of the same network (batch %d), compiled and simulated per design\n", batch)
			o := eval.DefaultOptions()
			o.Workloads, o.Batches = []string{"mlp"}, []int{batch}
			o.Progress = func(s string) { fmt.Fprintln(stderr, s) }
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			res, err := eval.Run(ctx, o)
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
	f.IntVar(&batch, "sim-batch", 16, "batch size of the simulated step (16 fits the default preset's shared memory)")
	root.AddCommand(cmd)
}
