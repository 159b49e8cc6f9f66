package compiler

import (
	"fmt"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
)

// gen generates the program of one core.
type gen struct {
	b *build
	c *core
	p *prog
	a isa.Arch
	// fwdEx and bwdEx are registers: the example of the current forward
	// and backward pass (see examples).
	fwdEx, bwdEx int
}

// --- record streams ---

// port is a core's end of a record stream: the rings it stores into (the
// writer) or loads from (a reader), and the register that walks them all
// alike (none when they hold one record).
type port struct {
	s     *recStream
	rings []*recRing
	ptr   int
}

func (g *gen) port(s *recStream, write bool) *port {
	pt := &port{s: s, ptr: -1}
	if write {
		for _, c := range s.readers {
			if c.tile == g.c.tile {
				pt.rings = append(pt.rings, s.rings[c])
			} else {
				pt.rings = append(pt.rings, s.send[c])
			}
		}
	} else {
		pt.rings = []*recRing{s.rings[g.c]}
	}
	if s.recs > 1 {
		pt.ptr = g.p.alloc(1, "a ring position")
		g.p.setReg(pt.ptr, 0, "")
	}
	return pt
}

// restart points ports at their rings' first record where every pass of a
// stream starts there, at both ends (see recStream.restarts).
func (g *gen) restart(pts ...*port) {
	for _, pt := range pts {
		if pt != nil && pt.ptr >= 0 && pt.s.restarts() {
			g.p.setReg(pt.ptr, 0, "")
		}
	}
}

// addr leaves the address of the current record of ring r in a register.
func (g *gen) addr(pt *port, r *recRing) int {
	if pt.ptr < 0 {
		return g.p.konst(r.base)
	}
	t := g.p.reg("addr")
	g.p.add(t, pt.ptr, g.p.konst(r.base))
	return t
}

func (g *gen) advance(pt *port) {
	if pt.ptr >= 0 {
		g.p.add(pt.ptr, pt.ptr, g.p.konst(pt.s.words))
		g.p.intOp(isa.IntMod, pt.ptr, pt.ptr, g.p.konst(pt.s.words*pt.s.recs), "")
	}
}

// put stores the record at register src as the next record of every
// ring the port writes.
func (g *gen) put(pt *port, src int) {
	for _, r := range pt.rings {
		g.p.st(g.addr(pt, r), src, pt.s.words, r.count, pt.s.name)
	}
	g.advance(pt)
}

// get loads the port's next record into dst.
func (g *gen) get(pt *port, dst int) {
	g.p.ld(dst, g.addr(pt, pt.rings[0]), pt.s.words, pt.s.name)
	g.advance(pt)
}

// ports returns this core's ports on the streams of a kind it writes or
// reads that match.
func (g *gen) ports(write bool, kind streamKind, match func(*recStream) bool) []*port {
	list := g.b.reads[g.c]
	if write {
		list = g.b.writes[g.c]
	}
	var out []*port
	for _, s := range list {
		if s.kind == kind && (match == nil || match(s)) {
			out = append(out, g.port(s, write))
		}
	}
	return out
}

