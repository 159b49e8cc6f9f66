package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
)

var disasmOut string

var disasmCmd = &cobra.Command{
	Use:   "disasm PROG [-o FILE.s]",
	Short: "Disassemble a program container into assembly",
	Long: "disasm writes the code and initial shared memory of a program as assembly that `panther asm`\n" +
		"turns back into the same code. Weight images are listed in comments only.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		p, err := program.ReadFile(args[0])
		if err != nil {
			return err
		}
		write := func(w io.Writer) error {
			if _, err := io.WriteString(w, disasmHeader(args[0], p)); err != nil {
				return err
			}
			return isa.Disassemble(w, p.Arch, p.Code)
		}
		if disasmOut == "" {
			return write(cmd.OutOrStdout())
		}
		return atomicfile.Write(disasmOut, write)
	},
}

// disasmHeader is the comment block that opens a disassembly: where it came
// from, how to assemble it again, and the weight images it does not carry.
func disasmHeader(path string, p *program.Program) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# disassembled from %s (model %q)\n", path, p.Meta.Model)
	defaults := isa.DefaultArch()
	var flags []string
	for i, af := range archFlags(&p.Arch) {
		if *af.value != *archFlags(&defaults)[i].value {
			flags = append(flags, fmt.Sprintf("--%s %d", af.name, *af.value))
		}
	}
	if len(flags) > 0 {
		fmt.Fprintf(&b, "# assemble with: panther asm %s\n", strings.Join(flags, " "))
	}
	for _, w := range p.Weights {
		fmt.Fprintf(&b, "# weights: tile %d core %d u%d %dx%d eta=%g (not in the assembly)\n", w.Tile, w.Core, w.Unit, w.Rows, w.Cols, w.Eta)
	}
	b.WriteString("\n")
	return b.String()
}

func init() {
	disasmCmd.Flags().StringVarP(&disasmOut, "output", "o", "", "write the assembly here instead of to standard output")
	root.AddCommand(disasmCmd)
}
