package isa

import (
	"fmt"
	"strings"
)

// Markdown returns the instruction-set reference, docs/isa.md, generated
// from the table; a test keeps the committed file equal to it.
func Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	a := DefaultArch()

	p("# PANTHER instruction set")
	p("")
	p("<!-- Generated from the instruction table in isa/table.go by isa.Markdown;")
	p("     regenerate with: go test ./isa -run TestDocsUpToDate -update -->")
	p("")
	p("PANTHER extends PUMA's instruction set for training: `mvm` carries, for every matrix unit of a core,")
	p("three bits (MVM, MTVM, OPA), so one instruction can run a forward pass on one unit, a backward pass")
	p("on another and a weight update on a third, and `crs` runs carry resolution on the units it names.")
	p("Cores run core instructions; each tile's control unit runs tile instructions (`send`, `receive`, `halt`).")
	p("The number of matrix units per core (`MatrixUnits`, default %d, at most %d) and the other sizes below", a.MatrixUnits, MaxMatrixUnits)
	p("are parameters of the architecture (`isa.Arch`); operand ranges depend on them.")
	p("")
	p("| mnemonic | runs on | unit | opcode | meaning |")
	p("|---|---|---|---|---|")
	for _, d := range table {
		p("| [`%s`](#%s) | %s | %s | 0x%02x | %s |", d.Name, d.Name, d.Proc, d.Unit, uint8(d.Op), firstSentence(d.Meaning))
	}
	p("")

	p("## Encoding")
	p("")
	p("Every instruction is one %d-bit word, stored most significant byte first. Bits %d..%d (byte 0) hold", WordBits, WordBits-1, opcodeLSB)
	p("the opcode; the operands follow from bit %d down, in the order they are written in assembly, each", opcodeLSB-1)
	p("with the width of its kind below. The bits below the last operand are reserved and must be 0.")
	p("Signed operands are two's complement. Opcode 0 is not an instruction, so zeroed memory never")
	p("decodes. The encoder and the decoder check every operand against the architecture; the decoder")
	p("also rejects unknown opcodes and set reserved bits.")
	p("")
	p("| kind | bits | valid values and syntax |")
	p("|---|---|---|")
	for _, k := range kindsInUse() {
		p("| %s | %d | %s |", k.Name, k.Bits, k.Doc)
	}
	p("")

	p("## Register address space")
	p("")
	p("Core operands address one 16-bit word space: the crossbar buffers of every matrix unit, then the data")
	p("memory. With S = `CrossbarSize` and U = `MatrixUnits`, unit m (0 <= m < U) and k = 0 (mvm), 1 (mtvm), 2 (opa):")
	p("")
	p("| addresses | assembly | holds |")
	p("|---|---|---|")
	p("| (3m+k)·S .. (3m+k)·S+S-1 | `xinm.mvm`, `xinm.mtvm`, `xinm.opa` | inputs: MVM input, MTVM input, OPA row input |")
	p("| 3U·S + (3m+k)·S .. +S-1 | `xoutm.mvm`, `xoutm.mtvm`, `xoutm.opa` | MVM output, MTVM output, OPA column input |")
	p("| 6U·S + n, n < `RegisterWords` | `rn` | data memory word n |")
	p("")
	p("Any of these names may carry `+offset` (`xin0.mvm+16`); a plain number is the address itself.")
	p("With the defaults (U = %d, S = %d, %d data words):", a.MatrixUnits, a.CrossbarSize, a.RegisterWords)
	p("")
	p("| name | first address | last address |")
	p("|---|---|---|")
	for m := range a.MatrixUnits {
		for k := XbarMVM; k <= XbarOPA; k++ {
			p("| `xin%d.%s` | %d | %d |", m, k, a.XbarIn(m, k), a.XbarIn(m, k)+a.CrossbarSize-1)
		}
	}
	for m := range a.MatrixUnits {
		for k := XbarMVM; k <= XbarOPA; k++ {
			p("| `xout%d.%s` | %d | %d |", m, k, a.XbarOut(m, k), a.XbarOut(m, k)+a.CrossbarSize-1)
		}
	}
	p("| `r0` .. `r%d` | %d | %d |", a.RegisterWords-1, a.DataBase(), a.RegisterSpace()-1)
	p("")
	p("Tile shared memory (`SharedWords` 16-bit words, default %d) is separate; `ld` and `st` reach it through", a.SharedWords)
	p("an address held in a data register, `send` and `receive` name it directly. Tiles are numbered across")
	p("all nodes: tile t is on node t / `TilesPerNode`.")
	p("")

	p("## Assembly language")
	p("")
	p("One instruction, label or directive per line; `#` or `;` starts a comment. Operands are separated by")
	p("commas; an operation name (`alu add`) follows its mnemonic without one.")
	p("")
	p("| syntax | meaning |")
	p("|---|---|")
	p("| `.tile T` | start the code of tile T's control unit; `.data` and `.core` lines below belong to tile T |")
	p("| `.core C` | start the code of core C of the current tile |")
	p("| `.const NAME = value` | a named constant, usable in any later value |")
	p("| `.data ADDR` | start initial shared-memory contents of the current tile at ADDR |")
	p("| `.word v, v, ...` | append 16-bit words (-32768..32767) to the last `.data` |")
	p("| `name:` | a label: the index of the next instruction of this section, for `jmp` and `beq` |")
	p("| `a + b - c`, `(...)` | values: numbers (`12`, `0x1f`, `0b101`), constants, register names and labels |")
	p("| `u0:mvm+opa, u1:mtvm` | an `mvm` mask: per unit, its operations joined by `+` |")
	p("| `u0, u1` | a `crs` mask |")
	p("| `shift=1, seg=9` | named operands, written after the others; left out means 0 |")
	p("")
	p("Each tile and core section appears once; labels are local to their section. The assembler reports")
	p("errors as `file:line:col: message`, up to %d per run, and keeps going after each. The disassembler", MaxErrors)
	p("writes the same language, naming branch targets `L<index>`, and its output assembles to the same")
	p("words. Example:")
	p("")
	p("```")
	b.WriteString(docExample)
	p("```")
	p("")
	p("Errors read like `bad.s:3:7: matrix unit u5 does not exist: ...`, one per line.")
	p("")
	p("### Container directives")
	p("")
	p("`panther asm` and `panther disasm` (package `program`) also read and write what a program container")
	p("holds besides code, so that disassembling a container and assembling the text gives the same file,")
	p("byte for byte. Strings are quoted as in Go (`\"a\\\"b\"`); each line may appear anywhere in the file.")
	p("")
	p("| syntax | meaning |")
	p("|---|---|")
	p("| `.arch nodes=N, tiles-per-node=N, cores=N, units=N, xbar=N, registers=N, shared=N, tile-imem=N, core-imem=N` | the architecture, all nine parameters (the `--arch-*` flags otherwise; a file with `.arch` refuses flags that disagree) |")
	p("| `.model \"name\"` | the model name (otherwise `--model` or the file's name; a file with `.model` refuses a `--model` that differs) |")
	p("| `.option \"key\", \"value\"` | one metadata option; a file with `.model` or `.option` lines has exactly these options |")
	p("| `.weights tile=T, core=C, unit=U, rows=R, cols=K, eta=E[, layer=L, block=B]` | the initial weight image of a matrix unit: R x K Q4.12 codes (rows are MVM inputs), eta the OPA multiplier; images in increasing (tile, core, unit) order. `layer` and `block` (together) give the image's origin when it was compiled from a model: block B (row-major) of the crossbar tiles of layer L's cell matrix; the simulator seeds the unit and draws its devices by it, as the trainer does for that block (docs/devices.md) |")
	p("| `.order r, r, ...` | with an origin: the block row each crossbar row holds, in crossbar row order, when the compiler ordered the block's rows its own way (none: block order) |")
	p("| `.codes v, v, ...` | the next codes of the last `.weights`, row-major; `disasm` writes one line per row |")
	p("")
	p("A file with no `.tile` section and no container directive (empty, or only comments and constants) is")
	p("refused: `x.s:1:1: nothing to assemble: the file has no .tile section and no container directive ...`.")
	p("A container whose weight image claims more codes than the file holds, or a shape beyond the crossbar, is")
	p("refused when read, naming the image and offset: `x.prog: program: section WGHT, image 0 (tile 0 core 1")
	p("unit 1), offset 120: shape 4294836226x2147549185 does not fit a 128x128 crossbar`.")
	p("")

	p("## Vector operations")
	p("")
	p("`alu` and `alui` operate on Q4.12 codes with round-half-away rounding and saturation; a is the element at")
	p("r1, b the element at r2 (or `imm`). Comparisons give 1.0 (code 4096) or 0. The code is the value of")
	p("the op field.")
	p("")
	p("| name | code | operands | alui | meaning |")
	p("|---|---|---|---|---|")
	for i, o := range aluOps {
		operands, imm := "a, b", ""
		if o.unary {
			operands = "a"
		}
		if o.imm {
			imm = "yes"
		}
		p("| `%s` | %d | %s | %s | %s |", o.name, i, operands, imm, o.meaning)
	}
	p("")
	p("## Integer operations")
	p("")
	p("`alu_int` works on 16-bit two's-complement words and wraps.")
	p("")
	p("| name | code | meaning |")
	p("|---|---|---|")
	for i, o := range intOps {
		p("| `%s` | %d | %s |", o.name, i, o.meaning)
	}
	p("")

	p("## Instructions")
	for _, d := range table {
		p("")
		p("### %s", d.Name)
		p("")
		p("`%s` — runs on a %s, %s unit, opcode 0x%02x.", d.usage(nil), d.Proc, d.Unit, uint8(d.Op))
		p("")
		p("%s", d.Meaning)
		p("")
		if len(d.Fields) > 0 {
			p("| operand | kind | bits | meaning |")
			p("|---|---|---|---|")
			for _, f := range d.Fields {
				p("| %s | %s | %d..%d | %s |", f.Name, f.Kind.Name, f.lsb+f.Kind.Bits-1, f.lsb, f.Doc)
			}
			p("")
		}
		p("Layout: %s", layout(&d))
	}
	return b.String()
}

