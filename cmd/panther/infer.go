package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

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
		archName, dataName, input, shape, weights, out, jsonOut string
		examples, perProgram                                    int
		seed                                                    uint64
		useTest                                                 bool
		bias                                                    model.BiasPlacement
	)
	cmd := &cobra.Command{
		Use:   "infer MODEL [--weights FILE] [--data NAME | --input X.npy] [--test] [--examples N] [--arch NAME|FILE] [-o OUT.csv|.npy|.f32]",
		Short: "Run a network forward on the simulated machine and write its outputs",
		Long: `infer compiles MODEL (an ONNX file, a YAML model or a model preset) for inference, simulates
the programs, reads each example's outputs from the machine's shared memory and writes them in
the form -o's extension names: .csv (one line per example: its label, the index of the largest
output, then the outputs as real values), .npy (NumPy, float32, [N, outputs]) or .f32 (raw
little-endian float32). It prints the time and energy of the runs and, for labelled examples,
the share whose largest output is their label.

--weights reads the weights.json that panther train writes (the crossbar trainer's weights);
otherwise they are the model's (ONNX initializers) or drawn from --seed. --bias places the
biases as panther train --bias does: give the run's to compute as its crossbars did.

The examples are --data, labelled images: mnist, fashion-mnist, a CSV file (label, then the
pixels 0..255, one example per line), any dataset panther train reads (its training set, or its
test set with --test), or "synthetic"; pixels p become the values p/255. Or they are --input, a
float tensor: a NumPy .npy file (float32 or float64, C order) or raw little-endian float32
(.f32, with --shape), either one example of the model's input shape or [N, input shape...].
Its values become Q4.12 codes; values outside [-8, 8) saturate, and the count is printed.

Every example runs unless --examples takes the first N. A program holds at most --per-program
examples in the machine's shared memory (fewer where that many do not fit); more examples run as
several programs, one after another.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(out)
			if err != nil {
				return err
			}
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
			if examples < 0 {
				return fmt.Errorf("--examples %d: want 0 (all) or more", examples)
			}
			var ds compiler.Dataset
			if input != "" {
				if cmd.Flags().Changed("data") || useTest {
					return fmt.Errorf("--input %s: give either --input or --data (and --test), not both", input)
				}
				var saturated int
				if ds, saturated, err = tensorData(input, shape, m.Net); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d example(s), %d value(s) saturated to Q4.12's range [-8, 8)\n", input, len(ds.Inputs), saturated)
			} else {
				if shape != "" {
					return fmt.Errorf("--shape %s: it gives the shape of an --input .f32 file", shape)
				}
				if ds, err = inferenceData(dataName, useTest, m.Net, examples, seed); err != nil {
					return err
				}
			}
			if examples > 0 {
				if examples > len(ds.Inputs) {
					return fmt.Errorf("--examples %d: the data holds %d", examples, len(ds.Inputs))
				}
				ds.Inputs, ds.Labels = ds.Inputs[:examples], ds.Labels[:min(examples, len(ds.Labels))]
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			inf, err := infer(ctx, a, m, ds, perProgram, seed, bias, newProgress(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			if err := atomicfile.Write(out, func(w io.Writer) error { return inf.write(w, format, m.Net.Output()) }); err != nil {
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
	archNameFlag(f, &archName)
	f.StringVar(&weights, "weights", "", "weights.json written by panther train")
	f.StringVar(&dataName, "data", "mnist", `labelled examples: mnist, fashion-mnist, a CSV file, a dataset as panther train reads it, or "synthetic"`)
	f.StringVar(&input, "input", "", "float examples instead of --data: a .npy file, or raw float32 (.f32) with --shape")
	f.StringVar(&shape, "shape", "", "shape of an --input .f32 file, comma-separated (default: [N, the model's input shape])")
	f.BoolVar(&useTest, "test", false, "take the examples from the data's test set")
	f.IntVar(&examples, "examples", 0, "run the first N examples (0: all)")
	f.IntVar(&perProgram, "per-program", 32, "examples one program holds")
	f.Uint64Var(&seed, "seed", 1, "seed of drawn weights, synthetic data and the machine's random streams")
	biasFlag(f, &bias)
	f.StringVarP(&out, "output", "o", "runs/infer/outputs.csv", "file for the outputs: .csv, .npy or .f32")
	f.StringVar(&jsonOut, "json", "", "also write the simulator's reports (one per program) as JSON")
	root.AddCommand(cmd)
}

// syntheticExamples is how many examples --data synthetic draws unless
// --examples says.
const syntheticExamples = 64

// inferenceData returns the first n examples (0: all) of an image set (its
// test set if test), of a CSV file, or synthetic ones.
func inferenceData(name string, test bool, net *model.Network, n int, seed uint64) (compiler.Dataset, error) {
	if name == "synthetic" {
		cfg := compiler.DefaultConfig()
		cfg.Data, cfg.Seed = name, seed
		if n == 0 {
			n = syntheticExamples
		}
		return compiler.LoadData(cfg, net, n)
	}
	first := func(set *data.Set, name string) (compiler.Dataset, error) {
		if n == 0 {
			return compiler.DatasetFrom(set, name, net, set.Len())
		}
		return compiler.DatasetFrom(set, name, net, n)
	}
	if strings.EqualFold(filepath.Ext(name), ".csv") && !strings.Contains(name, ":") {
		if test {
			return compiler.Dataset{}, fmt.Errorf("--test: %s is one file, not a dataset with a test set", name)
		}
		set, err := data.ReadCSVFile(name)
		if err != nil {
			return compiler.Dataset{}, err
		}
		return first(set, name)
	}
	trainSet, testSet, err := data.Load(name)
	if err != nil {
		return compiler.Dataset{}, err
	}
	if test {
		return first(testSet, name+" (test set)")
	}
	return first(trainSet, name)
}

// tensorData reads a float tensor of examples: a .npy file, or raw float32
// (.f32) of the given shape ("" for [N, the model's input shape]).
func tensorData(path, shape string, net *model.Network) (compiler.Dataset, int, error) {
	var t data.Tensor
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".npy":
		if shape != "" {
			return compiler.Dataset{}, 0, fmt.Errorf("--shape %s: a .npy file gives its own shape", shape)
		}
		var err error
		if t, err = data.ReadNPYFile(path); err != nil {
			return compiler.Dataset{}, 0, err
		}
	case ".f32":
		values, err := data.ReadF32File(path)
		if err != nil {
			return compiler.Dataset{}, 0, err
		}
		t.Values = values
		if shape == "" {
			size := net.Input.Size()
			if len(values)%size != 0 {
				return compiler.Dataset{}, 0, fmt.Errorf("%s: %d values are not a whole number of examples of %d (model %s's input %s); give --shape", path, len(values), size, net.Name, net.Input)
			}
			t.Shape = append([]int{len(values) / size}, net.Input...)
		} else {
			if t.Shape, err = intList("shape", shape); err != nil {
				return compiler.Dataset{}, 0, err
			}
			if n := model.Shape(t.Shape).Size(); n != len(values) {
				return compiler.Dataset{}, 0, fmt.Errorf("%s: --shape %s calls for %d values, but the file holds %d", path, shape, n, len(values))
			}
		}
	default:
		return compiler.Dataset{}, 0, fmt.Errorf("--input %s: want a .npy file or raw float32 (.f32)", path)
	}
	return compiler.DatasetFromTensor(t, path, net)
}

// outputFormat is the form -o's extension names.
func outputFormat(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv", ".npy", ".f32":
		return ext, nil
	}
	return "", fmt.Errorf("-o %s: want a .csv, .npy or .f32 file", path)
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
// prog shows the examples done.
func infer(ctx context.Context, a *arch.Arch, m compiler.Model, ds compiler.Dataset, perProgram int, seed uint64, bias model.BiasPlacement, prog *progress) (*inference, error) {
	if perProgram < 1 || perProgram > compiler.MaxExamples {
		return nil, fmt.Errorf("--per-program %d: want 1 to %d", perProgram, compiler.MaxExamples)
	}
	inf := &inference{Labels: ds.Labels}
	bar := prog.bar("inference", "examples", len(ds.Inputs))
	defer prog.wait()
	defer bar.done()
	for lo := 0; lo < len(ds.Inputs); {
		res, err := compileInference(a, m, ds, lo, min(lo+perProgram, len(ds.Inputs)), seed, bias)
		for err != nil && perProgram > 1 {
			// The examples live in shared memory: fewer may fit.
			perProgram = (perProgram + 1) / 2
			res, err = compileInference(a, m, ds, lo, min(lo+perProgram, len(ds.Inputs)), seed, bias)
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
		bar.set(lo, fmt.Sprintf("%d program(s)", len(inf.Reports)))
	}
	inf.PerProgram = perProgram
	return inf, nil
}

// compileInference compiles examples lo..hi-1 of ds for inference.
func compileInference(a *arch.Arch, m compiler.Model, ds compiler.Dataset, lo, hi int, seed uint64, bias model.BiasPlacement) (*compiler.Result, error) {
	part := compiler.Dataset{Inputs: ds.Inputs[lo:hi]}
	if ds.Labels != nil {
		part.Labels = ds.Labels[lo:hi]
	}
	cfg := compiler.DefaultConfig()
	cfg.Examples, cfg.Seed, cfg.Bias = hi-lo, seed, bias
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

// write writes the outputs in format (.csv, .npy or .f32); the tensor
// forms have the shape [N, out...].
func (inf *inference) write(w io.Writer, format string, out model.Shape) error {
	if format == ".csv" {
		return inf.writeCSV(w)
	}
	t := data.Tensor{Shape: append([]int{len(inf.Outputs)}, out...)}
	for _, y := range inf.Outputs {
		for _, v := range y {
			t.Values = append(t.Values, fixed.Q4_12.Float(v))
		}
	}
	if format == ".npy" {
		return data.WriteNPY(w, t)
	}
	return data.WriteF32(w, t.Values)
}

// writeCSV writes one line per example: its label (where the examples have
// labels), the index of its largest output, then the outputs.
func (inf *inference) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"example", "label", "largest"}
	if inf.Labels == nil {
		header = slices.Delete(header, 1, 2)
	}
	for i := range inf.Outputs[0] {
		header = append(header, "y"+strconv.Itoa(i))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for ex, y := range inf.Outputs {
		rec := []string{strconv.Itoa(ex)}
		if inf.Labels != nil {
			rec = append(rec, strconv.Itoa(inf.Labels[ex]))
		}
		rec = append(rec, strconv.Itoa(largest(y)))
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
	if inf.Labels != nil {
		fmt.Fprintf(w, "largest output = label for %d of %d examples (%.1f%%)\n", inf.correct(), len(inf.Outputs), 100*float64(inf.correct())/n)
	}
}
