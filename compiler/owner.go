package compiler

import (
	"fmt"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/xbar"
)

// This file generates the cores that own a group of a stage's outputs: a
// matrix stage's leads and the cores of pooling and activation stages.
// Forward, an owner finishes each output pixel (activations, derivative
// factors) and stores it where the next stage reads it. Backward, it adds
// the input errors the next stage sends into its output's error map, in
// raster order of the next stage's pixels as the trainer gathers them, and
// as each row of that map is complete it turns the row's errors into the
// errors its own stage needs.

// outputs is where an owner's forward results go, pixel by pixel.
type outputs struct {
	g          *gen
	cg         int
	store      *mapRegion   // the next stage's input, which the control unit sends on, or nil
	direct     []*mapRegion // the rings of the next stage's readers that take them directly
	px         int          // register: the current pixel of the store
	col        int          // register: its column
	rpx, rrow  int          // registers: the current pixel's offset in the direct rings, its row's slot
	fbase      int          // shared-memory address of the derivative factors, fslots examples
	fslots     int
	fptr       int // register
	out        int // inference results: address of example 0, or -1
	optr       int // register
	labels     int // training loss: address of the labels, or -1
	lptr       int // register
	classes    int
	derivWords int
}

func (g *gen) outputs(fin *finisher) *outputs {
	b, c, p := g.b, g.c, g.p
	gr := c.g
	o := &outputs{g: g, cg: gr.width(), out: -1, labels: -1, fbase: -1}
	last := c.st.idx == len(b.stages)-1
	o.store = b.stores[gr]
	for _, r := range b.maps {
		if r.direct && r.g == gr {
			o.direct = append(o.direct, r)
		}
	}
	if o.store != nil {
		o.px = p.alloc(1, "store pixel")
	}
	if o.store != nil || o.direct != nil {
		o.col = p.alloc(1, "output column")
	}
	if o.direct != nil {
		o.rpx, o.rrow = p.alloc(1, "ring pixel"), p.alloc(1, "ring row")
	}
	if fin.training && !last && fin.fwords > 0 {
		// Kept from an example's forward pass to its backward pass, which
		// runs lag examples later (see examples).
		o.fslots = b.lag(c) + 1
		o.fbase = b.private(c, o.fslots*c.st.out.pixels()*fin.fwords, "derivative factors", false)
		o.fptr = p.alloc(1, "derivative factors position")
		o.derivWords = fin.fwords
	}
	switch {
	case last && !b.training:
		o.out = b.private(c, b.examples*c.st.out.pixels()*o.cg, "results", true)
		b.outs[c] = o.out
		o.optr = p.alloc(1, "results position")
		p.setReg(o.optr, o.out, "results of example 0")
	case last && b.training:
		o.classes = o.cg
		o.labels = b.labelRegion(c)
		o.lptr = p.alloc(1, "label position")
		p.setReg(o.lptr, o.labels, "label of example 0")
	}
	return o
}

// startExample resets the per-example positions for the forward pass of
// the example in g.fwdEx.
func (o *outputs) startExample() {
	p := o.g.p
	if o.store != nil {
		o.g.slot(o.px, o.store.base+o.store.dataOffset(0), o.store.exWords(), o.store.exSlots, o.g.fwdEx)
	}
	if o.store != nil || o.direct != nil {
		p.setReg(o.col, 0, "")
	}
	if o.direct != nil {
		// Every pass of a ring starts at its first row slot.
		p.setReg(o.rrow, 0, "")
		p.setReg(o.rpx, o.direct[0].dataOffset(0), "")
	}
	o.factors(o.g.fwdEx)
}

// factors points o.fptr at the derivative factors of the example in
// register ex.
func (o *outputs) factors(ex int) {
	if o.fbase >= 0 {
		o.g.slot(o.fptr, o.fbase, o.g.c.st.out.pixels()*o.derivWords, o.fslots, ex)
	}
}

