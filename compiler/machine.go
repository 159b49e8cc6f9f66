package compiler

import (
	"fmt"
	"strings"

	"github.com/panther-xbar/panther/isa"
)

// machine executes programs for their control flow and shared-memory
// traffic: registers, addresses, loops, valid bits and reader counts, as
// package sim defines them (ld and st wait for whole ranges, a send reads
// its words once, initial data is never freed), so the compiler can run
// its own programs to order the transfers between tiles. Vector and
// crossbar instructions change no address or counter and are skipped, but
// advance the processor's clock, an estimate of when each event happens
// (nominal costs: the compiler knows no architecture's operation times),
// by which the schedule orders transfers that can both go.
type machine struct {
	a     isa.Arch
	tiles map[int]*mtile
	procs []*mproc
	// server, when set, is offered the machine whenever no processor can
	// progress; it reports whether it did anything.
	server func() bool
	// executed counts the instructions run; loaded and stored the words
	// cores moved through shared memory.
	executed, loaded, stored int64
}

type mtile struct {
	id      int
	mem     []int16
	readers []int16 // reads left; -1 for initial data, which reads never free
	at      []int64 // when each word last became valid or free (see clock)
	slots   map[int]*mmsg
	clock   int64 // the control unit's
}

type mmsg struct {
	target int
	data   []int16
}

type mproc struct {
	t      *mtile
	core   int // -1 for the tile's control unit
	insts  []isa.Inst
	pc     int
	halted bool
	regs   []int16
	// clock estimates when the processor gets here, in cycles of nominal
	// costs (mvmCycles, crsCycles, one per other instruction and per 16
	// words moved); it only orders the transfers (see schedule).
	clock int64
}

// Nominal operation times for the clock: the default presets' (see
// docs/simulator.md).
const (
	mvmCycles = 1800
	crsCycles = 10969
)

// latest is when the last of words [lo, hi) became valid or free.
func (t *mtile) latest(lo, hi int) int64 {
	var l int64
	for _, a := range t.at[lo:hi] {
		l = max(l, a)
	}
	return l
}

func newMachine(a isa.Arch) *machine { return &machine{a: a, tiles: map[int]*mtile{}} }

func (m *machine) tile(id int) *mtile {
	t := m.tiles[id]
	if t == nil {
		t = &mtile{id: id, mem: make([]int16, m.a.SharedWords), readers: make([]int16, m.a.SharedWords), at: make([]int64, m.a.SharedWords), slots: map[int]*mmsg{}}
		m.tiles[id] = t
	}
	return t
}

// load sets up a tile's initial data and its processors.
func (m *machine) load(tc isa.TileCode) {
	t := m.tile(tc.Tile)
	for _, s := range tc.Data {
		copy(t.mem[s.Addr:], s.Words)
		for i := range s.Words {
			t.readers[s.Addr+i] = -1
		}
	}
	if len(tc.Insts) > 0 {
		m.procs = append(m.procs, &mproc{t: t, core: -1, insts: tc.Insts})
	}
	for _, cc := range tc.Cores {
		m.procs = append(m.procs, &mproc{t: t, core: cc.Core, insts: cc.Insts, regs: make([]int16, m.a.RegisterSpace())})
	}
}

// run executes until every processor halts. A state in which nothing can
// progress is a deadlock, reported with what each processor waits for.
func (m *machine) run(limit int64) error {
	for {
		progress, live := false, false
		for _, p := range m.procs {
			for !p.halted {
				live = true
				ok, err := m.exec(p)
				if err != nil {
					return fmt.Errorf("tile %d core %d pc %d (%s): %w", p.t.id, p.core, p.pc, isa.Format(m.a, p.insts[p.pc]), err)
				}
				if !ok {
					break
				}
				progress = true
				if m.executed++; m.executed > limit {
					return fmt.Errorf("no end after %d instructions", limit)
				}
			}
		}
		if !live {
			return nil
		}
		if !progress && (m.server == nil || !m.server()) {
			return m.deadlock()
		}
	}
}

func (m *machine) deadlock() error {
	var b strings.Builder
	b.WriteString("deadlock: nothing can progress")
	for _, p := range m.procs {
		if p.halted {
			continue
		}
		in := p.insts[p.pc]
		fmt.Fprintf(&b, "\n  tile %d core %d pc %d: %s", p.t.id, p.core, p.pc, isa.Format(m.a, in))
		lo, n := -1, in.Width*in.Vec
		switch in.Op {
		case isa.OpLd:
			lo = int(uint16(p.regs[in.R1]))
		case isa.OpSt:
			lo = int(uint16(p.regs[in.D1]))
		}
		if lo >= 0 && lo+n <= len(p.t.readers) {
			fmt.Fprintf(&b, " (words %d..%d, reads left %v)", lo, lo+n-1, p.t.readers[lo:lo+n])
		}
	}
	return fmt.Errorf("%s", b.String())
}

func (t *mtile) valid(lo, hi int) bool { return t.firstInvalid(lo, hi) < 0 }

func (t *mtile) free(lo, hi int) bool { return t.firstUsed(lo, hi) < 0 }

// firstInvalid is the first word of [lo, hi) that is not valid, or -1.
func (t *mtile) firstInvalid(lo, hi int) int {
	for i := lo; i < hi; i++ {
		if t.readers[i] == 0 {
			return i
		}
	}
	return -1
}

// firstUsed is the first word of [lo, hi) that is not free, or -1.
func (t *mtile) firstUsed(lo, hi int) int {
	for i := lo; i < hi; i++ {
		if t.readers[i] != 0 {
			return i
		}
	}
	return -1
}

