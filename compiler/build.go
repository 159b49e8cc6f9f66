package compiler

import (
	"fmt"
	"maps"
	"slices"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/xbar"
)

// build is one compilation in progress: the stages, their cores, and the
// regions and streams that connect them.
type build struct {
	a        isa.Arch
	cfg      Config
	training bool
	head     onnx.Head
	stages   []*stage
	input    []*group
	cores    []*core
	mem      map[int]*tileMem
	data     Dataset
	examples int

	// Map regions: the network input by tile and group, each group's
	// store, each reader's rings by group; maps lists them all in order.
	inputs  map[int]map[*group]*mapRegion
	stores  map[*group]*mapRegion
	ringOf  map[*core]map[*group]*mapRegion
	maps    []*mapRegion
	streams []*recStream
	// Per core: the record streams it writes and reads, keyed by name.
	writes map[*core][]*recStream
	reads  map[*core][]*recStream
	// Per tile and frame: the tables that say which origins are real, and
	// which rows of an error map hold data.
	flags    map[flagKey]int
	accFlags map[accKey]int
	outs     map[*core]int // inference results, by core
	biases   map[*core]int // trained biases held by leads (vecBias.keep), by core
	loss     model.Loss
	lossFrom string // why the loss is what it is, for the report
	err      error  // the first allocation failure during generation
	// grow multiplies the capacity of a stream's rings, by stream id.
	grow map[int]int
	// chunks is the records per message of each stream, by id; lags is
	// each stage's lag, by index (see rings).
	chunks map[int]int
	lags   map[int]int
	// flight bounds the examples any core holds in flight (its lag + 1);
	// 0 leaves them to the stages and the interval (see placeAndGenerate).
	flight int
	// traffic is the program's, measured by schedule.
	traffic Traffic
}

type flagKey struct {
	tile int
	fr   frame
}

// passes is how many times the cores of stage s read its input map per
// example: matrix stages and max pooling read it again in backward.
func (b *build) passes(s *stage) int {
	if !b.training {
		return 1
	}
	switch {
	case b.keepsInput(s):
		return 1 // the unit cores keep what they read for the OPA
	case s.kind == stMatrix:
		return 2 // the OPA reads the input again
	case s.kind == stPool && s.spec.Kind == "maxpool" && s.backIn:
		return 2 // the backward pass recomputes the window maxima
	}
	return 1
}

// keepsInput reports whether the unit cores of stage s keep the crossbar
// inputs of an example's forward pass, in their tile's shared memory,
// until its OPA reads them (keptInputs), instead of reading the input map
// again: a training stage with one window (a dense layer) whose input
// arrives from another stage, through its tile's control unit. A window
// is as many words as the crossbars' input lines, so keeping it costs a
// store and a load, where reading it again costs the control units a
// transfer per reader; a convolution's map is read through many windows
// and is kept by its owner (storeSlots), and the network input is
// already in the reader's tile.
func (b *build) keepsInput(s *stage) bool {
	return b.training && s.kind == stMatrix && s.fr.ny*s.fr.nx == 1 && s.idx > 0
}

// touches lists the input groups core c reads.
func (b *build) touches(c *core, in []*group) []*group {
	var gs []*group
	for _, g := range in {
		switch c.role {
		case roleUnits:
			hit := false
			for _, t := range c.tiles {
				for _, r := range t.runs {
					if r.c0 < g.c1 && g.c0 < r.c1 {
						hit = true
					}
				}
			}
			if hit {
				gs = append(gs, g)
			}
		case roleGroup:
			if g.c0 >= c.g.c0 && g.c1 <= c.g.c1 {
				gs = append(gs, g)
			}
		}
	}
	return gs
}

// inputGroups is the groups of stage s's input map.
func (b *build) inputGroups(s *stage) []*group {
	if s.idx == 0 {
		return b.input
	}
	return b.stages[s.idx-1].groups
}

// regionsFor returns the regions core c reads, in group order: its own
// rings, or the network input its tile shares.
func (b *build) regionsFor(c *core) []*mapRegion {
	var rs []*mapRegion
	for _, g := range b.touches(c, b.inputGroups(c.st)) {
		if g.owner == nil {
			rs = append(rs, b.inputs[c.tile][g])
		} else {
			rs = append(rs, b.ringOf[c][g])
		}
	}
	return rs
}