// slot leaves in register dst the address of example ex's slot (ex a
// register) in a region of slots slots of words words from base.
func (g *gen) slot(dst, base, words, slots, ex int) {
	p := g.p
	if slots == 1 {
		p.setReg(dst, base, "")
		return
	}
	p.intOp(isa.IntMod, dst, ex, p.konst(slots), "the example's slot")
	p.intOp(isa.IntMul, dst, dst, p.konst(words), "")
	p.addK(dst, dst, base)
}

// pixel stores one finished output pixel.
func (o *outputs) pixel(fin *finisher) {
	p := o.g.p
	if o.store != nil {
		p.st(o.px, fin.z, o.cg, o.store.count, "output for the next stage")
		p.addK(o.px, o.px, o.cg)
	}
	for _, r := range o.direct {
		t := p.reg("addr")
		p.addK(t, o.rpx, r.base)
		p.st(t, fin.z, o.cg, r.count, "output for "+r.reader.String())
	}
	if o.direct != nil {
		p.addK(o.rpx, o.rpx, o.cg)
	}
	if o.store != nil || o.direct != nil {
		// At the end of a row, step over the pads to the next row (the
		// next row slot of the direct rings).
		p.addK(o.col, o.col, 1)
		same := p.label()
		p.beq(o.col, p.konst(o.g.c.st.out.W), same, "end of the row?")
		jump := p.label()
		p.jmp(jump)
		p.mark(same)
		if o.store != nil {
			p.addK(o.px, o.px, o.store.rowWords-o.g.c.st.out.W*o.cg)
		}
		if r := o.direct; r != nil {
			p.addK(o.rrow, o.rrow, 1)
			p.intOp(isa.IntMod, o.rrow, o.rrow, p.konst(r[0].slots), "")
			p.intOp(isa.IntMul, o.rpx, o.rrow, p.konst(r[0].rowWords), "")
			p.addK(o.rpx, o.rpx, r[0].dataOffset(0))
		}
		p.setReg(o.col, 0, "")
		p.mark(jump)
	}
	if o.fbase >= 0 {
		p.st(o.fptr, fin.f, o.derivWords, 1, "derivative factors, read back in backward")
		p.addK(o.fptr, o.fptr, o.derivWords)
	}
	if o.out >= 0 {
		switch o.g.b.head {
		case onnx.LogSoftmax:
			p.alu(isa.AluLogSoftmax, fin.z, fin.z, 0, o.cg, "log_softmax head")
		case onnx.Softmax:
			p.alu(isa.AluLogSoftmax, fin.z, fin.z, 0, o.cg, "softmax head: log_softmax")
			p.alu(isa.AluExp, fin.z, fin.z, 0, o.cg, "then exp")
		}
		p.st(o.optr, fin.z, o.cg, 1, "result")
		p.addK(o.optr, o.optr, o.cg)
	}
}

// loss computes the error at the network's output into e: softmax cross
// entropy as log_softmax_d of the error -onehot at the log-probabilities
// (the labels are stored negated), MSE as y - onehot.
func (o *outputs) loss(fin *finisher, e int) {
	p := o.g.p
	lab := fin.tmp
	p.ld(lab, o.lptr, o.cg, "label")
	p.addK(o.lptr, o.lptr, o.classes)
	if o.g.b.loss == model.MSE {
		p.alu(isa.AluSub, e, fin.z, lab, o.cg, "MSE error y - onehot")
		return
	}
	p.alu(isa.AluLogSoftmax, e, fin.z, 0, o.cg, "log-probabilities")
	p.alu(isa.AluLogSoftmaxD, e, lab, e, o.cg, "softmax cross-entropy error: log_softmax_d(-onehot)")
}

// --- leads ---

