package sim

import (
	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/rng"
)

// core is one core: its register space (crossbar buffers, then data
// memory), its matrix units and its stream for rand_cmp.
type core struct {
	*proc
	regs  []int16
	units []*matrixUnit // nil where the program gave no weight image
	rand  *rng.Source
	// opA and opB hold operands that must be read before the result
	// overwrites them, and immediates spread over a vector.
	opA, opB []int16
}

// execCore runs one instruction of the core.
func (c *core) execCore(now int64) (int64, status) {
	s := c.s
	in := &c.insts[c.pc]
	switch in.Op {
	case isa.OpNop:
		c.pc++
		return now + 1, done
	case isa.OpHlt:
		if !s.opt.KeepUnits {
			s.releaseUnits(c)
		}
		return c.halt(now)
	case isa.OpJmp:
		c.pc = in.Target
		return now + 1 + branchPenalty, done
	case isa.OpBeq:
		s.regCharge(ClassControl, in.R1, 1, false, now)
		s.regCharge(ClassControl, in.R2, 1, false, now)
		if c.regs[in.R1] == c.regs[in.R2] {
			c.pc = in.Target
			return now + 1 + branchPenalty, done
		}
		c.pc++
		return now + 1, done
	case isa.OpSet:
		dst := c.regs[in.D1 : in.D1+in.Vec]
		for i := range dst {
			dst[i] = int16(in.Imm)
		}
		s.regCharge(ClassControl, in.D1, in.Vec, true, now)
		c.pc++
		return now + s.t.vectorCycles(in.Vec), done
	case isa.OpCp:
		copy(c.regs[in.D1:in.D1+in.Vec], c.regs[in.R1:in.R1+in.Vec]) // overlap moves as one block
		s.regCharge(ClassControl, in.R1, in.Vec, false, now)
		s.regCharge(ClassControl, in.D1, in.Vec, true, now)
		c.pc++
		return now + s.t.vectorCycles(in.Vec), done
	case isa.OpAlu, isa.OpAlui:
		return c.vector(now, in)
	case isa.OpAluInt:
		return c.integer(now, in)
	case isa.OpLd:
		return c.load(now, in)
	case isa.OpSt:
		return c.store(now, in)
	case isa.OpMvm:
		return c.mvm(now, in)
	case isa.OpCrs:
		return c.crs(now, in)
	}
	return c.fail(now, "%s is not a core instruction", in.Op) // New checks placement
}

// regRegion is one part of the register space and the component that
// holds it: crossbar input buffers, output buffers, data memory.
type regRegion struct {
	end             int
	id              arch.ComponentID
	readPJ, writePJ float64
}

func newRegRegions(a *arch.Arch) [3]regRegion {
	ia, comp := a.ISA(), &a.Components
	return [3]regRegion{
		{ia.XbarOut(0, isa.XbarMVM), arch.CompXbarInBuffer, comp.XbarInBuffer.AccessPJ(), comp.XbarInBuffer.WritePJ()},
		{ia.DataBase(), arch.CompXbarOutBuffer, comp.XbarOutBuffer.AccessPJ(), comp.XbarOutBuffer.WritePJ()},
		{ia.RegisterSpace(), arch.CompDataMemory, comp.DataMemory.AccessPJ(), comp.DataMemory.WritePJ()},
	}
}

// regCharge books n register words from address lo, read or written, at
// cycle t, to the components that hold them.
func (s *Sim) regCharge(c Class, lo, n int, write bool, t int64) {
	hi, start := lo+n, 0
	for i := range s.regions {
		r := &s.regions[i]
		if words := min(hi, r.end) - max(lo, start); words > 0 {
			pj := r.readPJ
			if write {
				pj = r.writePJ
			}
			s.book.add(c, r.id, float64(words)*pj, t, t+1)
		}
		start = r.end
	}
}

// laneCost is what one element of a vector operation costs: lane ops of the
// ALU by kind, transcendental evaluations, and passes over the vector
// (log_softmax and its derivative first reduce the vector, then map it).
type laneCost struct {
	other, mul, div, trans float64
	passes                 int64
}

var laneCosts = func() (t [isa.AluRandCmp + 1]laneCost) {
	for op := range t {
		t[op] = laneCost{other: 1, passes: 1}
	}
	t[isa.AluMul] = laneCost{mul: 1, passes: 1}
	t[isa.AluDiv] = laneCost{div: 1, passes: 1}
	for _, op := range []isa.AluOp{isa.AluSig, isa.AluTanh, isa.AluExp, isa.AluLog} {
		t[op] = laneCost{trans: 1, passes: 1}
	}
	t[isa.AluLogSoftmax] = laneCost{trans: 1, other: 1, passes: 2}
	t[isa.AluLogSoftmaxD] = laneCost{trans: 1, mul: 1, other: 1, passes: 2}
	return t
}()

// aluOps maps the instruction set's vector operations to package alu's, by
// name; both name every operation alike (TestEveryVectorOperationHasAnALUCounterpart).
var aluOps = func() (ops [isa.AluRandCmp + 1]alu.Op) {
	for i := range ops {
		ops[i], _ = alu.ParseOp(isa.AluOp(i).String())
	}
	return ops
}()

// operand returns the n registers from r, or a copy of them when the
// result, written from d, would overwrite them before they are read.
func (c *core) operand(r, n, d int, buf *[]int16) []int16 {
	src := c.regs[r : r+n]
	if r == d || r+n <= d || d+n <= r {
		return src // element i reads before element i is written
	}
	*buf = append((*buf)[:0], src...)
	return *buf
}