// makeRegions creates the map regions. Every word that is reused, example
// after example, has exactly one reader: a fast reader must never take the
// reads a slow one has left and so read the old value as the next one. So
// each owner keeps its outputs in a store of one example that only its
// tile's control unit reads, and sends them, pass after pass, into a ring
// of each core that reads them. A reader in the owner's own tile that
// reads the map once per example has its ring filled by the owner, which
// stores each output there too, as record streams do: a copy through the
// control unit would cost that unit a send and a receive, and keep it
// from the transfers between tiles. The network input never changes and
// is shared. ringBudget bounds a ring's words.
func (b *build) makeRegions(ringBudget int) error {
	b.inputs = map[int]map[*group]*mapRegion{}
	b.stores = map[*group]*mapRegion{}
	b.ringOf = map[*core]map[*group]*mapRegion{}
	b.maps = nil
	for _, s := range b.stages {
		for _, g := range b.inputGroups(s) {
			if g.owner != nil {
				st := &mapRegion{kind: regStore, g: g, tile: g.owner.tile, fr: s.fr, cg: g.width(), rowWords: s.fr.ws * g.width(), slots: s.fr.in.H, exSlots: b.storeSlots(g)}
				b.stores[g] = st
				b.maps = append(b.maps, st)
			}
		}
		for _, c := range b.cores {
			if c.st != s || c.role == roleLead {
				continue
			}
			for _, g := range b.touches(c, b.inputGroups(s)) {
				r := &mapRegion{g: g, tile: c.tile, fr: s.fr, cg: g.width(), rowWords: s.fr.ws * g.width(), passes: b.passes(s)}
				if g.owner == nil {
					if b.inputs[c.tile] == nil {
						b.inputs[c.tile] = map[*group]*mapRegion{}
					}
					if b.inputs[c.tile][g] == nil {
						r.kind = regInput
						r.inputLayout(b.examples)
						b.inputs[c.tile][g] = r
						b.maps = append(b.maps, r)
					}
					continue
				}
				r.kind, r.reader, r.src = regRing, c, b.stores[g]
				r.chunk, r.slots = ringRows(s.fr, r.rowWords, ringBudget)
				r.count = s.fr.reads()
				// A reader in the owner's tile that reads the map once per
				// example gets it from the owner directly; the control unit
				// sends the others every word once a pass.
				r.direct = c.tile == g.owner.tile && r.passes == 1
				if !r.direct {
					r.src.count += r.passes
				}
				if b.ringOf[c] == nil {
					b.ringOf[c] = map[*group]*mapRegion{}
				}
				b.ringOf[c][g] = r
				b.maps = append(b.maps, r)
			}
		}
	}
	// A store that the control unit sends nothing from is not needed.
	b.maps = slices.DeleteFunc(b.maps, func(r *mapRegion) bool {
		if r.kind == regStore && r.count == 0 {
			delete(b.stores, r.g)
			return true
		}
		return false
	})
	for _, r := range b.maps {
		if r.kind == regInput || r.count >= 1 && r.count <= 255 {
			continue
		}
		err := fmt.Errorf("channels %d..%d of %s are read %d times per word in tile %d; a reader count must lie in 1..255", r.g.c0, r.g.c1-1, r.g.st.name(), r.count, r.tile)
		if r.count > 255 {
			// More readers than the 8-bit counter field holds; no reader
			// at all is the compiler's own fault.
			err = &CapacityError{Err: err}
		}
		return err
	}
	return nil
}

// ringRows sizes a map ring: rows per message and row slots, so that the
// store can send a message while the windows read the previous one.
func ringRows(fr frame, rowWords, budget int) (chunk, slots int) {
	chunk = max(1, min(fr.in.H, budget/(4*rowWords)))
	return chunk, min(fr.in.H, chunk*((fr.kh2+chunk-1)/chunk+2))
}