func (t *mtile) consume(dst []int16, lo, hi int, now int64) {
	copy(dst, t.mem[lo:hi])
	for i := lo; i < hi; i++ {
		if t.readers[i] > 0 {
			t.readers[i]--
			if t.readers[i] == 0 {
				t.at[i] = now
			}
		}
	}
}

func (t *mtile) fill(src []int16, lo, count int, now int64) {
	copy(t.mem[lo:], src)
	for i := range src {
		t.readers[lo+i] = int16(count)
		t.at[lo+i] = now
	}
}

// regsOK reports whether an instruction's register ranges lie in the
// register space (the isa checks only where each range starts).
func (m *machine) regsOK(in *isa.Inst) bool {
	space := m.a.RegisterSpace()
	in1 := func(r, n int) bool { return r >= 0 && r+n <= space }
	n := in.Width * in.Vec
	switch in.Op {
	case isa.OpLd:
		return in1(in.D1, n) && in1(in.R1, 1)
	case isa.OpSt:
		return in1(in.R1, n) && in1(in.D1, 1)
	case isa.OpCp:
		return in1(in.D1, in.Vec) && in1(in.R1, in.Vec)
	case isa.OpSet:
		return in1(in.D1, in.Vec)
	case isa.OpAlu, isa.OpAlui:
		return in1(in.D1, in.Vec) && in1(in.R1, in.Vec) && (in.Op == isa.OpAlui || in.Alu.Unary() || in1(in.R2, in.Vec))
	case isa.OpAluInt, isa.OpBeq:
		return in1(in.D1, 1) && in1(in.R1, 1) && in1(in.R2, 1)
	}
	return true
}

// exec runs p's current instruction; false means it must wait.
func (m *machine) exec(p *mproc) (bool, error) {
	in := &p.insts[p.pc]
	next := p.pc + 1
	if p.core >= 0 && !m.regsOK(in) {
		return false, fmt.Errorf("registers out of range")
	}
	switch in.Op {
	case isa.OpHlt, isa.OpHalt:
		p.halted = true
		return true, nil
	case isa.OpNop:
	case isa.OpJmp:
		next = in.Target
	case isa.OpBeq:
		if p.regs[in.R1] == p.regs[in.R2] {
			next = in.Target
		}
	case isa.OpSet:
		for i := range in.Vec {
			p.regs[in.D1+i] = int16(in.Imm)
		}
	case isa.OpCp:
		copy(p.regs[in.D1:in.D1+in.Vec], p.regs[in.R1:in.R1+in.Vec]) // copy handles overlap
	case isa.OpAluInt:
		x, y := p.regs[in.R1], p.regs[in.R2]
		var r int16
		switch in.Int {
		case isa.IntAdd:
			r = x + y
		case isa.IntSub:
			r = x - y
		case isa.IntMul:
			r = x * y
		case isa.IntDiv, isa.IntMod:
			if y == 0 {
				return false, fmt.Errorf("division by zero")
			}
			r = x / y
			if in.Int == isa.IntMod {
				r = x % y
			}
		}
		p.regs[in.D1] = r
	case isa.OpLd:
		n := in.Width * in.Vec
		lo := int(uint16(p.regs[in.R1]))
		if lo+n > m.a.SharedWords {
			return false, fmt.Errorf("load of words %d..%d past shared memory", lo, lo+n-1)
		}
		if !p.t.valid(lo, lo+n) {
			return false, nil
		}
		p.clock = max(p.clock, p.t.latest(lo, lo+n)) + int64(1+n/16)
		p.t.consume(p.regs[in.D1:in.D1+n], lo, lo+n, p.clock)
		m.loaded += int64(n)
	case isa.OpSt:
		n := in.Width * in.Vec
		lo := int(uint16(p.regs[in.D1]))
		if lo+n > m.a.SharedWords {
			return false, fmt.Errorf("store of words %d..%d past shared memory", lo, lo+n-1)
		}
		if !p.t.free(lo, lo+n) {
			return false, nil
		}
		p.clock = max(p.clock, p.t.latest(lo, lo+n)) + int64(1+n/16)
		p.t.fill(p.regs[in.R1:in.R1+n], lo, in.Counter, p.clock)
		m.stored += int64(n)
	case isa.OpSend:
		n := in.Width * in.Vec
		dst := m.tiles[in.Tile]
		if !p.t.valid(in.Addr, in.Addr+n) || dst.slots[p.t.id] != nil {
			return false, nil
		}
		msg := &mmsg{target: in.TargetAddr, data: make([]int16, n)}
		p.t.consume(msg.data, in.Addr, in.Addr+n, p.clock)
		dst.slots[p.t.id] = msg
	case isa.OpReceive:
		msg := p.t.slots[in.Tile]
		n := in.Width * in.Vec
		if msg == nil || !p.t.free(in.Addr, in.Addr+n) {
			return false, nil
		}
		if msg.target != in.Addr || len(msg.data) != n {
			return false, fmt.Errorf("the message from tile %d holds %d words for %d; this receive takes %d at %d", in.Tile, len(msg.data), msg.target, n, in.Addr)
		}
		p.t.fill(msg.data, in.Addr, in.Counter, p.clock)
		delete(p.t.slots, in.Tile)
	case isa.OpMvm:
		p.clock += mvmCycles - 1
	case isa.OpCrs:
		p.clock += crsCycles - 1
	case isa.OpAlu, isa.OpAlui:
	default:
		return false, fmt.Errorf("unknown opcode %v", in.Op)
	}
	p.pc = next
	p.clock++
	return true, nil
}
