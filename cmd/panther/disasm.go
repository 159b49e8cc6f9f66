package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/program"
)

var disasmOut string

var disasmCmd = &cobra.Command{
	Use:   "disasm PROG [-o FILE.s]",
	Short: "Disassemble a program container into assembly",
	Long: "disasm writes a whole program as assembly: the architecture, model name and options, the code\n" +
		"and initial shared memory of every tile and core, and every weight image (see the container\n" +
		"directives in docs/isa.md). `panther asm` turns it back into the same file, byte for byte.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		p, err := program.ReadFile(args[0])
		if err != nil {
			return err
		}
		write := func(w io.Writer) error {
			if _, err := fmt.Fprintf(w, "# disassembled from %s\n", args[0]); err != nil {
				return err
			}
			return program.Disassemble(w, p)
		}
		if disasmOut == "" {
			return write(cmd.OutOrStdout())
		}
		return atomicfile.Write(disasmOut, write)
	},
}

func init() {
	disasmCmd.Flags().StringVarP(&disasmOut, "output", "o", "", "write the assembly here instead of to standard output")
	root.AddCommand(disasmCmd)
}