func (g *gen) genLead() {
	c, p, s := g.c, g.p, g.c.st
	gr := c.g
	fin := g.finisher(gr.width(), s.acts, true)
	o := g.outputs(fin)
	zs := g.ports(false, sZ, nil)
	ez := g.onePort(true, sEz, nil)
	e := -1
	if g.b.training && s.train {
		e = p.alloc(gr.width(), "errors")
	}
	last := s.idx == len(g.b.stages)-1
	vb := g.vectorBias(e)
	forward := func() {
		g.restart(zs...)
		o.startExample()
		p.loop(s.out.H, "rows", func(int) {
			p.loop(s.out.W, "pixels", func(int) {
				for _, z := range zs {
					g.get(z, fin.z+z.s.c0-gr.c0)
				}
				vb.add(fin.z)
				fin.forward(p)
				o.pixel(fin)
				if last && g.b.training {
					g.restart(ez)
					o.loss(fin, e)
					fin.backward(p, e)
					g.put(ez, e)
					vb.learn()
				}
			})
		})
		if last {
			vb.resolve(g.fwdEx)
		}
	}
	var backward func()
	if g.b.training && s.train && !last {
		acc := g.accum()
		twoPasses := ez.s.passes == 2
		ezstore, ezptr := -1, -1
		if twoPasses {
			ezstore = g.b.private(c, s.out.pixels()*gr.width(), "errors of one example", false)
			ezptr = p.alloc(1, "errors position")
		}
		backward = func() {
			g.restart(ez)
			o.factors(g.bwdEx)
			if twoPasses {
				p.setReg(ezptr, ezstore, "")
			}
			acc.run(func(row int) {
				acc.drop(row, 0, acc.af.win.pw)
				px := acc.rowPtr(row, acc.af.win.pw)
				p.loop(s.out.W, "pixels", func(int) {
					p.ld(e, px, gr.width(), "error at the output")
					p.addK(px, px, gr.width())
					if o.fbase >= 0 {
						p.ld(fin.f, o.fptr, fin.fwords, "derivative factors")
						p.addK(o.fptr, o.fptr, fin.fwords)
						fin.backward(p, e)
					}
					g.put(ez, e)
					vb.learn()
					if twoPasses {
						p.st(ezptr, e, gr.width(), 1, "kept for the OPA pass")
						p.addK(ezptr, ezptr, gr.width())
					}
				})
				acc.drop(row, acc.af.win.pw+s.out.W, acc.af.cols)
			})
			vb.resolve(g.bwdEx)
			if twoPasses {
				g.restart(ez)
				p.setReg(ezptr, ezstore, "")
				p.loop(s.out.pixels(), "again", func(int) {
					p.ld(e, ezptr, gr.width(), "errors again, for the OPA pass")
					p.addK(ezptr, ezptr, gr.width())
					g.put(ez, e)
				})
			}
		}
	}
	g.examples(pass{load: forward}, passOf(backward))
	vb.keep()
}

// vecBias is the code of a lead whose stage holds its bias in the vector
// unit (stage.vecBias): the group's bias codes in data memory, added to
// every output pixel before the activations, and, when training, updated
// by every pixel's error at the pre-activation as the trainer does
// (docs/training.md, "Biases"). Its methods emit nothing for a stage
// whose bias is on the crossbars.
type vecBias struct {
	g            *gen
	n            int
	read, update int // registers; the same for inplace
	err, tmp     int // the error register; scratch
	eta          int16
	addr         int // register: where keep stores the bias
}

// vectorBias loads the bias of the lead's group; e is its error register
// (-1 where it does not train).
func (g *gen) vectorBias(e int) *vecBias {
	c, p, s := g.c, g.p, g.c.st
	if s.vecBias == nil {
		return &vecBias{}
	}
	gr := c.g
	vb := &vecBias{g: g, n: gr.width(), err: e}
	init := g.b.private(c, vb.n, "bias", false)
	g.b.tile(c.tile).data(init, s.vecBias[gr.c0:gr.c1])
	vb.addr = p.alloc(1, "bias address")
	vb.read = p.alloc(vb.n, "bias")
	p.setReg(vb.addr, init, "")
	p.ld(vb.read, vb.addr, vb.n, "the bias, held in the vector unit")
	vb.update = vb.read
	if e < 0 {
		return vb
	}
	vb.eta, _, _ = fixed.Q4_12.FromFloat(-g.b.cfg.LR)
	vb.tmp = p.alloc(vb.n, "bias update")
	if g.b.cfg.Variant != xbar.Inplace {
		vb.update = p.alloc(vb.n, "bias being updated")
		p.cp(vb.update, vb.read, vb.n, "")
	}
	// Where the trained bias is left for the host (Result.Biases): the
	// copy products read, then the updated one.
	g.b.biases[c] = g.b.private(c, 2*vb.n, "trained bias", false)
	p.setReg(vb.addr, g.b.biases[c], "")
	return vb
}

