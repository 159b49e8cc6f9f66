package sim

import (
	"fmt"
	"strings"

	"github.com/panther-xbar/panther/isa"
)

// Blocked describes a core or control unit that cannot progress.
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
	var b strings.Builder
	fmt.Fprintf(&b, "deadlock at cycle %d: nothing can progress; %d blocked:", e.Cycle, len(e.Blocked))
	for _, bl := range e.Blocked {
		b.WriteString("\n  " + bl.String())
	}
	return b.String()
}

// blocked lists every blocked proc, in component order.
func (s *Sim) blocked() []Blocked {
	var out []Blocked
	for _, p := range s.procs {
		if p.state != blocked {
			continue
		}
		out = append(out, Blocked{
			Tile: p.tile.id, Core: p.core, PC: p.pc,
			Inst:  isa.Format(s.isa, p.insts[p.pc]),
			Since: p.attempt,
			Waits: p.wait.describe(),
		})
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
		why := fmt.Sprintf("%d reads of it are still due", t.readers[w.word])
		if t.readers[w.word] == persistent {
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
