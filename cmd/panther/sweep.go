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

	"github.com/panther-xbar/panther/sweep"
	_ "github.com/panther-xbar/panther/sweep/codesignkind" // registers kind: codesign
	_ "github.com/panther-xbar/panther/sweep/trainkind"    // registers kind: train
)

func init() {
	var (
		jobs, chunk, point int
		backend, out       string
	)
	cmd := &cobra.Command{
		Use:   "sweep SWEEP.yaml",
		Short: "Run a design-space sweep: a grid or a list of points, locally or as a Slurm job array",
		Long: `sweep runs one point per combination of a sweep file's grid (or per entry of its list):
kind names what a point is (train: one run of the fast trainer; codesign: a training
run and a simulated training step of the same network), base the settings all
points share, grid or list the settings that vary. Each point's record (parameters,
metrics, status) is written atomically to OUT/points/NNNN.json; finished points are
skipped when the sweep runs again. At the end the records are merged into
OUT/results.jsonl and OUT/results.csv. One process at a time runs a sweep in OUT: it
holds OUT/sweep.lock (pid and host), and a second one is refused. See docs/sweeps.md.

--backend local (the default) runs --jobs points at a time. --backend slurm writes
OUT/sweep.sbatch, a job array with --chunk points per task, and submits it with sbatch;
each task runs "panther sweep OUT/sweep.yaml --point I --out OUT" with this executable's
path, so the cluster's nodes must see this binary, OUT and the working folder at the
same paths. Then: panther sweep status|resume|collect OUT.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sweep.ReadFile(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("runs", "sweep-"+strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0])))
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cmd.Flags().Changed("point") {
				r, err := sweep.RunPoint(ctx, s, out, point)
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "point %d: %s\n", point, r.Status)
				}
				return err
			}
			switch backend {
			case "local":
				return runLocalSweep(ctx, cmd, s, out, jobs)
			case "slurm":
				return submitSweep(ctx, cmd, s, out, chunk)
			}
			return fmt.Errorf("--backend %q: want local or slurm", backend)
		},
	}
	f := cmd.Flags()
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "points run at a time (local backend)")
	f.StringVar(&backend, "backend", "local", "where points run: local or slurm")
	f.StringVar(&out, "out", "", "results folder (default runs/sweep-NAME)")
	f.IntVar(&chunk, "chunk", 0, "points per Slurm array task (default: the sweep file's slurm chunk, else 1)")
	f.IntVar(&point, "point", 0, "run only this point (what a Slurm array task does)")

	cmd.AddCommand(&cobra.Command{
		Use:   "status DIR",
		Short: "Show a sweep's done, failed and missing points, and its Slurm tasks running or pending",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sweep.Open(args[0])
			if err != nil {
				return err
			}
			st, err := sweep.ReadStatus(cmdContext(cmd), s, args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d points: %d done, %d failed, %d missing\n", st.Total, st.Done, st.Failed, st.Missing)
			if st.Slurm {
				fmt.Fprintf(w, "slurm: %d running, %d pending\n", st.Running, st.Pending)
			}
			if len(st.FailedPoints) > 0 {
				fmt.Fprintf(w, "failed: %v\n", st.FailedPoints)
			}
			if len(st.MissingPoints) > 0 {
				fmt.Fprintf(w, "missing: %v\n", st.MissingPoints)
			}
			return nil
		},
	})
	var resumeJobs int
	resume := &cobra.Command{
		Use:   "resume DIR",
		Short: "Run a sweep's missing and failed points again: resubmitted as an array over just those tasks, or locally",
		Long: `resume finishes a sweep: for a Slurm sweep it resubmits, as one job array, only the
tasks holding points that are missing or failed and not queued or running now; a sweep
that ran locally runs its missing and failed points locally (--jobs at a time).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sweep.Open(args[0])
			if err != nil {
				return err
			}
			_, isSlurm, err := sweep.ReadSlurmState(args[0])
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if isSlurm {
				return submitSweep(ctx, cmd, s, args[0], 0)
			}
			return runLocalSweep(ctx, cmd, s, args[0], resumeJobs)
		},
	}
	resume.Flags().IntVar(&resumeJobs, "jobs", runtime.NumCPU(), "points run at a time (local sweeps)")
	cmd.AddCommand(resume)
	cmd.AddCommand(&cobra.Command{
		Use:   "collect DIR",
		Short: "Merge a sweep's point records into DIR/results.jsonl and DIR/results.csv",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sweep.Open(args[0])
			if err != nil {
				return err
			}
			n, err := sweep.Collect(s, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d of %d points merged into %s and %s\n", n, len(s.Points),
				filepath.Join(args[0], sweep.ResultsJSON), filepath.Join(args[0], sweep.ResultsCSV))
			return nil
		},
	})
	root.AddCommand(cmd)
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// noteTo shows a sweep's remarks (a stale lock taken over) on stderr.
func noteTo(cmd *cobra.Command) func(string) {
	return func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "note:", msg) }
}

func runLocalSweep(ctx context.Context, cmd *cobra.Command, s *sweep.Sweep, out string, jobs int) error {
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "sweep %s: %d %s points into %s, %d at a time\n", s.Path, len(s.Points), s.Kind, out, jobs)
	prog := newProgress(stderr)
	var bar progressBar
	err := sweep.RunLocal(ctx, s, out, jobs, func(p sweep.Progress) {
		if bar == nil {
			bar = prog.bar("sweep", "points", p.Total)
		}
		status := fmt.Sprintf("%d skipped, %d failed", p.Skipped, p.Failed)
		bar.set(p.Done, status)
	}, noteTo(cmd))
	if bar != nil {
		bar.done()
	}
	prog.wait()
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted: run the same command again to finish the sweep (finished points are kept)")
	}
	if err == nil {
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\n", filepath.Join(out, sweep.ResultsJSON), filepath.Join(out, sweep.ResultsCSV))
	}
	return err
}

func submitSweep(ctx context.Context, cmd *cobra.Command, s *sweep.Sweep, out string, chunk int) error {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return fmt.Errorf("finding this executable for the batch script: %w", err)
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s is a temporary binary of go run: build panther with go build so the tasks can run it\n", exe)
	}
	job, ok, err := sweep.SubmitSlurm(ctx, s, out, exe, chunk, noteTo(cmd))
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if !ok {
		fmt.Fprintf(w, "nothing to submit: every point of %s is done, queued or running\n", out)
		return nil
	}
	fmt.Fprintf(w, "submitted %d array tasks as Slurm job %s (script %s); follow with: panther sweep status %s\n",
		len(job.Tasks), job.ID, filepath.Join(out, sweep.BatchFile), out)
	return nil
}
