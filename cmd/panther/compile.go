package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/program"
)

func init() {
	var (
		trainFile, out, asmFile, reportFile, archName string
		infer                                         bool
		settings                                      = map[string]*string{}
	)
	cmd := &cobra.Command{
		Use:   "compile MODEL (--train CONFIG | --infer) -o PROG [--emit-asm FILE] [--report FILE.json]",
		Short: "Compile a network into a PANTHER training (or inference) program",
		Long: `compile lowers a network to a program container for an architecture: MODEL is an ONNX
file (.onnx), a YAML model (.yaml) or a model preset (` + "`panther train --help`" + ` lists them).

A training program streams the configured examples through the forward pass, the loss, the
backward pass (MTVM on the same crossbars) and the weight updates (OPA), with CRS as the
variant requires. --train reads the training configuration (YAML: variant, batch, lr, loss,
crs_interval, bias, examples, seed, data, and the crossbar settings recorded for the run); the
flags below override its keys. Without a variant the architecture's is used.

data is synthetic, a CSV file (a path ending in .csv: label, then the values 0..255), or a
dataset (mnist, fashion-mnist, idx:..., csv:TRAIN.csv,TEST.csv) whose training set is used.

--infer builds a forward-only program over the configured examples, with the weights of the
model (ONNX initializers) or drawn from the seed.

The compile report (the loss and where it comes from, occupancy, program sizes, traffic,
utilisation) is printed, and written as JSON with --report; --emit-asm writes the program as annotated assembly that ` + "`panther asm`" + ` reads.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := arch.Load(archName)
			if err != nil {
				return err
			}
			cfg := compiler.DefaultConfig()
			cfg.Variant = a.Crossbar.Variant
			cfg.NoCRS = !a.HasCRS()
			if trainFile != "" {
				if cfg, err = compiler.ReadConfigFile(trainFile, cfg); err != nil {
					return err
				}
			} else if !infer {
				return fmt.Errorf("give a training configuration (--train CONFIG) or --infer")
			}
			for _, key := range compiler.ConfigKeys() {
				if f := flagName(key); cmd.Flags().Changed(f) {
					if err := cfg.Set(key, *settings[key]); err != nil {
						return fmt.Errorf("--%s: %w", f, err)
					}
				}
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			if !infer && cfg.Variant != a.Crossbar.Variant {
				return fmt.Errorf("the training configuration asks for the %v variant, but architecture %s has %v crossbars: choose an architecture with the same variant (presets panther-inplace, panther-accumulate, panther-pipelined)",
					cfg.Variant, a.Name, a.Crossbar.Variant)
			}
			m, err := compiler.LoadModel(args[0])
			if err != nil {
				return err
			}
			opt := compiler.Options{Infer: infer, Train: cfg}
			if infer {
				ds, err := compiler.LoadData(cfg, m.Net, cfg.Examples)
				if err != nil {
					return err
				}
				opt.Data = &ds
			}
			res, err := compiler.Compile(m, a.ISA(), opt)
			if err != nil {
				return err
			}
			if err := program.WriteFile(out, res.Program); err != nil {
				return err
			}
			if asmFile != "" {
				if err := atomicfile.Write(asmFile, res.WriteAsm); err != nil {
					return err
				}
			}
			if reportFile != "" {
				if err := atomicfile.Write(reportFile, res.Report.WriteJSON); err != nil {
					return err
				}
			}
			return res.Report.WriteText(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&trainFile, "train", "", "training configuration (YAML)")
	f.BoolVar(&infer, "infer", false, "build a forward-only program")
	f.StringVarP(&out, "output", "o", "", "program container to write")
	f.StringVar(&asmFile, "emit-asm", "", "also write the program as annotated assembly")
	f.StringVar(&reportFile, "report", "", "also write the compile report as JSON")
	archNameFlag(f, &archName)
	for _, key := range compiler.ConfigKeys() {
		settings[key] = f.String(flagName(key), "", "training setting "+key+" (overrides --train)")
	}
	_ = cmd.MarkFlagRequired("output")
	root.AddCommand(cmd)
}

// flagName is the command-line form of a configuration key.
func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }
