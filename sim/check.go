package sim

import (
	"fmt"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
)

// loadError names the instruction a check refuses.
func (s *Sim) loadError(tile, core, pc int, in isa.Inst, format string, args ...any) error {
	return fmt.Errorf("%s instruction %d (%s): %s", where(tile, core), pc, isa.Format(s.isa, in), fmt.Sprintf(format, args...))
}

// checkTile checks what isa cannot: that sends and receives stay inside
// shared memory and name tiles that have code.
func (s *Sim) checkTile(t *tile) error {
	a := s.isa
	for pc, in := range t.code.Insts {
		if in.Op != isa.OpSend && in.Op != isa.OpReceive {
			continue
		}
		n := in.Width * in.Vec
		if in.Addr+n > a.SharedWords {
			return s.loadError(t.id, -1, pc, in, "mem_addr words %d..%d run past shared memory (0..%d)", in.Addr, in.Addr+n-1, a.SharedWords-1)
		}
		if in.Op == isa.OpSend && in.TargetAddr+n > a.SharedWords {
			return s.loadError(t.id, -1, pc, in, "target_addr words %d..%d run past shared memory (0..%d)", in.TargetAddr, in.TargetAddr+n-1, a.SharedWords-1)
		}
		if s.byID[in.Tile] == nil {
			role := "receive from"
			if in.Op == isa.OpSend {
				role = "send to"
			}
			return s.loadError(t.id, -1, pc, in, "cannot %s tile %d: it has no code in this program", role, in.Tile)
		}
	}
	return nil
}

// checkCore checks each instruction of a core against what the simulator
// needs: branch targets inside the program, register operands inside the
// register space, matrix units that have a weight image, and a weight
// update the architecture offers.
func (s *Sim) checkCore(t *tile, c *core) error {
	a := s.isa
	for pc, in := range c.insts {
		fail := func(format string, args ...any) error {
			return s.loadError(t.id, c.core, pc, in, format, args...)
		}
		if (in.Op == isa.OpJmp || in.Op == isa.OpBeq) && in.Target >= len(c.insts) {
			return fail("branch target %d is past the end of the program (%d instructions)", in.Target, len(c.insts))
		}
		for _, r := range registerOperands(in) {
			if r.lo+r.n > a.RegisterSpace() {
				return fail("%s reaches registers %d..%d, past the register space (0..%d)", r.name, r.lo, r.lo+r.n-1, a.RegisterSpace()-1)
			}
		}
		switch in.Op {
		case isa.OpMvm:
			for u := range a.MatrixUnits {
				for _, k := range []isa.XbarOp{isa.XbarMVM, isa.XbarMTVM, isa.XbarOPA} {
					if !in.Mask.Runs(u, k) {
						continue
					}
					if c.units[u] == nil {
						return fail("matrix unit %d has no weight image: the program must carry one for every unit its code uses", u)
					}
					if k == isa.XbarOPA && s.arch.Ops.Update.Mechanism == arch.UpdateNone {
						return fail("architecture %s has no weight update (ops.update.mechanism: none), so OPA cannot run", s.arch.Name)
					}
				}
			}
		case isa.OpCrs:
			for u := range a.MatrixUnits {
				if !in.Mask.Resolves(u) {
					continue
				}
				if c.units[u] == nil {
					return fail("matrix unit %d has no weight image: the program must carry one for every unit its code uses", u)
				}
				if s.arch.Ops.Update.Mechanism == arch.UpdateNone {
					return fail("architecture %s has no weight update (ops.update.mechanism: none), so CRS cannot run", s.arch.Name)
				}
				if !s.arch.HasCRS() {
					return fail("architecture %s resolves every update at once (crossbar.opa_mode: resolved), so it has no CRS: "+
						"compile the program for it (panther compile --arch %s)", s.arch.Name, s.arch.Name)
				}
			}
		}
	}
	return nil
}

type regOperand struct {
	name  string
	lo, n int
}

// registerOperands lists the register ranges an instruction reads or writes
// beyond its first word (isa checks that each range starts in the space).
func registerOperands(in isa.Inst) []regOperand {
	n := in.Width * in.Vec
	switch in.Op {
	case isa.OpLd:
		return []regOperand{{"d1", in.D1, n}}
	case isa.OpSt:
		return []regOperand{{"r1", in.R1, n}}
	case isa.OpCp:
		return []regOperand{{"d1", in.D1, in.Vec}, {"r1", in.R1, in.Vec}}
	case isa.OpSet:
		return []regOperand{{"d1", in.D1, in.Vec}}
	case isa.OpAlui:
		return []regOperand{{"d1", in.D1, in.Vec}, {"r1", in.R1, in.Vec}}
	case isa.OpAlu:
		ops := []regOperand{{"d1", in.D1, in.Vec}, {"r1", in.R1, in.Vec}}
		if !in.Alu.Unary() {
			ops = append(ops, regOperand{"r2", in.R2, in.Vec})
		}
		return ops
	}
	return nil
}