// add adds the bias to the pre-activation in register z.
func (vb *vecBias) add(z int) {
	if vb.g != nil {
		vb.g.p.alu(isa.AluAdd, z, z, vb.read, vb.n, "bias")
	}
}

// learn updates the bias with one pixel's error at the pre-activation.
func (vb *vecBias) learn() {
	if vb.g == nil || vb.err < 0 {
		return
	}
	p := vb.g.p
	p.alui(isa.AluMul, vb.tmp, vb.err, int(vb.eta), vb.n, "bias update: error times eta")
	p.alu(isa.AluAdd, vb.update, vb.update, vb.tmp, vb.n, "bias update")
}

// resolve emits the bias's part of a CRS after the update of the example
// in register ex, where that example ends an interval between CRSs (see
// examples): the products read the updated bias from then on.
func (vb *vecBias) resolve(ex int) {
	if vb.g == nil || vb.err < 0 || vb.update == vb.read {
		return
	}
	g, p := vb.g, vb.g.p
	end, skip := p.label(), p.label()
	p.addK(vb.tmp, ex, 1)
	p.beq(vb.tmp, p.konst(g.b.examples), end, "the last example?")
	p.intOp(isa.IntMod, vb.tmp, vb.tmp, p.konst(g.b.period()), "")
	p.beq(vb.tmp, p.konst(0), end, "the end of an interval between CRSs?")
	p.jmp(skip)
	p.mark(end)
	p.cp(vb.read, vb.update, vb.n, "the bias's carry resolution")
	p.mark(skip)
}

// keep stores the trained bias, read copy then update copy, at the end of
// a training program.
func (vb *vecBias) keep() {
	if vb.g == nil || vb.err < 0 {
		return
	}
	p := vb.g.p
	p.st(vb.addr, vb.read, vb.n, 1, "the trained bias (read copy)")
	p.addK(vb.addr, vb.addr, vb.n)
	p.st(vb.addr, vb.update, vb.n, 1, "the trained bias (update copy)")
}

// passOf is the backward pass that runs body, or none.
func passOf(body func()) *pass {
	if body == nil {
		return nil
	}
	return &pass{load: body}
}

// --- pooling and activation stages ---