// rings sizes stream s: records per message between tiles and ring
// capacity. A message carries up to msgWords words: every message is an
// instruction of the tiles' straight-line transfer programs, so narrow
// records travel many to a message. A record waits at its writer until
// its message is full, so where paths fork and meet again (a core that
// joins the records of several writers), one path may run a message of
// another ahead; every ring of a stage therefore holds its own two
// messages plus the lag: the largest message, in records, of its own and
// the next stage (whose input errors feed this stage's leads). Rings the
// schedule found too small grow by grow[id] (see Compile).
func (b *build) rings(s *recStream) (chunk, recs int) {
	return b.chunks[s.id], b.capacity(s, b.chunks[s.id], b.lags[s.stage.idx])
}

// capacity is a ring's records: a whole number of messages (a message
// never wraps around the ring), or the whole pass; where passes follow
// each other around the ring (restarts) and examples overlap (lag), up to
// inFlight passes, so that a writer need not wait for each pass's
// reader.
func (b *build) capacity(s *recStream, chunk, lag int) int {
	msgs := (2*chunk + lag + chunk - 1) / chunk
	passes := 1
	if s.perPass%chunk == 0 && b.stageLag(b.stages[0], true) > 0 {
		passes = inFlight
	}
	return min(passes*s.perPass, msgs*chunk*max(1, b.grow[s.id]))
}

// inFlight bounds the passes a ring holds.
const inFlight = 4

// sizeChunks fixes the records per message of every stream of stage st,
// and its lag. A core's rings of one stage take at most a quarter of its
// tile's memory; where they would take more, the message (or the lag)
// whose halving saves that core the most gives way. The next stage is
// sized first: its input errors, which feed this stage, count towards
// the lag, and may give way too: makeStreams sizes the stages last to
// first.
func (b *build) sizeChunks(st *stage) {
	var streams, feed []*recStream
	if st.idx+1 < len(b.stages) {
		next := b.stages[st.idx+1]
		for _, t := range b.streams {
			if t.stage == next && (t.kind == sDpatch || t.kind == sDwin) {
				feed = append(feed, t)
			}
		}
	}
	for _, t := range b.streams {
		if t.stage == st {
			streams = append(streams, t)
			b.chunks[t.id] = max(1, min(t.perPass, b.msgWords()/t.words))
		}
	}
	lag := func() int {
		l := 1
		for _, t := range slices.Concat(streams, feed) {
			l = max(l, b.chunks[t.id])
		}
		return l
	}
	// use is the ring words of core c, or of every core when c is nil.
	use := func(c *core, l int) map[*core]int {
		u := map[*core]int{}
		for _, t := range streams {
			if c != nil && t.writer != c && !slices.Contains(t.readers, c) {
				continue
			}
			w := b.capacity(t, b.chunks[t.id], l) * t.words
			u[t.writer] += len(t.readers) * w
			for _, r := range t.readers {
				u[r] += w
			}
		}
		return u
	}
	// Two ways to give way: halve one of over's messages, or cap every
	// message of the stage (and the feed), which shortens the lag.
	trial := func(over *core, apply func()) int {
		saved := map[int]int{}
		for _, t := range slices.Concat(streams, feed) {
			saved[t.id] = b.chunks[t.id]
		}
		apply()
		u := use(over, lag())[over]
		maps.Copy(b.chunks, saved)
		return u
	}
	for {
		l := lag()
		all := use(nil, l)
		var over *core
		for _, t := range streams { // stream order keeps this deterministic
			for _, c := range append([]*core{t.writer}, t.readers...) {
				if all[c] > b.a.SharedWords/4 && (over == nil || all[c] > all[over]) {
					over = c
				}
			}
		}
		if over == nil {
			b.lags[st.idx] = l
			return
		}
		capAll := func() {
			for _, t := range slices.Concat(streams, feed) {
				b.chunks[t.id] = min(b.chunks[t.id], (l+1)/2)
			}
		}
		var big *recStream
		for _, t := range streams {
			if b.chunks[t.id] > 1 && (t.writer == over || slices.Contains(t.readers, over)) &&
				(big == nil || b.chunks[t.id]*t.words > b.chunks[big.id]*big.words) {
				big = t
			}
		}
		halve := func() { b.chunks[big.id] = (b.chunks[big.id] + 1) / 2 }
		switch {
		case big == nil && l == 1:
			b.lags[st.idx] = l
			return // one record a message already: demand reports the rest
		case big == nil:
			capAll()
		case l == 1 || trial(over, halve) <= trial(over, capAll):
			halve()
		default:
			capAll()
		}
	}
}

