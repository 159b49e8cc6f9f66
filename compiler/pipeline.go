package compiler

import (
	"fmt"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/xbar"
)

// This file overlaps the examples of a batch. In the accumulate and
// pipelined variants the weights that products read stay fixed between
// carry resolutions (the OPAs go to the update set), so a core need not
// finish one example's backward pass before it starts the next example's
// forward pass: each core runs its forward passes a fixed number of
// examples (its lag) ahead of its backward passes, so that every stage
// works on some example at once. Counted in steps of one stage's work, an
// example's forward pass reaches stage s at step s and its backward pass
// leaves stage s at step 2N-1-s (N stages); so the cores that own a
// stage's crossbars (or a pooling stage's windows) run 2N-1-2s examples
// ahead, and the owners of its outputs, whose backward pass gathers the
// next stage's input errors one step earlier, 2N-2-2s. The forward pass of
// the next interval's examples must see the carry resolution, so the
// overlap drains at the end of every interval. Inplace keeps one example
// after the other: the next example must see the update.

// lag is how many examples core c runs its forward pass ahead of its
// backward pass (0: one example after the other).
func (b *build) lag(c *core) int { return b.stageLag(c.st, c.role == roleUnits) }

// stageLag is the lag of stage s's unit cores (units) or of its other
// cores.
func (b *build) stageLag(s *stage, units bool) int { return b.stageLagWithin(s, units, b.flight) }

// stageLagWithin is stageLag with at most flight examples in flight (0:
// no bound).
func (b *build) stageLagWithin(s *stage, units bool, flight int) int {
	if !b.training || b.cfg.Variant == xbar.Inplace {
		return 0
	}
	l := 2*len(b.stages) - 1 - 2*s.idx
	if !units {
		l--
	}
	if flight > 0 {
		l = min(l, flight-1)
	}
	return max(0, min(l, b.period()-1, b.examples-1))
}

// inFlightNow is the most examples a core holds between its forward and
// backward pass: the lag + 1 of the first stage's unit cores, whose lag
// is the largest.
func (b *build) inFlightNow() int { return b.stageLag(b.stages[0], true) + 1 }

// inFlightLimit says what bounds inFlightNow, for the report.
func (b *build) inFlightLimit() string {
	n := b.inFlightNow()
	switch allowed := b.stageLagWithin(b.stages[0], true, 0) + 1; {
	case b.cfg.Variant == xbar.Inplace:
		return "inplace: each example reads the update of the one before"
	case n < allowed:
		return fmt.Sprintf("bounded by shared memory; the stages allow %d", allowed)
	case n == 2*len(b.stages):
		return "as many as the stages overlap"
	case n == b.period():
		return "every example between two carry resolutions"
	}
	return "every example of the program"
}

// fuses reports whether unit core c runs the forward pass of one example
// and the backward pass of another in one mvm (see pass): its stage has
// one window (a dense layer), and its forward passes run further ahead
// than its stage's owners'. The backward pass then waits for errors that
// the owners send after a forward pass this core finished an iteration
// before; with equal lags it would wait for its own forward pass.
func (b *build) fuses(c *core) bool {
	s := c.st
	return c.role == roleUnits && s.fr.ny*s.fr.nx == 1 && b.lag(c) > b.stageLag(s, false)
}

// period is the examples between carry resolutions (an inference
// program's are all one period).
func (b *build) period() int {
	if !b.training {
		return b.examples
	}
	return b.cfg.Batch * b.cfg.CRSInterval
}

// storeSlots is how many examples' outputs group g's store holds. Its
// readers, the next stage's cores other than leads, read example e again
// in their backward pass, after their forward pass of example e + lag, so
// where they do the store keeps lag + 1 examples.
func (b *build) storeSlots(g *group) int {
	next := b.stages[g.st.idx+1]
	if b.passes(next) == 1 {
		return 1
	}
	return b.stageLag(next, next.kind == stMatrix) + 1
}

// pass is one example's work on a core in one direction. Where both
// directions end in one crossbar instruction (a dense stage's unit core)
// they are split around it: load fills the crossbars' input buffers, mask
// names the operations, and post reads their results; the forward pass of
// one example and the backward pass of another then share one mvm, which
// the pipelined variant runs on its forward, backward and update sets at
// once. Otherwise load does all the work and mask is 0.
type pass struct {
	load func()
	mask isa.Mask
	post func()
}

// passRef is one pass of one example, as a core runs them.
type passRef struct{ example, pass int }