func (g *gen) genGroup() {
	c, p, s := g.c, g.p, g.c.st
	gr := c.g
	cg := gr.width()
	fin := g.finisher(cg, s.acts, false)
	o := g.outputs(fin)
	regs := g.b.regionsFor(c)
	w := g.winReader(s.fr, regs)
	win := s.win
	// all holds every value of the current window, offset (i, j) at
	// (i*kw + j)*cg, for the backward pass of max pooling.
	all := -1
	if s.backIn && s.spec.Kind == model.MaxPool {
		all = p.alloc(win.offsets()*cg, "a window")
	}
	load := w.rowLoader()
	// fold loads kernel row i and folds it into the window's result, region
	// by region (each region is one input group of channels).
	fold := func(i int) {
		load(i)
		if i >= win.kh {
			return
		}
		for k, r := range regs {
			off := r.g.c0 - gr.c0
			for j := range win.kw {
				src := w.scratch[k][i] + j*r.cg
				switch {
				case s.kind == stVector || i == 0 && j == 0:
					p.cp(fin.z+off, src, r.cg, "")
				case s.spec.Kind == model.MaxPool:
					p.alu(isa.AluMax, fin.z+off, fin.z+off, src, r.cg, "max")
				default:
					p.alu(isa.AluAdd, fin.z+off, fin.z+off, src, r.cg, "sum")
				}
				if all >= 0 {
					p.cp(all+(i*win.kw+j)*cg+off, src, r.cg, "")
				}
			}
		}
	}
	forward := func() {
		o.startExample()
		w.example(g.fwdEx)
		w.sweep("forward", func(x int) {
			for i := range s.fr.kh2 {
				fold(i)
			}
			if s.spec.Kind == model.AvgPool {
				p.alui(isa.AluDiv, fin.z, fin.z, win.offsets()<<12, cg, "mean: round(sum / n) as the trainer's exact mean")
			}
			fin.forward(p)
			o.pixel(fin)
		})
	}
	var backward func()
	if g.b.training && s.backIn {
		acc := g.accum()
		dwins := g.ports(true, sDwin, nil)
		var recs []int
		for _, d := range dwins {
			recs = append(recs, p.alloc(d.s.words, "input errors of a window"))
		}
		rec := p.alloc(win.offsets()*cg, "input errors of a window")
		mask := -1
		if g.b.consumerMasks(g.b.stages[s.idx-1]) {
			mask = p.alloc(win.offsets()*cg, "the input's derivative factors")
		}
		e := p.alloc(cg, "error at the output")
		nt := p.alloc(cg, "not yet taken")
		px := p.alloc(1, "error pixel")
		backward = func() {
			g.restart(dwins...)
			o.factors(g.bwdEx)
			if all >= 0 {
				w.example(g.bwdEx)
				w.start()
				p.loop(w.nvirt+s.fr.qy, "junk rows before", func(int) { w.row("junk", func(int) {}) })
			}
			pixel := func() {
				p.ld(e, px, cg, "error at the output")
				p.addK(px, px, cg)
				if o.fbase >= 0 {
					p.ld(fin.f, o.fptr, fin.fwords, "derivative factors")
					p.addK(o.fptr, o.fptr, fin.fwords)
					fin.backward(p, e)
				}
				g.poolBackward(s, fin, all, e, nt, rec)
				if mask >= 0 {
					// The input's derivative factors, from the window the
					// maximum was taken over (see consumerMasks).
					emitMask(p, g.b.stages[s.idx-1], rec, all, mask, cg*win.offsets())
				}
				// Each input group's owner gets its channels of every offset.
				for k, d := range dwins {
					n := d.s.words / win.offsets()
					for o := range win.offsets() {
						p.cp(recs[k]+o*n, rec+o*cg+d.s.c0-gr.c0, n, "")
					}
					g.put(d, recs[k])
				}
			}
			acc.run(func(row int) {
				acc.drop(row, 0, acc.af.win.pw)
				p.cp(px, acc.rowPtr(row, acc.af.win.pw), 1, "")
				if all < 0 {
					p.loop(s.out.W, "pixels", func(int) { pixel() })
				} else {
					// Max pooling recomputes each window's maximum from
					// its input, read again over the same origins.
					w.row("window", func(int) {
						for i := range s.fr.kh2 {
							fold(i)
						}
						pixel()
					})
				}
				acc.drop(row, acc.af.win.pw+s.out.W, acc.af.cols)
			})
			if all >= 0 {
				p.loop(s.fr.ny-s.fr.qy-s.fr.outH, "junk rows after", func(int) { w.row("junk", func(int) {}) })
			}
		}
	}
	g.examples(pass{load: forward}, passOf(backward))
}

// poolBackward fills rec with the input errors of one window: max pooling
// routes e to the first maximum in raster order (as the trainer's argmax),
// average pooling gives every input round(e / n).
func (g *gen) poolBackward(s *stage, fin *finisher, all, e, nt, rec int) {
	p, cg, n := g.p, fin.cg, s.win.offsets()
	if s.spec.Kind == model.AvgPool {
		p.alui(isa.AluDiv, fin.tmp, e, n<<12, cg, "share = round(e / n)")
		for k := range n {
			p.cp(rec+k*cg, fin.tmp, cg, "")
		}
		return
	}
	m := fin.tmp
	p.cp(m, all, cg, "")
	for k := 1; k < n; k++ {
		p.alu(isa.AluMax, m, m, all+k*cg, cg, "the window's maximum")
	}
	p.cp(nt, fin.ones, cg, "")
	for k := range n {
		sel := rec + k*cg
		p.alu(isa.AluEq, sel, all+k*cg, m, cg, "at the maximum?")
		p.alu(isa.AluMul, sel, sel, nt, cg, "and the first there")
		p.alu(isa.AluSub, nt, nt, sel, cg, "")
		p.alu(isa.AluMul, sel, sel, e, cg, "gets the error")
	}
}

