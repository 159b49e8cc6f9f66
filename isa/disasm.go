package isa

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// wordsPerLine is how many shared-memory words one .word line holds.
const wordsPerLine = 16

// Disassemble writes c as assembly that Assemble turns back into the same
// Code. Branch targets become labels named L<index>. It checks c first and
// writes nothing if c is not valid for a.
func Disassemble(w io.Writer, a Arch, c Code) error {
	if err := c.Validate(a); err != nil {
		return err
	}
	var b strings.Builder
	for i, t := range c.Tiles {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, ".tile %d\n", t.Tile)
		for _, s := range t.Data {
			fmt.Fprintf(&b, ".data %d\n", s.Addr)
			for start := 0; start < len(s.Words); start += wordsPerLine {
				words := s.Words[start:min(start+wordsPerLine, len(s.Words))]
				texts := make([]string, len(words))
				for j, v := range words {
					texts[j] = strconv.Itoa(int(v))
				}
				fmt.Fprintf(&b, ".word %s\n", strings.Join(texts, ", "))
			}
		}
		writeProgram(&b, a, t.Insts)
		for _, core := range t.Cores {
			fmt.Fprintf(&b, "\n.core %d\n", core.Core)
			writeProgram(&b, a, core.Insts)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeProgram writes one processor's instructions, with a label before
// every instruction that a branch targets.
func writeProgram(b *strings.Builder, a Arch, insts []Inst) {
	targets := map[int]bool{}
	for _, in := range insts {
		d := Lookup(in.Op)
		for i := range d.Fields {
			if f := &d.Fields[i]; f.Kind.syntax == synLabel {
				targets[f.get(&in)] = true
			}
		}
	}
	label := func(target int) string {
		if target > len(insts) { // past the end: no place for a label, keep the number
			return ""
		}
		return "L" + strconv.Itoa(target)
	}
	for i, in := range insts {
		if targets[i] {
			b.WriteString(label(i) + ":\n")
		}
		b.WriteString("\t" + formatInst(a, in, label) + "\n")
	}
	if targets[len(insts)] {
		b.WriteString(label(len(insts)) + ":\n")
	}
}

// Format writes one instruction as assembly, with numeric branch targets.
func Format(a Arch, in Inst) string { return formatInst(a, in, nil) }

// formatInst writes in as assembly; label, if not nil, names branch targets
// (an empty name keeps the number).
func formatInst(a Arch, in Inst, label func(target int) string) string {
	d := Lookup(in.Op)
	if d == nil {
		return fmt.Sprintf("# unknown opcode 0x%02x", uint8(in.Op))
	}
	var b strings.Builder
	b.WriteString(d.Name)
	sep := " "
	for i := range d.Fields {
		f := &d.Fields[i]
		v := f.get(&in)
		text := f.Kind.text(a, v)
		switch {
		case f.Kind.syntax == synOpName:
			b.WriteString(" " + text)
			continue
		case f.unused != nil && f.unused(in), f.Named && v == 0:
			continue
		case f.Named:
			text = f.Name + "=" + text
		case f.Kind.syntax == synLabel && label != nil:
			if name := label(v); name != "" {
				text = name
			}
		}
		b.WriteString(sep + text)
		sep = ", "
	}
	return b.String()
}
