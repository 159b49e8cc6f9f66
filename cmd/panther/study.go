package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/train"
	"github.com/panther-xbar/panther/xbar"
)

func init() {
	s := train.DefaultStudy()
	var (
		uf                                                      unitFlags
		datasets, variants, roundings, fbits, cells, mixed, crs string
		out                                                     string
		jobs                                                    int
		mlp                                                     bool
	)
	cmd := &cobra.Command{
		Use:   "study",
		Short: "Run the accuracy study: cell bits x CRS interval x variant x rounding x fraction bits",
		Long: `study trains one network per point of a grid and records its test accuracy and
saturation counts: uniform cell bits of the update set (2-bit nominal slices), mixed
per-slice cell bits, CRS intervals, the inplace and accumulate variants, nearest and
stochastic rounding, and 0 or 8 extra fraction bits, on MNIST and Fashion-MNIST.

Points run in parallel (--jobs). Each finished point is appended to results.jsonl and
results.csv in --out at once; running the same command again skips finished points.
At the end it draws heat maps of accuracy and of the saturation rate (in all and per
slice) as PNG files, one set per dataset.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			unit, err := uf.config(cmd.Flags())
			if err != nil {
				return err
			}
			s.Base.Unit = unit
			if mlp {
				s.Model = "mlp"
			}
			if _, err := onnx.Load(s.Model); err != nil {
				return err
			}
			var errs []error
			s.Datasets = splitList(datasets)
			for _, d := range s.Datasets {
				if k, _, _ := strings.Cut(d, ":"); k != "mnist" && k != "fashion-mnist" && k != "idx" && k != "csv" {
					errs = append(errs, fmt.Errorf("--datasets: unknown dataset %q: want %s", d, data.Datasets))
				}
			}
			s.Variants = nil
			for _, v := range splitList(variants) {
				p, err := xbar.ParseVariant(v)
				errs = append(errs, flagErr("variants", err))
				s.Variants = append(s.Variants, p)
			}
			s.Roundings = nil
			for _, v := range splitList(roundings) {
				p, err := fixed.ParseRounding(v)
				errs = append(errs, flagErr("roundings", err))
				s.Roundings = append(s.Roundings, p)
			}
			var e1, e2, e3 error
			s.FractionBits, e1 = intList("fraction-bits", fbits)
			s.CellBits, e2 = intList("cell-bits", cells)
			s.CRSIntervals, e3 = intList("crs-intervals", crs)
			s.Mixed = nil
			if mixed != "" {
				s.Mixed = strings.Split(mixed, ";")
			}
			if err := errors.Join(append(errs, e1, e2, e3)...); err != nil {
				return err
			}
			points, err := s.Points()
			if err != nil {
				return err
			}
			if err := s.Base.Validate(); err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("runs", "study-"+s.Model)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			fmt.Fprintf(stdout, "study of %s: %d points (%d examples each, %d epochs, test %d), %d at a time, into %s\n",
				s.Model, len(points), s.Base.Limit, s.Base.Epochs, s.Base.TestLimit, jobs, out)
			prog := newProgress(stderr)
			var bar progressBar
			_, err = train.RunStudy(ctx, s, out, jobs, data.Load, func(p train.StudyProgress) {
				if bar == nil {
					bar = prog.bar("study", "points", p.Total)
				}
				r := p.Last
				bar.set(p.Done, fmt.Sprintf("last %s: %.1f%%", r.Key(), 100*r.TestAccuracy))
				if p.Done == p.Total {
					bar.done()
				}
			})
			prog.wait()
			if errors.Is(err, train.ErrInterrupted) {
				fmt.Fprintf(stderr, "interrupted: finished points are in %s; run the same command to go on\n", out)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s (results.jsonl, results.csv, accuracy_*.png, saturation_*.png, slices_*.png)\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	uf.register(f, s.Base.Unit.ADC.String())
	f.StringVar(&datasets, "datasets", strings.Join(s.Datasets, ","), "datasets, comma separated")
	f.StringVar(&s.Model, "model", s.Model, "network: a preset ("+strings.Join(model.Presets(), ", ")+"), a YAML file or an ONNX file (its structure; training starts from fresh weights)")
	f.BoolVar(&mlp, "mlp", false, "use the mlp preset (quicker than the CNN)")
	f.StringVar(&variants, "variants", "inplace,accumulate", "variants, comma separated")
	f.StringVar(&roundings, "roundings", "nearest,stochastic", "roundings, comma separated")
	f.StringVar(&fbits, "fraction-bits", joinInts(s.FractionBits), "extra fraction bits of the update plan, comma separated (even)")
	f.StringVar(&cells, "cell-bits", joinInts(s.CellBits), "uniform cell bits, comma separated")
	f.StringVar(&mixed, "mixed", strings.Join(s.Mixed, ";"), "mixed cell bits of the 8 weight slices, plans separated by ;")
	f.StringVar(&crs, "crs-intervals", joinInts(s.CRSIntervals), "CRS intervals in batches, comma separated")
	f.IntVar(&s.Base.Limit, "limit", s.Base.Limit, "training examples per point (0: all)")
	f.IntVar(&s.Base.TestLimit, "test-limit", s.Base.TestLimit, "test examples per point (0: all)")
	f.IntVar(&s.Base.Epochs, "epochs", s.Base.Epochs, "epochs per point")
	f.IntVar(&s.Base.Batch, "batch", s.Base.Batch, "batch size")
	f.Float64Var(&s.Base.LR, "lr", s.Base.LR, "learning rate per example")
	biasFlag(f, &s.Base.Bias)
	f.Uint64Var(&s.Base.Seed, "seed", s.Base.Seed, "seed of every run")
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "points trained at once")
	f.StringVar(&out, "out", "", "output folder (default runs/study-MODEL)")
	root.AddCommand(cmd)
}

func flagErr(flag string, err error) error {
	if err != nil {
		return fmt.Errorf("--%s: %w", flag, err)
	}
	return nil
}