// msgWords is the size of a message between tiles.
func (b *build) msgWords() int { return b.a.SharedWords / 32 }

// demand estimates the shared memory core c needs in its tile: the rings
// it reads and writes, and an owner's store, derivative factors, error map
// and results. Placement uses it before the regions exist; it counts every
// stream as if it crossed tiles, so it errs on the large side. The
// network input is one region per tile and group, which every core of the
// tile that reads the group shares (makeRegions): shared holds the groups
// the tile's cores already count, and demand adds c's.
func (b *build) demand(c *core, shared map[*group]bool) int {
	words := 0
	s := c.st
	for _, g := range b.touches(c, b.inputGroups(s)) {
		rowWords := s.fr.ws * g.width()
		slots := b.examples * s.fr.inputRows()
		switch {
		case g.owner != nil:
			_, slots = ringRows(s.fr, rowWords, b.a.SharedWords/8)
		case shared[g]:
			continue
		}
		if g.owner == nil {
			shared[g] = true
		}
		words += (slots+1)*rowWords + s.fr.hs + s.fr.ny + s.fr.nx
	}
	for _, st := range b.reads[c] {
		_, recs := b.rings(st)
		words += recs * st.words
	}
	for _, st := range b.writes[c] {
		_, recs := b.rings(st)
		words += len(st.readers) * recs * st.words
	}
	if c.role == roleUnits {
		if b.keepsInput(s) {
			words += (b.lag(c) + 1) * c.lines()
		}
		return words
	}
	cg := c.g.width()
	last := s.idx == len(b.stages)-1
	if !last {
		next := b.stages[s.idx+1]
		words += (b.storeSlots(c.g)*s.out.H+1)*next.fr.ws*cg + next.fr.hs
		if b.training {
			af := newAccFrame(next.fr)
			words += af.ringRows*af.cols*cg + af.rows
		}
	}
	if b.training && s.train && !last {
		smooth := 0
		for _, k := range s.acts {
			if k == model.Sigmoid || k == model.Tanh {
				smooth++
			}
		}
		words += (b.lag(c) + 1) * s.out.pixels() * cg * (1 + smooth)
		if s.kind == stMatrix && b.cfg.Variant == xbar.Inplace && s.backIn && s.out.pixels() > 1 {
			words += s.out.pixels() * cg
		}
	}
	if last {
		words += b.examples * s.out.pixels() * cg
	}
	return words
}

// transferDemand estimates the transfer instructions core c's tile runs
// for it per example, as if every message crossed tiles: a tile's
// straight-line transfer program holds every example's messages, so
// placement keeps each tile's share within its instruction memory. A
// message is a send in one tile and a receive in another; sizes that are
// not a multiple of 16 words take two of each.
func (b *build) transferDemand(c *core) int {
	n := 0
	msgs := func(items, chunk, passes, words int) int {
		full := items / chunk
		k := full * len(splitWords(chunk*words))
		if rest := items % chunk; rest > 0 {
			k += len(splitWords(rest * words))
		}
		return passes * k
	}
	for _, st := range b.writes[c] {
		chunk, _ := b.rings(st)
		n += len(st.readers) * msgs(st.perPass, chunk, st.passes, st.words)
	}
	for _, st := range b.reads[c] {
		chunk, _ := b.rings(st)
		n += msgs(st.perPass, chunk, st.passes, st.words)
	}
	mapMsgs := func(s *stage, g *group, reader *core) int {
		rowWords := s.fr.ws * g.width()
		chunk, _ := ringRows(s.fr, rowWords, b.a.SharedWords/8)
		return msgs(s.fr.in.H, chunk, b.passes(reader.st), rowWords)
	}
	for _, g := range b.touches(c, b.inputGroups(c.st)) {
		if g.owner != nil {
			n += mapMsgs(c.st, g, c)
		}
	}
	if c.role != roleUnits && c.st.idx+1 < len(b.stages) {
		next := b.stages[c.st.idx+1]
		for _, r := range b.cores {
			if r.st == next && r.role != roleLead && slices.Contains(b.touches(r, b.inputGroups(next)), c.g) {
				n += mapMsgs(next, c.g, r)
			}
		}
	}
	return n
}

