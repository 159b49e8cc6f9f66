package sim

import (
	"fmt"
	"strings"

	"github.com/panther-xbar/panther/isa"
)

// Blocked describes a core or control unit that had not halted when the
// run stopped: what it waits for, or, at the cycle limit, that it was still
// running.
type Blocked struct {
	Tile  int    `json:"tile"`
	Core  int    `json:"core"` // -1 for the tile's control unit
	PC    int    `json:"pc"`
	Inst  string `json:"instruction"`
	Since int64  `json:"since_cycle"`
	Waits string `json:"waits"`
}

func (b Blocked) String() string {
	return fmt.Sprintf("%s pc %d (%s) since cycle %d: %s", where(b.Tile, b.Core), b.PC, b.Inst, b.Since, b.Waits)
}

// DeadlockError reports a run in which nothing could progress while some
// cores or tiles had not halted.
type DeadlockError struct {
	Cycle   int64
	Blocked []Blocked
}

func (e *DeadlockError) Error() string {
	return fmt.Sprintf("deadlock at cycle %d: nothing can progress; %d blocked:", e.Cycle, len(e.Blocked)) + listUnits(e.Blocked)
}

// LimitError reports a run that passed its cycle limit, with every unit
// that had not halted by then.
type LimitError struct {
	Limit    int64
	Unhalted []Blocked
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("stopped at the cycle limit of %d cycles: the program loops without end (a livelock) or needs a higher limit (--max-cycles); %d not halted:", e.Limit, len(e.Unhalted)) + listUnits(e.Unhalted)
}

// listUnits writes one indented line per unit.
func listUnits(units []Blocked) string {
	var b strings.Builder
	for _, u := range units {
		b.WriteString("\n  " + u.String())
	}
	return b.String()
}

// unhalted lists every proc that has not halted, in component order, with
// what it waits for. In a deadlock every one of them is blocked; at the
// cycle limit some may still be running.
func (s *Sim) unhalted() []Blocked {
	var out []Blocked
	for _, p := range s.procs {
		if p.state == halted {
			continue
		}
		b := Blocked{Tile: p.tile.id, Core: p.core, PC: p.pc, Inst: isa.Format(s.isa, p.insts[p.pc]), Since: p.attempt}
		if p.state == blocked {
			b.Waits = p.wait.describe()
		} else {
			// Its next instruction is due after the limit: it runs up to it.
			b.Since = min(b.Since, s.opt.MaxCycles)
			b.Waits = fmt.Sprintf("still running, not waiting: it has executed %d instructions and not reached %s", p.executed, p.haltName())
		}
		out = append(out, b)
	}
	return out
}

// describe says what a blocked proc waits for, in the machine's terms:
// which shared-memory address, or which sender's receive slot.
func (w waitInfo) describe() string {
	t := w.on
	switch w.kind {
	case waitValid:
		return fmt.Sprintf("waits for shared-memory word %d of tile %d to become valid (it reads words %d..%d); nothing has stored it",
			w.word, t.id, w.lo, w.hi-1)
	case waitFree:
		why := fmt.Sprintf("%d reads of it are still due", t.readersOf(w.word))
		if t.readersOf(w.word) == persistent {
			why = "it holds initial data, which reads never free"
		}
		return fmt.Sprintf("waits for shared-memory word %d of tile %d to be free (it writes words %d..%d); %s",
			w.word, t.id, w.lo, w.hi-1, why)
	case waitArrival:
		return fmt.Sprintf("waits for a message from tile %d in its receive-buffer slot for that sender; none has been sent", w.sender)
	}
	return fmt.Sprintf("waits for tile %d to receive the previous message from tile %d, which still fills the receive-buffer slot for this sender",
		t.id, w.sender)
}