// --- accumulating errors ---

// accum adds the input errors that the next stage sends for this core's
// output map into an error map, a ring of rows, and hands out its rows as
// they are complete.
type accum struct {
	g        *gen
	af       accFrame
	cg       int
	base     int // ring of af.ringRows rows
	rowWords int
	srcs     []*port
	recs     []int // per source: its record buffer
	pieces   [][]accPiece
	rows     []int // per kernel row: the current row address
	tmp      int
	zeros    int // zeros registers
	dummy    int // where dropped words are loaded
	block    int // words of zeros and of dropped words: min(rowWords, maxBlock)
	flags    int // shared-memory address: 1 for data rows of the frame
	initRow  int // registers: the next row to clear, to hand out
	drainRow int
	rowAddr  int
	ys       int // register: the first frame row of the current pixel row
}

type accPiece struct {
	src    int // source index
	c0, c1 int // channels, within the group
	off    int // their position in the source's record
}

// accum sets up the accumulation of the next stage's input errors.
func (g *gen) accum() *accum {
	b, c, p := g.b, g.c, g.p
	next := b.stages[c.st.idx+1]
	gr := c.g
	a := &accum{g: g, af: newAccFrame(next.fr), cg: gr.width()}
	a.rowWords = a.af.cols * a.cg
	a.base = b.private(c, (a.af.ringRows)*a.rowWords, "error map rows", false)
	a.flags = b.accFlagTable(c.tile, a.af)
	win := next.win
	a.pieces = make([][]accPiece, win.offsets())
	for _, s := range b.reads[c] {
		if s.stage != next || (s.kind != sDpatch && s.kind != sDwin) {
			continue
		}
		var runs []run
		if s.kind == sDpatch {
			// This owner's lines of the row tile, from s.c0 on.
			for _, r := range next.rowTile(s.rt).runs {
				if r.line >= s.c0 && r.line < s.c0+s.words {
					r.line -= s.c0
					runs = append(runs, r)
				}
			}
		} else {
			for i := range win.kh {
				for j := range win.kw {
					runs = append(runs, run{i: i, j: j, c0: gr.c0, c1: gr.c1, line: (i*win.kw + j) * a.cg})
				}
			}
		}
		k := len(a.srcs)
		a.srcs = append(a.srcs, g.port(s, false))
		a.recs = append(a.recs, p.alloc(s.words, "an input-error record"))
		for _, r := range runs {
			lo, hi := max(r.c0, gr.c0), min(r.c1, gr.c1)
			if lo < hi {
				o := r.i*win.kw + r.j
				a.pieces[o] = append(a.pieces[o], accPiece{src: k, c0: lo - gr.c0, c1: hi - gr.c0, off: r.line + lo - r.c0})
			}
		}
	}
	for i := 0; i < win.kh; i++ {
		a.rows = append(a.rows, p.alloc(1, "error row address"))
	}
	a.tmp = p.alloc(a.cg, "error pixel")
	a.block = min(a.rowWords, maxBlock)
	a.zeros = p.alloc(a.block, "zeros")
	p.set(a.zeros, 0, a.block, "zeros to clear error rows")
	a.dummy = p.alloc(a.block, "dropped words")
	a.initRow, a.drainRow, a.rowAddr, a.ys = p.alloc(1, "next row to clear"), p.alloc(1, "next row to hand out"), p.alloc(1, "row address"), p.alloc(1, "pixel row")
	return a
}

// maxBlock bounds the registers used to clear or drop words at once.
const maxBlock = 256

// slot leaves the address of frame row r (a register) in a.rowAddr.
func (a *accum) slot(r int) int {
	p := a.g.p
	p.intOp(isa.IntMod, a.rowAddr, r, p.konst(a.af.ringRows), "")
	p.intOp(isa.IntMul, a.rowAddr, a.rowAddr, p.konst(a.rowWords), "")
	p.add(a.rowAddr, a.rowAddr, p.konst(a.base))
	return a.rowAddr
}