func (g *gen) onePort(write bool, kind streamKind, match func(*recStream) bool) *port {
	if ps := g.ports(write, kind, match); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// --- reading maps through windows ---

// winReader reads a core's input map regions over the origins of its
// frame (see frame.go): junk origins only load, real origins compute.
type winReader struct {
	g       *gen
	fr      frame
	regs    []*mapRegion
	tab     []int   // per region: the table entry of the next origin row
	rows    [][]int // per region, per kernel row: the current row address
	ex      []int   // per region: the example offset (network input only)
	scratch [][]int // per region, per kernel row: a window row, kw2*cg words
	all     bool    // every kernel row has its own scratch: loads come first
	y       int     // the next origin row
	virt    int     // register: virtual origin rows left (pad reads only)
	nvirt   int
	rowReal int
	colReal int
	flags   int // shared-memory address of the real-origin flags, -1 if none
}

// allRowsBudget bounds the registers a core spends to hold a whole window.
const allRowsBudget = 768

func (g *gen) winReader(fr frame, regs []*mapRegion) *winReader {
	p := g.p
	w := &winReader{g: g, fr: fr, regs: regs, flags: -1, y: p.alloc(1, "origin row")}
	words := 0
	for _, r := range regs {
		words += fr.kh2 * fr.kw2 * r.cg
	}
	w.all = words <= allRowsBudget
	for _, r := range regs {
		w.tab = append(w.tab, p.alloc(1, "row table position"))
		var rows, scratch []int
		one := p.alloc(fr.kw2*r.cg, "a window row")
		for i := range fr.kh2 {
			rows = append(rows, p.alloc(1, "row address"))
			if w.all && i > 0 {
				one = p.alloc(fr.kw2*r.cg, "a window row")
			}
			scratch = append(scratch, one)
		}
		w.rows, w.scratch = append(w.rows, rows), append(w.scratch, scratch)
		ex := -1
		if r.kind == regInput {
			ex = p.alloc(1, "example offset")
		}
		w.ex = append(w.ex, ex)
		if r.kind == regRing && r.needsTopUp() {
			// Rows enter the windows at their bottom sh kernel rows; the
			// rows above them at the first origin row enter at virtual
			// origin rows before it, which only make up pad reads.
			w.nvirt = (fr.kh2 - fr.win.sh + fr.win.sh - 1) / fr.win.sh
		}
	}
	if w.nvirt > 0 {
		w.virt = p.alloc(1, "virtual origin rows left")
	}
	if fr.ny != fr.outH || fr.nx != fr.outW {
		w.flags = g.b.flagTable(g.c.tile, fr)
		w.rowReal, w.colReal = p.alloc(1, "real row"), p.alloc(1, "real column")
	}
	return w
}

// example points the network-input regions at the example in register
// ex.
func (w *winReader) example(ex int) {
	for k, r := range w.regs {
		if w.ex[k] >= 0 {
			w.g.p.intOp(isa.IntMul, w.ex[k], ex, w.g.p.konst(r.exStride), "the example's offset in the input")
		}
	}
}

// start begins a pass over the frame; the first w.nvirt rows run are
// virtual.
func (w *winReader) start() {
	p := w.g.p
	p.setReg(w.y, 0, "first origin row")
	if w.nvirt > 0 {
		p.setReg(w.virt, w.nvirt, "")
	}
	for k, r := range w.regs {
		p.setReg(w.tab[k], r.table-w.nvirt*w.fr.win.sh, "row table of channels "+chans(r.g))
	}
}

// row runs the next origin row: loads for every origin, and real(x) for
// the real ones. x is the register counting origins along the row; when
// w.all is false, real loads its kernel rows itself through loadRow.
func (w *winReader) row(name string, real func(x int)) {
	p, fr := w.g.p, w.fr
	sh := fr.win.sh
	// The rows entering the windows, and their pad reads.
	for k := range w.regs {
		for i := fr.kh2 - sh; i < fr.kh2; i++ {
			w.rowAddr(k, i)
		}
		for i := fr.kh2 - sh; i < fr.kh2; i++ {
			w.g.topUp(w, k, i)
		}
	}
	end := p.label()
	if w.nvirt > 0 {
		realRow := p.label()
		p.beq(w.virt, p.konst(0), realRow, "")
		p.add(w.virt, w.virt, p.konst(-1))
		p.jmp(end)
		p.mark(realRow)
	}
	for k := range w.regs {
		for i := range fr.kh2 - sh {
			w.rowAddr(k, i)
		}
	}
	if w.flags >= 0 {
		t := p.reg("addr")
		p.add(t, w.y, p.konst(w.flags))
		p.ld(w.rowReal, t, 1, "is this origin row real?")
	}
	p.loop(fr.nx, name, func(x int) {
		junk, done := p.label(), p.label()
		if w.all {
			for i := range fr.kh2 {
				w.loadRow(i)
			}
		}
		if w.flags >= 0 {
			t := p.reg("addr")
			p.add(t, x, p.konst(w.flags+fr.ny))
			p.ld(w.colReal, t, 1, "is this origin real?")
			p.beq(w.rowReal, p.konst(0), junk, "")
			p.beq(w.colReal, p.konst(0), junk, "")
		}
		real(x)
		if w.flags >= 0 {
			p.jmp(done)
			p.mark(junk)
			if !w.all {
				for i := range fr.kh2 {
					w.loadRow(i)
				}
			}
			p.mark(done)
		}
		for k, r := range w.regs {
			for i := range fr.kh2 {
				p.addK(w.rows[k][i], w.rows[k][i], fr.win.sw*r.cg)
			}
		}
	})
	p.add(w.y, w.y, p.konst(1))
	p.mark(end)
	for k := range w.regs {
		p.addK(w.tab[k], w.tab[k], sh)
	}
}

// rowAddr loads the address of kernel row i of the current origin row of
// region k from its row table.
func (w *winReader) rowAddr(k, i int) {
	p := w.g.p
	t := p.reg("addr")
	p.addK(t, w.tab[k], i)
	p.ld(w.rows[k][i], t, 1, fmt.Sprintf("address of window row %d", i))
	if w.ex[k] >= 0 {
		p.add(w.rows[k][i], w.rows[k][i], w.ex[k])
	}
}

// sweep runs a whole pass.
func (w *winReader) sweep(name string, real func(x int)) {
	w.start()
	w.g.p.loop(w.fr.ny+w.nvirt, name+" rows", func(int) { w.row(name, real) })
}

// loadRow loads kernel row i of the current window of every region, when
// the loads are not already done.
func (w *winReader) loadRow(i int) {
	for k, r := range w.regs {
		w.g.p.ld(w.scratch[k][i], w.rows[k][i], w.fr.kw2*r.cg, fmt.Sprintf("window row %d of channels %s", i, chans(r.g)))
	}
}

// rowLoader returns loadRow unless the loads are done for every origin.
func (w *winReader) rowLoader() func(int) {
	if w.all {
		return func(int) {}
	}
	return w.loadRow
}

// piece returns the scratch register of channel c at window column j of
// kernel row i, and how many channels from c up to c1 it holds.
func (w *winReader) piece(c, c1, i, j int) (reg, n int) {
	for k, r := range w.regs {
		if c >= r.g.c0 && c < r.g.c1 {
			return w.scratch[k][i] + j*r.cg + c - r.g.c0, min(c1, r.g.c1) - c
		}
	}
	panic(fmt.Sprintf("compiler: channel %d lies in no region this core reads", c))
}

func chans(g *group) string { return fmt.Sprintf("%d..%d", g.c0, g.c1-1) }

// --- unit cores ---

// keptInputs is where a unit core keeps the crossbar inputs of its forward
// passes until the OPA of the same example reads them (build.keepsInput):
// one slot per example in flight (lag + 1), each the input lines of its
// units, in its tile's shared memory.
type keptInputs struct {
	g     *gen
	base  int
	slots int
	ptr   int // register: the current slot
}

func (g *gen) keptInputs() *keptInputs {
	c := g.c
	k := &keptInputs{g: g, slots: g.b.lag(c) + 1, ptr: g.p.alloc(1, "kept inputs position")}
	k.base = g.b.private(c, k.slots*c.lines(), "crossbar inputs kept for the OPA", false)
	return k
}

// move stores the MVM inputs of the example in register ex into its slot,
// or loads them from there into the OPA inputs.
func (k *keptInputs) move(ex int, store bool) {
	g, p, a := k.g, k.g.p, k.g.a
	g.slot(k.ptr, k.base, g.c.lines(), k.slots, ex)
	for u, t := range g.c.tiles {
		if u > 0 {
			p.addK(k.ptr, k.ptr, len(g.c.tiles[u-1].phys))
		}
		if store {
			p.st(k.ptr, a.XbarIn(u, isa.XbarMVM), len(t.phys), 1, "inputs kept for this example's OPA")
		} else {
			p.ld(a.XbarIn(u, isa.XbarOPA), k.ptr, len(t.phys), "the inputs kept from this example's forward pass")
		}
	}
}

func (g *gen) genUnits() {
	c, p, s, a := g.c, g.p, g.c.st, g.a
	w := g.winReader(s.fr, g.b.regionsFor(c))
	cols := s.colB[c.ct+1] - s.colB[c.ct]
	for k, t := range c.tiles {
		if t.bias >= 0 {
			// The bias line is driven by 1.0 and no load touches it.
			p.set(a.XbarIn(k, isa.XbarMVM)+t.bias, biasInput, 1, "bias input 1.0")
			if g.b.training {
				p.set(a.XbarIn(k, isa.XbarOPA)+t.bias, biasInput, 1, "bias input 1.0")
			}
		}
	}
	part := p.alloc(cols, "partial sums")
	child := p.alloc(cols, "a child's partial sums")
	up := g.onePort(true, sFpart, nil)
	downs := g.ports(false, sFpart, nil)
	zs := g.ports(true, sZ, nil)
	// copyRuns loads kernel row i and copies its channels to the lines of
	// each unit's input buffer buf.
	load := w.rowLoader()
	copyRuns := func(buf isa.XbarOp, i int) {
		load(i)
		for u, t := range c.tiles {
			for _, r := range t.runs {
				if r.i != i {
					continue
				}
				for ch := r.c0; ch < r.c1; {
					reg, n := w.piece(ch, r.c1, i, r.j)
					p.cp(a.XbarIn(u, buf)+r.line+ch-r.c0, reg, n, "")
					ch += n
				}
			}
		}
	}
	var mvm isa.Mask
	for u := range c.tiles {
		mvm |= isa.MvmBit(u, isa.XbarMVM)
	}
	sums := func() {
		if len(c.tiles) == 2 {
			p.alu(isa.AluAdd, part, a.XbarOut(0, isa.XbarMVM), a.XbarOut(1, isa.XbarMVM), cols, "tree sum of the two row tiles")
		} else {
			p.cp(part, a.XbarOut(0, isa.XbarMVM), cols, "")
		}
		for _, d := range downs {
			g.get(d, child)
			p.alu(isa.AluAdd, part, part, child, cols, "tree sum")
		}
		if up != nil {
			g.put(up, part)
		}
		for _, z := range zs {
			g.put(z, part+z.s.c0-s.colB[c.ct])
		}
	}
	split := g.b.fuses(c)
	var kept *keptInputs
	if g.b.keepsInput(s) {
		kept = g.keptInputs()
	}
	fwd := pass{load: func() {
		g.restart(up)
		g.restart(zs...)
		g.restart(downs...)
		w.example(g.fwdEx)
		w.sweep("forward", func(int) {
			for i := range s.fr.kh2 {
				copyRuns(isa.XbarMVM, i)
			}
			if !split {
				p.emit(isa.Inst{Op: isa.OpMvm, Mask: mvm}, "forward products")
				sums()
			}
		})
		if kept != nil {
			kept.move(g.fwdEx, true)
		}
	}}
	if split {
		fwd.mask, fwd.post = mvm, sums
	}
	g.examples(fwd, g.unitBackward(w, copyRuns, kept, split))
}

// unitBackward returns the backward pass of a unit core: the OPA of the
// input patch with the errors, and (unless this is the first trainable
// stage) the MTVM of the errors, summed over column tiles into each row
// tile's input errors. The OPA's inputs come from kept where the forward
// pass kept them, else from the input map again. With split, the pass
// leaves its mvm and what follows it to the caller (see pass).
func (g *gen) unitBackward(w *winReader, copyRuns func(isa.XbarOp, int), kept *keptInputs, split bool) *pass {
	c, p, s, a := g.c, g.p, g.c.st, g.a
	if !s.train {
		return nil
	}
	c0, c1 := s.colB[c.ct], s.colB[c.ct+1]
	cols := c1 - c0
	ez := g.ports(false, sEz, nil)
	// The first unit core of a column passes each lead's errors on to
	// the column's other unit cores (see makeStreams).
	relays := g.ports(true, sEz, nil)
	relay := func(pt *port, src int) {
		for _, r := range relays {
			if r.s.c0 == pt.s.c0 {
				g.put(r, src)
			}
		}
	}
	var errbuf int
	for _, pt := range ez {
		if pt.s.c0 < c0 || pt.s.c0+pt.s.words > c1 {
			errbuf = p.alloc(pt.s.words, "a lead's errors")
		}
	}
	// The errors of this column arrive in group slices; each lands at its
	// columns of the first unit's MTVM input.
	loadErrors := func() {
		for _, pt := range ez {
			lo, hi := max(c0, pt.s.c0), min(c1, pt.s.c0+pt.s.words)
			if lo == pt.s.c0 && hi == pt.s.c0+pt.s.words {
				g.get(pt, a.XbarIn(0, isa.XbarMTVM)+lo-c0)
				relay(pt, a.XbarIn(0, isa.XbarMTVM)+lo-c0)
				continue
			}
			g.get(pt, errbuf)
			relay(pt, errbuf)
			p.cp(a.XbarIn(0, isa.XbarMTVM)+lo-c0, errbuf+lo-pt.s.c0, hi-lo, "")
		}
		for u := range c.tiles {
			if u > 0 {
				p.cp(a.XbarIn(u, isa.XbarMTVM), a.XbarIn(0, isa.XbarMTVM), cols, "")
			}
			p.cp(a.XbarOut(u, isa.XbarOPA), a.XbarIn(0, isa.XbarMTVM), cols, "errors as OPA columns")
		}
	}
	type rowTree struct {
		unit        int
		lines       int
		downs       []*port
		ups         []*port // the parent, or at the top each input group's owner
		part, child int
	}
	var trees []rowTree
	if s.backIn {
		for u, rt := range c.rts {
			t := c.tiles[u]
			tr := rowTree{unit: u, lines: len(t.phys) - boolInt(t.bias >= 0)}
			if tr.lines == 0 {
				continue
			}
			tr.part = p.alloc(tr.lines, "input-error sums")
			tr.child = p.alloc(tr.lines, "a child's input-error sums")
			tr.downs = g.ports(false, sBpart, func(x *recStream) bool { return x.rt == rt })
			if c.ct == 0 {
				tr.ups = g.ports(true, sDpatch, func(x *recStream) bool { return x.rt == rt })
			} else {
				tr.ups = g.ports(true, sBpart, func(x *recStream) bool { return x.rt == rt })
			}
			trees = append(trees, tr)
		}
	}
	var mtvm, opa isa.Mask
	for u := range c.tiles {
		mtvm |= isa.MvmBit(u, isa.XbarMTVM)
		opa |= isa.MvmBit(u, isa.XbarOPA)
	}
	prev := (*stage)(nil)
	if s.idx > 0 {
		prev = g.b.stages[s.idx-1]
	}
	sumTrees := func() {
		for _, tr := range trees {
			p.cp(tr.part, a.XbarOut(tr.unit, isa.XbarMTVM), tr.lines, "")
			for _, d := range tr.downs {
				g.get(d, tr.child)
				p.alu(isa.AluAdd, tr.part, tr.part, tr.child, tr.lines, "tree sum over column tiles")
			}
			if c.ct == 0 && prev != nil && g.b.consumerMasks(prev) {
				// The input's derivative factors, from the input patch
				// the OPA just used (see consumerMasks).
				emitMask(p, prev, tr.part, a.XbarIn(tr.unit, isa.XbarOPA), tr.child, tr.lines)
			}
			for _, up := range tr.ups {
				g.put(up, tr.part+up.s.c0)
			}
		}
	}
	restart := func() {
		g.restart(ez...)
		g.restart(relays...)
		for _, tr := range trees {
			g.restart(tr.ups...)
			g.restart(tr.downs...)
		}
	}
	twoPasses := len(ez) > 0 && ez[0].s.passes == 2
	mask, note := opa, "weight update"
	var post func()
	if s.backIn && !twoPasses {
		mask, note, post = mtvm|opa, "backward products and weight update (MTVM reads before OPA writes)", sumTrees
	}
	bwd := &pass{load: func() {
		restart()
		if twoPasses {
			p.loop(s.fr.outH*s.fr.outW, "mtvm", func(int) {
				loadErrors()
				p.emit(isa.Inst{Op: isa.OpMvm, Mask: mtvm}, "backward products")
				sumTrees()
			})
			g.restart(ez...)
			g.restart(relays...)
		}
		update := func() {
			loadErrors()
			if kept != nil {
				kept.move(g.bwdEx, false)
			} else {
				for i := range s.fr.kh2 {
					copyRuns(isa.XbarOPA, i)
				}
			}
			if split {
				return
			}
			p.emit(isa.Inst{Op: isa.OpMvm, Mask: mask}, note)
			if post != nil {
				post()
			}
		}
		if kept != nil {
			update()
			return
		}
		w.example(g.bwdEx)
		w.sweep("update", func(int) { update() })
	}}
	if split {
		bwd.mask, bwd.post = mask, post
	}
	return bwd
}

// --- finishing outputs: activations and their derivatives ---

// finisher holds what a lead or group core computes per output pixel.
type finisher struct {
	acts     []model.Kind
	cg       int
	z        int // the pre-activation, then the output
	tmp      int
	ones     int
	f        int   // derivative factors, fwords contiguous words:
	mask     int   //   exact 0/1 factors (relu derivatives, saturation)
	derivs   []int //   one vector per sigmoid or tanh, in layer order
	fwords   int
	training bool
	satMask  bool
}

func (g *gen) finisher(cg int, acts []model.Kind, satMask bool) *finisher {
	p := g.p
	// When the next stage masks the errors it sends, there is nothing to
	// keep: the factors are exact and it has the outputs at hand.
	training := g.b.training && g.c.st.train && !g.b.consumerMasks(g.c.st)
	f := &finisher{acts: acts, cg: cg, training: training, satMask: satMask}
	f.z = p.alloc(cg, "outputs")
	f.tmp = p.alloc(cg, "scratch")
	f.ones = p.alloc(cg, "ones")
	p.set(f.ones, alu.One, cg, "1.0 for derivatives")
	if f.training {
		f.mask = p.alloc(cg, "exact derivative factors")
		f.f, f.fwords = f.mask, cg
		for _, k := range acts {
			if k == model.Sigmoid || k == model.Tanh {
				f.derivs = append(f.derivs, p.alloc(cg, "derivative factors"))
				f.fwords += cg
			}
		}
	}
	return f
}

// forward applies the activations to f.z in place and, when training,
// leaves the derivative factors of the backward pass.
func (f *finisher) forward(p *prog) {
	n := f.cg
	if f.training {
		if f.satMask {
			// Saturation has derivative zero (docs/training.md,
			// "Backward"). The instruction set exposes no saturation
			// flags, so an output at a limit of Q4.12 stands for one that
			// saturated (docs/compiler.md).
			p.alui(isa.AluNeq, f.mask, f.z, 32767, n, "not at the upper limit")
			p.alui(isa.AluNeq, f.tmp, f.z, -32768, n, "not at the lower limit")
			p.alu(isa.AluMul, f.mask, f.mask, f.tmp, n, "saturation mask")
		} else {
			p.set(f.mask, alu.One, n, "")
		}
	}
	d := 0
	for _, k := range f.acts {
		switch k {
		case model.ReLU:
			if f.training {
				p.alui(isa.AluGt, f.tmp, f.z, 0, n, "relu derivative: input > 0")
				p.alu(isa.AluMul, f.mask, f.mask, f.tmp, n, "")
			}
			p.alu(isa.AluRelu, f.z, f.z, 0, n, "relu")
		case model.Sigmoid:
			p.alu(isa.AluSig, f.z, f.z, 0, n, "sigmoid")
			if f.training {
				p.alu(isa.AluSub, f.tmp, f.ones, f.z, n, "1 - s")
				p.alu(isa.AluMul, f.derivs[d], f.z, f.tmp, n, "s (1 - s)")
				d++
			}
		case model.Tanh:
			p.alu(isa.AluTanh, f.z, f.z, 0, n, "tanh")
			if f.training {
				p.alu(isa.AluMul, f.tmp, f.z, f.z, n, "t^2")
				p.alu(isa.AluSub, f.derivs[d], f.ones, f.tmp, n, "1 - t^2")
				d++
			}
		}
	}
}

// backward turns the error at the output, in register e, into the error at
// the pre-activation, as the trainer does: the smooth derivatives in
// reverse layer order, each product rounded, then the exact factors.
func (f *finisher) backward(p *prog, e int) {
	for d := len(f.derivs) - 1; d >= 0; d-- {
		p.alu(isa.AluMul, e, e, f.derivs[d], f.cg, "times the activation derivative")
	}
	p.alu(isa.AluMul, e, e, f.mask, f.cg, "times relu derivatives and the saturation mask")
}
