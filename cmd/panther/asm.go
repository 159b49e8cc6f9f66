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
		"tile and core, the initial shared memory and, from the container directives (.arch, .model,\n" +
		".option, .weights, .codes) that `panther disasm` writes, the architecture, metadata and weight\n" +
		"images, so that disassembling a program and assembling the result gives the same file. Without\n" +
		".arch the --arch-* flags set the architecture (default PANTHER's); a file with .arch refuses\n" +
		"flags that disagree, and one with .model a --model that does. Without .model the model is\n" +
		"--model or the file's name; without .model and .option the options record the source file.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		path := args[0]
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		model := asmOpts.model
		if model == "" {
			model = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		def := program.AsmDefaults{
			Arch:       asmOpts.arch,
			Meta:       program.Meta{Model: model, Options: map[string]string{"source": filepath.Base(path)}},
			ModelFixed: asmOpts.model != "",
		}
		for _, af := range archFlags(&asmOpts.arch) {
			def.ArchFixed = def.ArchFixed || cmd.Flags().Changed(af.name)
		}
		p, err := program.Assemble(path, src, def)
		var list isa.ErrorList
		if errors.As(err, &list) {
			fmt.Fprintln(cmd.ErrOrStderr(), list.Error())
			return fmt.Errorf("%s: assembly failed", path)
		}
		if err != nil {
			return err
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

// archFlags lists the flags of every Arch parameter, bound to a: --arch-
// and the name the .arch directive uses.
func archFlags(a *isa.Arch) []archFlag {
	var flags []archFlag
	for _, ap := range program.ArchParams(a) {
		flags = append(flags, archFlag{"arch-" + ap.Name, ap.Value, ap.Usage})
	}
	return flags
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