// consumerMasks reports whether the stage after s applies s's derivative
// factors to the input errors it sends, instead of s storing them. That
// works when every factor is exactly 0 or 1 (relu, and the saturation
// stand-in), so that masking each addend equals masking the sum, and when
// the next stage has s's outputs at hand in backward: a matrix stage's
// OPA pass loads them, max pooling reads them again. An inplace matrix
// stage with an MTVM pass before its OPA pass does not have them then.
func (b *build) consumerMasks(s *stage) bool {
	if !b.training || !s.train || s.idx+1 >= len(b.stages) {
		return false
	}
	for _, k := range s.acts {
		if k != model.ReLU {
			return false
		}
	}
	next := b.stages[s.idx+1]
	switch {
	case next.kind == stMatrix:
		return !(b.cfg.Variant == xbar.Inplace && next.fr.outH*next.fr.outW > 1)
	case next.spec.Kind == model.MaxPool:
		return true
	}
	return false
}

// emitMask multiplies n errors at e by s's exact derivative factors,
// computed from s's outputs at x (see consumerMasks): relu's x > 0, and for
// a matrix stage the saturation stand-in x != 32767 (and x != -32768
// without relu). tmp holds n words of scratch.
func emitMask(p *prog, s *stage, e, x, tmp, n int) {
	relu := len(s.acts) > 0
	switch {
	case relu:
		p.alui(isa.AluGt, tmp, x, 0, n, "relu derivative of the input")
		p.alu(isa.AluMul, e, e, tmp, n, "")
		if s.kind == stMatrix {
			p.alui(isa.AluNeq, tmp, x, 32767, n, "saturation stand-in of the input")
			p.alu(isa.AluMul, e, e, tmp, n, "")
		}
	case s.kind == stMatrix:
		p.alui(isa.AluNeq, tmp, x, 32767, n, "saturation stand-in of the input")
		p.alu(isa.AluMul, e, e, tmp, n, "")
		p.alui(isa.AluNeq, tmp, x, -32768, n, "")
		p.alu(isa.AluMul, e, e, tmp, n, "")
	}
}

// stream creates a record stream.
func (b *build) stream(kind streamKind, st *stage, w *core, readers []*core, words, perPass, passes int) *recStream {
	s := &recStream{id: len(b.streams), kind: kind, writer: w, readers: readers, words: words, perPass: perPass, passes: passes, stage: st,
		rings: map[*core]*recRing{}, send: map[*core]*recRing{}}
	s.name = fmt.Sprintf("%s of stage %d (%s)", kindNames[kind], st.idx, st.name())
	b.streams = append(b.streams, s)
	b.writes[w] = append(b.writes[w], s)
	for _, r := range readers {
		b.reads[r] = append(b.reads[r], s)
	}
	return s
}

var kindNames = [...]string{"tree partials", "outputs", "errors", "input-error partials", "input errors", "pooling input errors"}

// unitCore returns the unit core holding row tile rt of column ct.
func (b *build) unitCore(s *stage, rt, ct int) *core {
	for _, c := range b.cores {
		if c.st == s && c.role == roleUnits && c.ct == ct && slices.Contains(c.rts, rt) {
			return c
		}
	}
	return nil
}