// passOrder lists the passes of core c in the order its program runs them
// (pass 0 forward, 1 backward), as examples generates it.
func (b *build) passOrder(c *core, backward bool) []passRef {
	var out []passRef
	if !backward {
		for e := range b.examples {
			out = append(out, passRef{e, 0})
		}
		return out
	}
	lag := b.lag(c)
	for start := 0; start < b.examples; start += b.period() {
		n := min(b.period(), b.examples-start)
		wait := min(lag, n)
		for i := range n + wait {
			if i < n {
				out = append(out, passRef{start + i, 0})
			}
			if i >= wait {
				out = append(out, passRef{start + i - wait, 1})
			}
		}
	}
	return out
}

// examples runs fwd once per example and, when bwd is not nil, bwd once
// per example, bwd's examples lag(c) behind fwd's within every interval
// between carry resolutions. Unit cores of a training program resolve
// carries at the end of every interval: after every crs_interval-th batch
// and after the last example (docs/numeric-model.md). g.fwdEx and g.bwdEx hold the
// example each pass works on.
func (g *gen) examples(fwd pass, bwd *pass) {
	p := g.p
	p.setReg(g.fwdEx, 0, "first example")
	if bwd == nil {
		p.loop(g.b.examples, "example", func(int) {
			fwd.load()
			g.mvm(fwd.mask, "")
			runPost(fwd)
			p.addK(g.fwdEx, g.fwdEx, 1)
		})
		return
	}
	p.setReg(g.bwdEx, 0, "")
	var crs isa.Mask
	if g.b.training && g.c.role == roleUnits && !g.b.cfg.NoCRS {
		for k := range g.c.rts {
			crs |= isa.CrsBit(k)
		}
	}
	period, lag := g.b.period(), g.b.lag(g.c)
	full, rest := g.b.examples/period, g.b.examples%period
	fLeft, bLeft := p.reg("forward passes left"), p.reg("backward passes left")
	wait := p.reg("forward passes before the next backward one")
	fRan, bRan := p.reg("a forward pass ran"), p.reg("a backward pass ran")
	start := func(n int) {
		p.setReg(fLeft, n, "examples of this interval")
		p.setReg(bLeft, n, "")
		p.setReg(wait, min(lag, n), "forward passes ahead")
	}
	p.loop(full+boolInt(rest > 0), "interval", func(k int) {
		start(period)
		if rest > 0 {
			last, run := p.label(), p.label()
			p.beq(k, p.konst(full), last, "the last, shorter interval?")
			p.jmp(run)
			p.mark(last)
			start(rest)
			p.mark(run)
		}
		top, noF, noB, end := p.label(), p.label(), p.label(), p.label()
		p.mark(top)
		p.setReg(fRan, 0, "")
		p.setReg(bRan, 0, "")
		p.beq(fLeft, p.konst(0), noF, "forward passes done?")
		fwd.load()
		p.setReg(fRan, 1, "")
		p.mark(noF)
		doB := p.label()
		p.beq(wait, p.konst(0), doB, "far enough ahead for a backward pass?")
		p.addK(wait, wait, -1)
		p.jmp(noB)
		p.mark(doB)
		bwd.load()
		p.setReg(bRan, 1, "")
		p.mark(noB)
		if fwd.mask|bwd.mask != 0 {
			fOnly, bOnly, done := p.label(), p.label(), p.label()
			p.beq(fRan, p.konst(0), bOnly, "")
			p.beq(bRan, p.konst(0), fOnly, "")
			g.mvm(fwd.mask|bwd.mask, "forward products of one example, backward products and weight update of another")
			p.jmp(done)
			p.mark(fOnly)
			g.mvm(fwd.mask, "")
			p.jmp(done)
			p.mark(bOnly)
			g.mvm(bwd.mask, "")
			p.mark(done)
		}
		skipF := p.label()
		p.beq(fRan, p.konst(0), skipF, "")
		runPost(fwd)
		p.addK(fLeft, fLeft, -1)
		p.addK(g.fwdEx, g.fwdEx, 1)
		p.mark(skipF)
		p.beq(bRan, p.konst(0), top, "")
		runPost(*bwd)
		p.addK(g.bwdEx, g.bwdEx, 1)
		p.addK(bLeft, bLeft, -1)
		p.beq(bLeft, p.konst(0), end, "interval done?")
		p.jmp(top)
		p.mark(end)
		if crs != 0 {
			p.emit(isa.Inst{Op: isa.OpCrs, Mask: crs}, "carry resolution")
		}
	})
}

// mvm emits one crossbar instruction, if mask names any operation.
func (g *gen) mvm(mask isa.Mask, note string) {
	if mask != 0 {
		g.p.emit(isa.Inst{Op: isa.OpMvm, Mask: mask}, note)
	}
}

func runPost(ps pass) {
	if ps.post != nil {
		ps.post()
	}
}