// layout writes a row's bit layout, high bits first.
func layout(d *Def) string {
	parts := []string{fmt.Sprintf("`%d..%d` opcode 0x%02x", WordBits-1, opcodeLSB, uint8(d.Op))}
	low := opcodeLSB
	for _, f := range d.Fields {
		parts = append(parts, fmt.Sprintf("`%d..%d` %s", f.lsb+f.Kind.Bits-1, f.lsb, f.Name))
		low = f.lsb
	}
	parts = append(parts, fmt.Sprintf("`%d..0` reserved", low-1))
	return strings.Join(parts, " · ")
}

// kindsInUse lists the kinds the table uses, in order of first use.
func kindsInUse() []*Kind {
	var kinds []*Kind
	seen := map[*Kind]bool{}
	for _, d := range table {
		for _, f := range d.Fields {
			if !seen[f.Kind] {
				seen[f.Kind] = true
				kinds = append(kinds, f.Kind)
			}
		}
	}
	return kinds
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// docExample is the example in docs/isa.md; a test assembles it.
const docExample = `.const IN = 0          # shared-memory address of the input
.tile 0
.data IN
.word 4096, -2048, 1024
	halt
.core 0
	set r0, IN, 1
	ld xin0.mvm, r0, 3, 1
loop:
	mvm u0:mvm, u1:mtvm+opa
	alu sig r16, xout0.mvm, 3
	beq r1, r2, loop
	hlt
`
