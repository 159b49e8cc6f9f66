package compiler

import (
	"bufio"
	"fmt"
	"io"

	"github.com/panther-xbar/panther/isa"
)

// WriteAsm writes the program as annotated assembly: every tile's initial
// data, control program and core programs, each instruction with the note
// the compiler gave it. Branch targets are instruction numbers, which the
// assembler reads back into the same program (a test checks it).
func (r *Result) WriteAsm(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := r.Program
	fmt.Fprintf(bw, "# %s, compiled by panther compile\n", p.Meta.Model)
	for _, t := range p.Code.Tiles {
		fmt.Fprintf(bw, "\n.tile %d\n", t.Tile)
		for _, s := range t.Data {
			fmt.Fprintf(bw, ".data %d\n", s.Addr)
			for i := 0; i < len(s.Words); i += 16 {
				bw.WriteString(".word ")
				for k, v := range s.Words[i:min(i+16, len(s.Words))] {
					if k > 0 {
						bw.WriteString(", ")
					}
					fmt.Fprint(bw, v)
				}
				bw.WriteByte('\n')
			}
		}
		writeInsts(bw, p.Arch, t.Insts, r.Notes[t.Tile][-1])
		for _, c := range t.Cores {
			fmt.Fprintf(bw, ".core %d\n", c.Core)
			writeInsts(bw, p.Arch, c.Insts, r.Notes[t.Tile][c.Core])
		}
	}
	return bw.Flush()
}

func writeInsts(w *bufio.Writer, a isa.Arch, insts []isa.Inst, notes []string) {
	for i, in := range insts {
		line := fmt.Sprintf("\t%-40s # %d", isa.Format(a, in), i)
		if i < len(notes) && notes[i] != "" {
			line += ": " + notes[i]
		}
		w.WriteString(line + "\n")
	}
}
