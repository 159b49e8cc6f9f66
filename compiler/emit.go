package compiler

import (
	"fmt"

	"github.com/panther-xbar/panther/isa"
)

// prog builds the program of one core: a setup section that loads
// constants, then the body. Data registers are handed out by a bump
// allocator over the core's data memory; every instruction carries a note
// for the annotated assembly.
type prog struct {
	a      isa.Arch
	what   string // the core's role, for messages
	setup  []isa.Inst
	snotes []string
	body   []isa.Inst
	notes  []string
	labels []int // label -> body index (-1 until placed)
	fix    []int // body indices whose Target is a label number
	next   int   // next free data-memory word
	consts map[int16]int
	named  map[string]int
	err    error
}

func newProg(a isa.Arch, what string) *prog {
	return &prog{a: a, what: what, consts: map[int16]int{}, named: map[string]int{}}
}

// alloc reserves n data-memory words and returns the register address of
// the first. Running out is reported once, by finish.
func (p *prog) alloc(n int, what string) int {
	if p.next+n > p.a.RegisterWords && p.err == nil {
		p.err = doesNotFit("%s needs more than the %d words of core data memory (%s is the %d words that do not fit)", p.what, p.a.RegisterWords, what, n)
	}
	r := p.a.DataBase() + min(p.next, p.a.RegisterWords-1)
	p.next += n
	return r
}

// reg returns a register for a named scalar, allocating it on first use.
func (p *prog) reg(name string) int {
	if r, ok := p.named[name]; ok {
		return r
	}
	r := p.alloc(1, name)
	p.named[name] = r
	return r
}

// konst returns a register that holds v from the setup on.
func (p *prog) konst(v int) int {
	c := int16(v) // addresses above 32767 wrap to their 16-bit pattern
	if r, ok := p.consts[c]; ok {
		return r
	}
	r := p.alloc(1, "constant")
	p.consts[c] = r
	p.setup = append(p.setup, isa.Inst{Op: isa.OpSet, D1: r, Imm: int(c), Vec: 1})
	p.snotes = append(p.snotes, fmt.Sprintf("constant %d", v))
	return r
}

func (p *prog) emit(in isa.Inst, note string) {
	p.body = append(p.body, in)
	p.notes = append(p.notes, note)
}

func (p *prog) label() int {
	p.labels = append(p.labels, -1)
	return len(p.labels) - 1
}

func (p *prog) mark(l int) { p.labels[l] = len(p.body) }

func (p *prog) jmp(l int) {
	p.fix = append(p.fix, len(p.body))
	p.emit(isa.Inst{Op: isa.OpJmp, Target: l}, "")
}

func (p *prog) beq(r1, r2, l int, note string) {
	p.fix = append(p.fix, len(p.body))
	p.emit(isa.Inst{Op: isa.OpBeq, R1: r1, R2: r2, Target: l}, note)
}

// Shorthands for the instructions the generators use.

func (p *prog) set(d, v, vec int, note string) {
	p.emit(isa.Inst{Op: isa.OpSet, D1: d, Imm: int(int16(v)), Vec: vec}, note)
}

func (p *prog) setReg(d, v int, note string) { p.set(d, v, 1, note) }

func (p *prog) cp(d, r, n int, note string) {
	if n > 0 {
		p.emit(isa.Inst{Op: isa.OpCp, D1: d, R1: r, Vec: n}, note)
	}
}

func (p *prog) alu(op isa.AluOp, d, a, b, n int, note string) {
	in := isa.Inst{Op: isa.OpAlu, Alu: op, D1: d, R1: a, Vec: n}
	if !op.Unary() {
		in.R2 = b
	}
	p.emit(in, note)
}

func (p *prog) alui(op isa.AluOp, d, a, imm, n int, note string) {
	p.emit(isa.Inst{Op: isa.OpAlui, Alu: op, D1: d, R1: a, Imm: imm, Vec: n}, note)
}

func (p *prog) add(d, a, b int) {
	p.emit(isa.Inst{Op: isa.OpAluInt, Int: isa.IntAdd, D1: d, R1: a, R2: b}, "")
}

func (p *prog) intOp(op isa.IntOp, d, a, b int, note string) {
	p.emit(isa.Inst{Op: isa.OpAluInt, Int: op, D1: d, R1: a, R2: b}, note)
}

// addK adds the constant k to register r into d.
func (p *prog) addK(d, r, k int) {
	if k == 0 && d == r {
		return
	}
	p.add(d, r, p.konst(k))
}

// transfer splits n consecutive words into width x vec, plus a remainder.
func transfer(n int) (width, vec, rest int) {
	if n <= 16 {
		return n, 1, 0
	}
	return 16, n / 16, n % 16
}

// ld loads n words from the shared-memory address in addr into d onward.
func (p *prog) ld(d, addr, n int, note string) {
	w, v, rest := transfer(n)
	if n == 0 {
		return
	}
	p.emit(isa.Inst{Op: isa.OpLd, D1: d, R1: addr, Width: w, Vec: v}, note)
	if rest > 0 {
		t := p.reg("addr.rest")
		p.addK(t, addr, w*v)
		p.emit(isa.Inst{Op: isa.OpLd, D1: d + w*v, R1: t, Width: rest, Vec: 1}, note)
	}
}

// st stores n words from r onward at the shared-memory address in addr,
// valid for count reads.
func (p *prog) st(addr, r, n, count int, note string) {
	w, v, rest := transfer(n)
	if n == 0 {
		return
	}
	p.emit(isa.Inst{Op: isa.OpSt, D1: addr, R1: r, Counter: count, Width: w, Vec: v}, note)
	if rest > 0 {
		t := p.reg("addr.rest")
		p.addK(t, addr, w*v)
		p.emit(isa.Inst{Op: isa.OpSt, D1: t, R1: r + w*v, Counter: count, Width: rest, Vec: 1}, note)
	}
}

// loop runs body n times with a counter register; the counter counts up
// from 0 and body may read it.
func (p *prog) loop(n int, name string, body func(i int)) {
	switch {
	case n <= 0:
		return
	case n == 1:
		body(p.konst(0))
		return
	}
	i := p.reg("loop." + name)
	top, end := p.label(), p.label()
	p.setReg(i, 0, "loop "+name)
	p.mark(top)
	body(i)
	p.add(i, i, p.konst(1))
	p.beq(i, p.konst(n), end, "")
	p.jmp(top)
	p.mark(end)
}

// finish returns the setup followed by the body, branch targets resolved,
// and the notes; the program ends in hlt.
func (p *prog) finish() ([]isa.Inst, []string, error) {
	p.emit(isa.Inst{Op: isa.OpHlt}, "")
	if p.err != nil {
		return nil, nil, p.err
	}
	off := len(p.setup)
	insts := append(append([]isa.Inst(nil), p.setup...), p.body...)
	notes := append(append([]string(nil), p.snotes...), p.notes...)
	for _, k := range p.fix {
		in := &insts[off+k]
		in.Target = p.labels[in.Target] + off
	}
	if len(insts) > p.a.CoreInstMem {
		return nil, nil, doesNotFit("%s needs %d instructions; a core's instruction memory holds %d", p.what, len(insts), p.a.CoreInstMem)
	}
	return insts, notes, nil
}