// vector runs alu or alui through package alu.
func (c *core) vector(now int64, in *isa.Inst) (int64, status) {
	s := c.s
	n, op := in.Vec, in.Alu
	a := c.operand(in.R1, n, in.D1, &c.opA)
	s.regCharge(ClassVector, in.R1, n, false, now)
	var b []int16
	switch {
	case in.Op == isa.OpAlui:
		c.opB = c.opB[:0]
		for range n {
			c.opB = append(c.opB, int16(in.Imm))
		}
		b = c.opB
	case !op.Unary():
		b = c.operand(in.R2, n, in.D1, &c.opB)
		s.regCharge(ClassVector, in.R2, n, false, now)
	}
	dst := c.regs[in.D1 : in.D1+n]
	events, err := alu.Apply(aluOps[op], dst, a, b, c.rand)
	if err != nil {
		return c.fail(now, "%v", err)
	}
	s.vecSat += int64(events)
	cost := laneCosts[op]
	end := now + s.t.vectorCycles(n)*cost.passes
	comp := &s.arch.Components
	va := &comp.VectorALU
	f := float64(n)
	s.book.add(ClassVector, arch.CompVectorALU, f*va.PJ(cost.other*va.DynamicMW+cost.mul*va.MulMW+cost.div*va.DivMW), now, end)
	s.book.add(ClassVector, arch.CompTranscendental, f*cost.trans*comp.Transcendental.AccessPJ(), now, end)
	s.regCharge(ClassVector, in.D1, n, true, end-1)
	c.pc++
	return end, done
}

// integer runs alu_int on 16-bit two's-complement words, wrapping.
func (c *core) integer(now int64, in *isa.Inst) (int64, status) {
	s := c.s
	a, b := c.regs[in.R1], c.regs[in.R2]
	va := &s.arch.Components.VectorALU
	pj := va.AccessPJ()
	var r int16
	switch in.Int {
	case isa.IntAdd:
		r = a + b
	case isa.IntSub:
		r = a - b
	case isa.IntMul:
		r, pj = a*b, va.PJ(va.MulMW)
	case isa.IntDiv, isa.IntMod:
		if b == 0 {
			return c.fail(now, "division by zero: r%d holds 0", in.R2-s.isa.DataBase())
		}
		r, pj = a/b, va.PJ(va.DivMW)
		if in.Int == isa.IntMod {
			r = a % b
		}
	default:
		return c.fail(now, "unknown integer operation %d", in.Int) // Check rejects it
	}
	c.regs[in.D1] = r
	s.book.add(ClassControl, arch.CompVectorALU, pj, now, now+1)
	s.regCharge(ClassControl, in.R1, 1, false, now)
	s.regCharge(ClassControl, in.R2, 1, false, now)
	s.regCharge(ClassControl, in.D1, 1, true, now)
	c.pc++
	return now + 1, done
}

// sharedRange reads the shared-memory address held in data register reg and
// checks that n words from it lie in shared memory.
func (c *core) sharedRange(reg, n int) (lo int, ok bool) {
	lo = int(uint16(c.regs[reg])) // addresses are unsigned 16-bit words
	return lo, lo+n <= c.s.isa.SharedWords
}

func (c *core) outside(now int64, reg, lo, n int) (int64, status) {
	a := c.s.isa
	return c.fail(now, "shared-memory words %d..%d lie outside shared memory (0..%d): r%d holds the address %d",
		lo, lo+n-1, a.SharedWords-1, reg-a.DataBase(), lo)
}

// load is ld: it waits until every word is valid, then reads them through
// the tile's port, counting one read of each.
func (c *core) load(now int64, in *isa.Inst) (int64, status) {
	s, t := c.s, c.tile
	n := in.Width * in.Vec
	lo, ok := c.sharedRange(in.R1, n)
	if !ok {
		return c.outside(now, in.R1, lo, n)
	}
	if w, latest := t.readable(lo, lo+n); w >= 0 {
		return c.block(waitInfo{kind: waitValid, on: t, lo: lo, hi: lo + n, word: w})
	} else if latest > now {
		return latest, sleep
	}
	acc := s.t.accesses(in.Width, in.Vec)
	end := t.access(now, acc)
	t.consume(c.regs[in.D1:in.D1+n], lo, lo+n, now)
	s.memoryCharge(ClassMemory, acc, false, now, end)
	s.regCharge(ClassMemory, in.R1, 1, false, now)
	s.regCharge(ClassMemory, in.D1, n, true, end-1)
	c.pc++
	return end, done
}

// store is st: it waits until every word is free, then writes them through
// the tile's port, valid with counter reads to come.
func (c *core) store(now int64, in *isa.Inst) (int64, status) {
	s, t := c.s, c.tile
	n := in.Width * in.Vec
	lo, ok := c.sharedRange(in.D1, n)
	if !ok {
		return c.outside(now, in.D1, lo, n)
	}
	if w := t.firstValid(lo, lo+n); w >= 0 {
		return c.block(waitInfo{kind: waitFree, on: t, lo: lo, hi: lo + n, word: w})
	}
	acc := s.t.accesses(in.Width, in.Vec)
	end := t.access(now, acc)
	t.fill(c.regs[in.R1:in.R1+n], lo, in.Counter, end)
	s.memoryCharge(ClassMemory, acc, true, now, end)
	s.regCharge(ClassMemory, in.D1, 1, false, now)
	s.regCharge(ClassMemory, in.R1, n, false, now)
	c.pc++
	return end, done
}