// clear zeroes n rows from a.initRow on.
func (a *accum) clear(n int) {
	p := a.g.p
	p.loop(n, "clear", func(int) {
		addr := a.slot(a.initRow)
		for off := 0; off < a.rowWords; off += a.block {
			t := p.reg("addr")
			p.addK(t, addr, off)
			p.st(t, a.zeros, min(a.block, a.rowWords-off), 1, "clear an error row")
		}
		p.add(a.initRow, a.initRow, p.konst(1))
	})
}

// drain hands out n rows from a.drainRow on: data rows to row, pad rows
// are read and dropped.
func (a *accum) drain(n int, row func(addr int)) {
	p := a.g.p
	p.loop(n, "drain", func(int) {
		addr := a.slot(a.drainRow)
		flag := p.reg("flag")
		t := p.reg("addr")
		p.add(t, a.drainRow, p.konst(a.flags))
		p.ld(flag, t, 1, "a data row?")
		pad, done := p.label(), p.label()
		p.beq(flag, p.konst(0), pad, "")
		row(addr)
		p.jmp(done)
		p.mark(pad)
		a.drop(addr, 0, a.af.cols)
		p.mark(done)
		p.add(a.drainRow, a.drainRow, p.konst(1))
	})
}

// drop reads and discards columns [x0, x1) of the row at addr.
func (a *accum) drop(addr, x0, x1 int) {
	p := a.g.p
	for off := x0 * a.cg; off < x1*a.cg; off += a.block {
		t := p.reg("addr")
		p.addK(t, addr, off)
		p.ld(a.dummy, t, min(a.block, x1*a.cg-off), "pad errors, dropped")
	}
}

// rowPtr returns a register pointing at column x of the handed-out row.
func (a *accum) rowPtr(addr, x int) int {
	p := a.g.p
	r := p.reg("error pixel address")
	p.addK(r, addr, x*a.cg)
	return r
}

// run accumulates one example's input errors and hands out the rows of
// the error map in order as they are complete.
func (a *accum) run(row func(addr int)) {
	p, af, win := a.g.p, a.af, a.af.win
	a.g.restart(a.srcs...)
	p.setReg(a.initRow, 0, "")
	p.setReg(a.drainRow, 0, "")
	p.setReg(a.ys, 0, "")
	pre := win.kh // rows cleared before each pixel row, from the second on
	if win.kh >= win.sh {
		pre = win.sh
	}
	a.clear(win.kh - pre)
	p.loop(af.outH, "error rows", func(int) {
		a.clear(pre)
		for i := range win.kh {
			t := p.reg("row")
			p.addK(t, a.ys, i)
			p.cp(a.rows[i], a.slot(t), 1, "")
		}
		p.loop(af.outW, "error pixels", func(int) {
			for k, s := range a.srcs {
				a.g.get(s, a.recs[k])
			}
			for i := range win.kh {
				for j := range win.kw {
					ps := a.pieces[i*win.kw+j]
					if len(ps) == 0 {
						continue
					}
					t := p.reg("addr")
					p.addK(t, a.rows[i], j*a.cg)
					p.ld(a.tmp, t, a.cg, fmt.Sprintf("error at window offset (%d, %d)", i, j))
					for _, pc := range ps {
						p.alu(isa.AluAdd, a.tmp+pc.c0, a.tmp+pc.c0, a.recs[pc.src]+pc.off, pc.c1-pc.c0, "add the input errors")
					}
					p.st(t, a.tmp, a.cg, 1, "")
				}
			}
			for i := range win.kh {
				p.addK(a.rows[i], a.rows[i], win.sw*a.cg)
			}
		})
		if win.kh < win.sh {
			a.clear(win.sh - win.kh)
		}
		a.drain(win.sh, row)
		p.addK(a.ys, a.ys, win.sh)
	})
	rest := af.rows - af.outH*win.sh
	cleared := (af.outH-1)*win.sh + win.kh
	if win.kh < win.sh {
		cleared = af.outH * win.sh
	}
	a.clear(af.rows - cleared)
	a.drain(rest, row)
}
