package sim

import (
	"fmt"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/isa"
)

// timing holds the latencies of the architecture in cycles.
type timing struct {
	lanes          int
	wordsPerAccess int   // 16-bit words one shared-memory access moves
	edram          int64 // one shared-memory access
	product        int64 // one MVM or MTVM
	update         int64 // one OPA
	crs            int64
	flitBits       int
}

func newTiming(a *arch.Arch) timing {
	o, s := a.Ops, a.Structure
	t := timing{
		lanes:          s.VectorLanes,
		wordsPerAccess: s.BusBits / fixed.Width,
		edram:          max(1, a.Cycles(a.Components.EDRAM.LatencyNS)),
		crs:            a.Cycles(max(o.SerialRead.LatencyNS, o.SerialWrite.LatencyNS)),
		flitBits:       s.FlitBits,
	}
	if o.MVM.Mechanism == arch.MVMAnalog {
		// The bit-serial pipeline: one input bit enters per step; a step
		// lasts as long as the slower of the crossbar read and the ADC.
		step := max(o.MVM.LatencyNS, a.Components.ADC.LatencyNS)
		t.product = a.Cycles(step * float64(fixed.Width+o.MVM.PipelineStages-1))
	} else {
		t.product = a.Cycles(o.MVM.LatencyNS)
	}
	u := o.Update
	switch u.Mechanism {
	case arch.UpdateCrossbar:
		t.update = a.Cycles(u.LatencyNS * float64(u.Phases*perBitSteps(u)))
	case arch.UpdateDigital:
		t.update = a.Cycles(u.LatencyNS + o.SerialWrite.LatencyNS)
	case arch.UpdateSerial:
		t.update = a.Cycles(u.LatencyNS)
	case arch.UpdateSRAM:
		t.update = a.Cycles(u.LatencyNS + o.SRAMWrite.LatencyNS)
	}
	return t
}

// perBitSteps is 16 when an in-crossbar OPA streams its input bits one at a
// time in each phase, else 1.
func perBitSteps(u arch.UpdateOp) int {
	if u.PerBit {
		return fixed.Width
	}
	return 1
}

// vectorCycles is the time of an operation on n elements: the lanes take
// one element each per cycle.
func (t *timing) vectorCycles(n int) int64 { return int64((n + t.lanes - 1) / t.lanes) }

// accesses is the number of shared-memory accesses of vec repeats of width
// words: each repeat is one bus transfer of up to wordsPerAccess words.
func (t *timing) accesses(width, vec int) int {
	return vec * ((width + t.wordsPerAccess - 1) / t.wordsPerAccess)
}

type procState uint8

const (
	ready   procState = iota // queued, or running
	blocked                  // waits for a word, a slot or a freed slot
	halted
)

// status is how an instruction attempt ended.
type status uint8

const (
	done  status = iota // executed; the next instruction may start at the returned time
	sleep               // retry this instruction at the returned time
	wait                // blocked: whatever it waits for wakes it
	stop                // halted, or the run stopped
)

// branchPenalty is the cost of a taken branch: it resolves in execute, so
// the two instructions fetched behind it are discarded.
const branchPenalty = 2

// proc is what cores and tile control units share: a program, a program
// counter, and the bookkeeping of waiting and time.
type proc struct {
	s     *Sim
	id    int // component id: the tie-break between simultaneous events
	tile  *tile
	core  int // -1 for the control unit
	insts []isa.Inst
	pc    int
	state procState
	wait  waitInfo
	exec  func(now int64) (int64, status)
	// imem is the instruction memory fetched from; imemPJ one fetch.
	imem   arch.ComponentID
	imemPJ float64

	attempt  int64 // when the current instruction was first ready
	haltAt   int64
	busy     int64 // cycles spent executing
	stall    int64 // cycles spent waiting
	executed int64
}

// run executes instructions from cycle now while this proc is the earliest
// thing to happen; then it queues itself, waits or halts.
func (p *proc) run(now int64) {
	s := p.s
	for {
		in := &p.insts[p.pc]
		pc := p.pc
		next, st := p.exec(now)
		switch st {
		case sleep:
			s.eng.push(next, p.id)
			return
		case wait, stop:
			return
		}
		p.stall += now - p.attempt
		p.busy += next - now
		p.attempt = next
		p.executed++
		s.tick(in.Op)
		s.book.add(ClassControl, p.imem, p.imemPJ, now, now+1)
		if s.trace != nil {
			fmt.Fprintf(s.trace, "%d\t%s\tpc %d\t%d cycles\t%s\n", now, where(p.tile.id, p.core), pc, next-now, isa.Format(s.isa, *in))
		}
		switch {
		case p.state == halted:
			p.haltAt = next
			return
		case s.err != nil:
			return
		case p.pc >= len(p.insts):
			p.pc = pc // the last instruction, which fell through
			p.fail(next, "execution ran past the last instruction (%d); end the program with %s", len(p.insts)-1, p.haltName())
			return
		case next > s.opt.MaxCycles:
			s.stopAtLimit()
			return
		case !s.eng.first(next, p.id):
			s.eng.push(next, p.id)
			return
		}
		now = next
		s.eng.now = now
	}
}

func (p *proc) haltName() string {
	if p.core < 0 {
		return "halt"
	}
	return "hlt"
}

// halt stops the proc at the end of cycle now.
func (p *proc) halt(now int64) (int64, status) {
	p.state = halted
	return now + 1, done
}

// fail stops the run with a runtime error at the current instruction.
func (p *proc) fail(now int64, format string, args ...any) (int64, status) {
	p.s.stop(now, &RuntimeError{
		Tile: p.tile.id, Core: p.core, PC: p.pc, Cycle: now,
		Inst: isa.Format(p.s.isa, p.insts[p.pc]),
		Msg:  fmt.Sprintf(format, args...),
	})
	return now, stop
}

// waitKind is what a blocked proc waits for.
type waitKind uint8

const (
	waitValid    waitKind = iota // shared-memory words to become valid
	waitFree                     // shared-memory words to be read out
	waitArrival                  // a message in a receive-buffer slot
	waitSlotFree                 // a receive-buffer slot to be emptied
)

type waitInfo struct {
	kind   waitKind
	on     *tile // the tile whose memory or slot it waits on
	lo, hi int   // words [lo, hi) of the access
	word   int   // the first word that held it up
	sender int   // the slot's sending tile
}

// block parks p on tile on until a wake that matches w.
func (p *proc) block(w waitInfo) (int64, status) {
	p.state = blocked
	p.wait = w
	w.on.blocked = append(w.on.blocked, p)
	return 0, wait
}

// wakeIf queues, at cycle at, every proc blocked on t for kind whose words
// overlap [lo, hi) (or whose slot is sender's, for slot waits).
func (t *tile) wakeIf(kind waitKind, lo, hi, sender int, at int64) {
	keep := t.blocked[:0]
	for _, p := range t.blocked {
		w := &p.wait
		match := w.kind == kind
		if kind == waitValid || kind == waitFree {
			match = match && w.lo < hi && lo < w.hi
		} else {
			match = match && w.sender == sender
		}
		if !match {
			keep = append(keep, p)
			continue
		}
		p.state = ready
		t.s.eng.push(at, p.id)
	}
	clear(t.blocked[len(keep):])
	t.blocked = keep
}
