package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/eval"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/sim"
)

func init() {
	var (
		archName, dataName, weights, out, jsonOut string
		examples, perProgram                      int
		seed                                      uint64
		useTest                                   bool
	)
	cmd := &cobra.Command{
		Use:   "infer MODEL [--weights FILE] [--data NAME] [--test] [--examples N] [--arch NAME|FILE] [-o OUT.csv]",
		Short: "Run a network forward on the simulated machine and write its outputs",
		Long: `infer compiles MODEL (an ONNX file, a YAML model or a model preset) for inference, simulates
the programs, reads each example's outputs from the machine's shared memory and writes them as
CSV (one line per example: its label, the index of the largest output, then the outputs as real
values). It prints the time and energy of the runs and the share of examples whose largest
output is their label.

--weights reads the weights.json that panther train writes (the crossbar trainer's weights);
otherwise they are the model's (ONNX initializers) or drawn from --seed. --data is an image set
(mnist, fashion-mnist, an IDX or CSV file, as panther train reads them; its training set, or its
test set with --test) or "synthetic". A program holds at most --per-program examples in the
machine's shared memory (fewer where that many do not fit); more examples run as several
programs, one after another.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := arch.Load(archName)
			if err != nil {
				return err
			}
			m, err := compiler.LoadModel(args[0])
			if err != nil {
				return err
			}
			if weights != "" {
				if m.Weights, err = model.ReadWeightsFile(weights, m.Net); err != nil {
					return err
				}
			}
			ds, err := inferenceData(dataName, useTest, m.Net, examples, seed)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			inf, err := infer(ctx, a, m, ds, perProgram, seed)
			if err != nil {
				return err
			}
			if err := atomicfile.Write(out, inf.writeCSV); err != nil {
				return err
			}
			if jsonOut != "" {
				b, err := json.MarshalIndent(inf.Reports, "", "  ")
				if err != nil {
					return err
				}
				if err := atomicfile.WriteFile(jsonOut, append(b, '\n')); err != nil {
					return err
				}
			}
			inf.summary(cmd.OutOrStdout(), m.Net.Name, a.Name)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&archName, "arch", "panther", "architecture: a preset name or a YAML file")
	f.StringVar(&weights, "weights", "", "weights.json written by panther train")
	f.StringVar(&dataName, "data", "mnist", `input examples: mnist, fashion-mnist, an IDX or CSV file, or "synthetic"`)
	f.BoolVar(&useTest, "test", false, "take the examples from the data's test set")
	f.IntVar(&examples, "examples", 64, "examples to run, from the start of the data")
	f.IntVar(&perProgram, "per-program", 32, "examples one program holds")
	f.Uint64Var(&seed, "seed", 1, "seed of drawn weights, synthetic data and the machine's random streams")
	f.StringVarP(&out, "output", "o", "outputs.csv", "CSV file for the outputs")
	f.StringVar(&jsonOut, "json", "", "also write the simulator's reports (one per program) as JSON")
	root.AddCommand(cmd)
}

// inferenceData returns the first n examples of an image set (its test set
// if test) or synthetic ones.
func inferenceData(name string, test bool, net *model.Network, n int, seed uint64) (compiler.Dataset, error) {
	if n < 1 {
		return compiler.Dataset{}, fmt.Errorf("--examples %d: want at least 1", n)
	}
	if name == "synthetic" {
		cfg := compiler.DefaultConfig()
		cfg.Data, cfg.Seed = name, seed
		return compiler.LoadData(cfg, net, n)
	}
	trainSet, testSet, err := data.Load(name)
	if err != nil {
		return compiler.Dataset{}, err
	}
	if test {
		return compiler.DatasetFrom(testSet, name+" (test set)", net, n)
	}
	return compiler.DatasetFrom(trainSet, name, net, n)
}

// inference is what infer measured.
type inference struct {
	// PerProgram is how many examples a program held: the requested
	// number, or fewer where that many did not fit.
	PerProgram int
	Outputs    [][]int16
	Labels     []int
	Reports    []*sim.Report
	TimeNS     float64
	EnergyPJ   float64
}

// infer runs ds through m on the simulated machine a, at most perProgram
// examples a program; where that many do not fit the machine, it halves
// the number until they do (or one example does not, which is the error).
func infer(ctx context.Context, a *arch.Arch, m compiler.Model, ds compiler.Dataset, perProgram int, seed uint64) (*inference, error) {
	if perProgram < 1 || perProgram > compiler.MaxExamples {
		return nil, fmt.Errorf("--per-program %d: want 1 to %d", perProgram, compiler.MaxExamples)
	}
	inf := &inference{Labels: ds.Labels}
	for lo := 0; lo < len(ds.Inputs); {
		res, err := compileInference(a, m, ds, lo, min(lo+perProgram, len(ds.Inputs)), seed)
		for err != nil && perProgram > 1 {
			// The examples live in shared memory: fewer may fit.
			perProgram = (perProgram + 1) / 2
			res, err = compileInference(a, m, ds, lo, min(lo+perProgram, len(ds.Inputs)), seed)
		}
		if err != nil {
			return nil, err
		}
		hi := lo + res.Report.Examples
		s, err := sim.New(a, res.Program, sim.Options{Seed: seed})
		if err != nil {
			return nil, err
		}
		rep, err := s.Run(ctx)
		if err != nil {
			return nil, fmt.Errorf("examples %d..%d: simulation stopped: %w", lo, hi-1, err)
		}
		ys, err := res.ReadOutputs(s.Shared)
		if err != nil {
			return nil, err
		}
		inf.Outputs = append(inf.Outputs, ys...)
		inf.Reports = append(inf.Reports, rep)
		inf.TimeNS += rep.TimeNS
		inf.EnergyPJ += rep.EnergyPJ
		lo = hi
	}
	inf.PerProgram = perProgram
	return inf, nil
}

// compileInference compiles examples lo..hi-1 of ds for inference.
func compileInference(a *arch.Arch, m compiler.Model, ds compiler.Dataset, lo, hi int, seed uint64) (*compiler.Result, error) {
	part := compiler.Dataset{Inputs: ds.Inputs[lo:hi], Labels: ds.Labels[lo:hi]}
	cfg := compiler.DefaultConfig()
	cfg.Examples, cfg.Seed = hi-lo, seed
	res, err := compiler.Compile(m, a.ISA(), compiler.Options{Infer: true, Train: cfg, Data: &part})
	if err != nil {
		return nil, fmt.Errorf("a program of %d example(s): %w", hi-lo, err)
	}
	return res, nil
}

// largest is the index of an example's largest output (the first of ties).
func largest(y []int16) int {
	top := 0
	for i, v := range y {
		if v > y[top] {
			top = i
		}
	}
	return top
}

// correct counts the examples whose largest output is their label.
func (inf *inference) correct() int {
	n := 0
	for ex, y := range inf.Outputs {
		if largest(y) == inf.Labels[ex] {
			n++
		}
	}
	return n
}

func (inf *inference) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"example", "label", "largest"}
	for i := range inf.Outputs[0] {
		header = append(header, "y"+strconv.Itoa(i))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for ex, y := range inf.Outputs {
		rec := []string{strconv.Itoa(ex), strconv.Itoa(inf.Labels[ex]), strconv.Itoa(largest(y))}
		for _, v := range y {
			rec = append(rec, strconv.FormatFloat(fixed.Q4_12.Float(v), 'g', -1, 64))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (inf *inference) summary(w io.Writer, model, arch string) {
	n := float64(len(inf.Outputs))
	fmt.Fprintf(w, "%s on %s: %d examples in %d program(s) of up to %d, %s and %s of simulated time and energy (%s and %s per example)\n",
		model, arch, len(inf.Outputs), len(inf.Reports), inf.PerProgram, eval.FormatTime(inf.TimeNS), eval.FormatEnergy(inf.EnergyPJ),
		eval.FormatTime(inf.TimeNS/n), eval.FormatEnergy(inf.EnergyPJ/n))
	fmt.Fprintf(w, "largest output = label for %d of %d examples (%.1f%%)\n", inf.correct(), len(inf.Outputs), 100*float64(inf.correct())/n)
}