// makeStreams creates every record stream of the program.
func (b *build) makeStreams() {
	b.streams, b.writes, b.reads = nil, map[*core][]*recStream{}, map[*core][]*recStream{}
	b.chunks, b.lags = map[int]int{}, map[int]int{}
	for _, s := range b.stages {
		P := s.fr.outH * s.fr.outW
		if s.kind != stMatrix {
			if s.backIn {
				for _, g := range s.groups {
					for _, in := range b.inputGroups(s) {
						if in.c0 >= g.c0 && in.c1 <= g.c1 {
							st := b.stream(sDwin, s, g.owner, []*core{in.owner}, s.win.offsets()*in.width(), P, 1)
							st.c0 = in.c0
						}
					}
				}
			}
			continue
		}
		nr, nc := s.rowTiles(), s.colTiles()
		// Forward: the tree over row tiles. Core k of a column holds row
		// tiles 2k and 2k+1 and adds them; it then receives from cores
		// k + m for m = 1, 2, 4, ... below k's lowest set bit, in that
		// order, and sends to k - lowbit(k): xbar.TreeSum's level-wise
		// pairing.
		for ct := range nc {
			pairs := (nr + 1) / 2
			for k := 1; k < pairs; k++ {
				st := b.stream(sFpart, s, b.unitCore(s, 2*k, ct), []*core{b.unitCore(s, 2*(k-lowBit(k)), ct)}, s.colB[ct+1]-s.colB[ct], P, 1)
				st.ct, st.rt = ct, 2*k
			}
			for _, g := range s.groups {
				lo, hi := max(g.c0, s.colB[ct]), min(g.c1, s.colB[ct+1])
				if lo < hi {
					st := b.stream(sZ, s, b.unitCore(s, 0, ct), []*core{g.owner}, hi-lo, P, 1)
					st.ct, st.c0 = ct, lo
				}
			}
		}
		if !s.train {
			continue
		}
		// Backward: each lead's errors go to the unit cores of the columns
		// its outputs lie in. An inplace stage with more than one pixel
		// sends them twice: every MTVM of an example reads the weights
		// before any of its OPAs, as the trainer orders them.
		passes := 1
		if b.cfg.Variant == xbar.Inplace && s.backIn && P > 1 {
			passes = 2
		}
		// In a dense stage (one pixel an example) the lead sends them to
		// the first unit core of each column (the one holding row tile
		// 0), which passes them on to the column's other unit cores: a
		// column's cores are consecutive and mostly share a tile, so the
		// record crosses the network once per column, not once per core
		// (each message is a send and a receive, and a tile sends one
		// message at a time to another). A convolution's errors come a
		// pixel at a time, and passing each on would lengthen the first
		// core's program and put it on the path of every other.
		for _, g := range s.groups {
			var readers []*core
			for _, c := range b.cores {
				if c.st == s && c.role == roleUnits && s.colB[c.ct] < g.c1 && g.c0 < s.colB[c.ct+1] && (P > 1 || c.rts[0] == 0) {
					readers = append(readers, c)
				}
			}
			st := b.stream(sEz, s, g.owner, readers, g.width(), P, passes)
			st.c0 = g.c0
			if P > 1 {
				continue
			}
			for _, top := range readers {
				var rest []*core
				for _, c := range b.cores {
					if c.st == s && c.role == roleUnits && c.ct == top.ct && c != top {
						rest = append(rest, c)
					}
				}
				if len(rest) > 0 {
					st := b.stream(sEz, s, top, rest, g.width(), P, passes)
					st.c0 = g.c0
				}
			}
		}
		if !s.backIn {
			continue
		}
		// The tree over column tiles of each row tile's MTVM outputs; its
		// top (column 0) sends the row tile's input errors to the cores
		// that own the input channels the tile reads.
		for rt := range nr {
			t := s.rowTile(rt)
			lines := len(t.phys) - boolInt(t.bias >= 0)
			if lines == 0 {
				continue // a tile of the bias row alone: its error is dropped
			}
			for ct := 1; ct < nc; ct++ {
				st := b.stream(sBpart, s, b.unitCore(s, rt, ct), []*core{b.unitCore(s, rt, ct-lowBit(ct))}, lines, P, 1)
				st.rt, st.ct = rt, ct
			}
			// Each input group's owner gets its own lines, which the row
			// tile's order keeps together.
			for k, g := range b.inputGroups(s) {
				if l := t.groups[k]; l[1] > l[0] {
					st := b.stream(sDpatch, s, b.unitCore(s, rt, 0), []*core{g.owner}, l[1]-l[0], P, 1)
					st.rt, st.c0 = rt, l[0]
				}
			}
		}
	}
	for k := len(b.stages) - 1; k >= 0; k-- {
		b.sizeChunks(b.stages[k])
	}
}

// lowBit is the lowest set bit of k > 0.
func lowBit(k int) int { return k & -k }
