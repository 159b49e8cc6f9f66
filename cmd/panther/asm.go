package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
)

var asmOpts struct {
	out   string
	model string
	arch  isa.Arch
}

var asmCmd = &cobra.Command{
	Use:   "asm FILE.s -o PROG",
	Short: "Assemble a PANTHER assembly file into a program container",
	Long: "asm translates assembly (see docs/isa.md) into a program container holding the code of every\n" +
		"tile and core and the initial shared memory. The --arch-* flags set the architecture the code\n" +
		"is checked against and recorded for; they default to PANTHER's.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		path := args[0]
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		code, err := isa.Assemble(asmOpts.arch, path, src)
		var list isa.ErrorList
		if errors.As(err, &list) {
			fmt.Fprintln(cmd.ErrOrStderr(), list.Error())
			return fmt.Errorf("%s: assembly failed", path)
		}
		if err != nil {
			return err
		}
		model := asmOpts.model
		if model == "" {
			model = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		p := &program.Program{
			Arch: asmOpts.arch,
			Code: code,
			Meta: program.Meta{Model: model, Options: map[string]string{"source": filepath.Base(path)}},
		}
		return program.WriteFile(asmOpts.out, p)
	},
}

// archFlag ties an Arch parameter to its command-line flag.
type archFlag struct {
	name  string
	value *int
	usage string
}

// archFlags lists the flags of every Arch parameter, bound to a.
func archFlags(a *isa.Arch) []archFlag {
	return []archFlag{
		{"arch-nodes", &a.Nodes, "nodes"},
		{"arch-tiles-per-node", &a.TilesPerNode, "tiles per node"},
		{"arch-cores", &a.CoresPerTile, "cores per tile"},
		{"arch-units", &a.MatrixUnits, "matrix units per core"},
		{"arch-xbar", &a.CrossbarSize, "crossbar rows and columns"},
		{"arch-registers", &a.RegisterWords, "words of core data memory"},
		{"arch-shared", &a.SharedWords, "16-bit words of tile shared memory"},
		{"arch-tile-imem", &a.TileInstMem, "tile instruction memory entries"},
		{"arch-core-imem", &a.CoreInstMem, "core instruction memory entries"},
	}
}

func init() {
	f := asmCmd.Flags()
	f.StringVarP(&asmOpts.out, "output", "o", "", "program file to write (required)")
	f.StringVar(&asmOpts.model, "model", "", "model name recorded in the metadata (default: the source file's name)")
	defaults := isa.DefaultArch()
	for i, af := range archFlags(&asmOpts.arch) {
		f.IntVar(af.value, af.name, *archFlags(&defaults)[i].value, af.usage)
	}
	if err := asmCmd.MarkFlagRequired("output"); err != nil {
		panic(err) // the flag is defined just above
	}
	root.AddCommand(asmCmd)
}
