package compiler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/panther-xbar/panther/isa"
)

// This file moves data between tiles. Tile control units have no branches:
// each runs one straight list of sends and receives, and a tile that waits
// for a message stops serving every other transfer. So the order of every
// tile's list must be one in which the whole program can run. The compiler
// finds it by running its own programs, every example, on its machine
// (control flow and shared memory, with a clock of nominal operation times),
// sending messages once their words are valid at the sender and their
// target free at the receiver, receiving them once they have arrived, the
// transfers the clock says can start earliest first, and keeping the order
// in which each control unit did them. Cores run the examples overlapped
// (see pipeline.go), so the order is the whole program's, not one
// example's repeated.

// message is one transfer of one pass of one example: words from a ring
// or store at the sender into a ring at the receiver, which then expects
// count reads of each.
type message struct {
	src, dst int // tiles
	from, to int // addresses
	words    int
	count    int
	stream   int // messages of one stream into one ring keep their order
	ring     int // that ring's base
	// A store's slot holds one example after another, and its readers'
	// messages take different paths: every message of the slot's use
	// before (its generation, counted from 0) must be sent before a
	// message of the next. Record streams have one reader per send ring
	// and keep their order anyway (slot -1).
	slot, gen int
	what      string
}

// messages lists the program's transfers, in a fixed order: record
// streams, then maps, each example, pass and chunk in the order the
// receiving core reads them. A message into the sender's own tile is a
// copy through the tile's control unit. A chunk that no one width x vec
// transfer moves is two messages (see splitWords), as it is two sends
// and two receives.
func (b *build) messages() []message {
	var out []message
	for _, msg := range b.chunkMessages() {
		for _, part := range splitWords(msg.words) {
			m := msg
			m.from, m.to, m.words = msg.from+part.off, msg.to+part.off, part.width*part.vec
			out = append(out, m)
		}
	}
	return out
}

// chunkMessages lists the transfers of whole chunks (see messages).
func (b *build) chunkMessages() []message {
	var out []message
	for si, s := range b.streams {
		for _, c := range s.remote() {
			dst := s.rings[c]
			for e := range b.examples {
				for pass := range s.passes {
					first := s.first(e*s.passes + pass)
					for k := 0; k*s.chunk < s.perPass; k++ {
						n := min(s.chunk, s.perPass-k*s.chunk)
						off := ((first + k*s.chunk) % s.recs) * s.words
						out = append(out, message{src: s.writer.tile, dst: c.tile, from: s.send[c].base + off, to: dst.base + off,
							words: n * s.words, count: dst.count, stream: si, ring: dst.base, slot: -1,
							what: fmt.Sprintf("%s for %s, example %d, pass %d, records %d..%d", s.name, c, e, pass+1, k*s.chunk, k*s.chunk+n-1)})
					}
				}
			}
		}
	}
	id := len(b.streams)
	for _, r := range b.maps {
		if r.kind != regRing || r.direct {
			continue
		}
		st := r.src
		for _, ps := range b.passOrder(r.reader, r.passes == 2) {
			from := st.base + ps.example%st.exSlots*st.exWords()
			for k := 0; k*r.chunk < r.fr.in.H; k++ {
				n := min(r.chunk, r.fr.in.H-k*r.chunk)
				out = append(out, message{src: st.tile, dst: r.tile, from: from + k*r.chunk*st.rowWords,
					to: r.base + (k*r.chunk%r.slots)*r.rowWords, words: n * r.rowWords, count: r.count, stream: id, ring: r.base,
					slot: from, gen: ps.example / st.exSlots,
					what: fmt.Sprintf("rows %d..%d of channels %s of %s for %s, example %d, pass %d", k*r.chunk, k*r.chunk+n-1, chans(r.g), r.g.st.name(), r.reader, ps.example, ps.pass+1)})
			}
		}
		id++
	}
	return out
}

// event is one transfer instruction the schedule placed: the send of
// message msg (at its sender's control unit) or its receive (at its
// receiver's).
type event struct {
	msg     int // index into b.messages()
	receive bool
}

// schedule runs b's programs and returns the order in which the control
// units sent and received their messages (indices into b.messages()); it
// records the traffic in b.traffic. A send and its receive are separate
// instructions on two control units, as in the simulator: the sender is
// busy while it reads and serialises the message, the message then flies,
// and the receiver stores it once it has arrived, meanwhile free for its
// other transfers. One message per sender and receiver is in flight. When
// the program cannot finish it also lists the streams (by id) whose
// writers wait for room in a full ring.
func (b *build) schedule(code map[int]*isa.TileCode) ([]event, []int, error) {
	msgs := b.messages()
	b.traffic = Traffic{}
	m := newMachine(b.a)
	for _, tc := range code {
		m.load(isa.TileCode{Tile: tc.Tile, Cores: tc.Cores, Data: tc.Data})
	}
	// Messages of one stream into one ring go in their order: only the
	// head of each queue can go.
	var queues [][]int
	qOf := map[[3]int]int{}
	for i, msg := range msgs {
		k := [3]int{msg.stream, msg.dst, msg.ring}
		q, ok := qOf[k]
		if !ok {
			q = len(queues)
			qOf[k] = q
			queues = append(queues, nil)
		}
		queues[q] = append(queues[q], i)
	}
	head := make([]int, len(queues))
	// Every message of a queue has one sender and one receiver: their
	// tiles, and the link between them, numbered in (sender, receiver)
	// order.
	qSrc, qDst, qLink := make([]*mtile, len(queues)), make([]*mtile, len(queues)), make([]int, len(queues))
	linkOf := map[[2]int]int{}
	for _, q := range queues {
		linkOf[[2]int{msgs[q[0]].src, msgs[q[0]].dst}] = 0
	}
	for i, k := range slices.SortedFunc(maps.Keys(linkOf), func(x, y [2]int) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	}) {
		linkOf[k] = i
	}
	for q, ms := range queues {
		msg := msgs[ms[0]]
		qSrc[q], qDst[q], qLink[q] = m.tile(msg.src), m.tile(msg.dst), linkOf[[2]int{msg.src, msg.dst}]
	}
	// A store slot's uses: left counts the messages of each not yet sent;
	// useOf and prevOf give each message's use and the slot's use before
	// it (-1: none, or not a store's).
	type use struct{ tile, slot, gen int }
	useID := map[use]int{}
	useOf, prevOf := make([]int, len(msgs)), make([]int, len(msgs))
	id := func(u use) int {
		i, ok := useID[u]
		if !ok {
			i = len(useID)
			useID[u] = i
		}
		return i
	}
	for i, msg := range msgs {
		useOf[i], prevOf[i] = -1, -1
		if msg.slot >= 0 {
			useOf[i] = id(use{msg.src, msg.slot, msg.gen})
			if msg.gen > 0 {
				prevOf[i] = id(use{msg.src, msg.slot, msg.gen - 1})
			}
		}
	}
	left := make([]int, len(useID))
	for _, u := range useOf {
		if u >= 0 {
			left[u]++
		}
	}
	ready := func(i int) bool { return prevOf[i] < 0 || left[prevOf[i]] == 0 }
	// inFlight holds, per link, the message sent and not yet received.
	type flight struct {
		msg    int
		data   []int16
		arrive int64
	}
	inFlight := make([]*flight, len(linkOf))
	// canSend returns queue q's head if it can be sent now: no message of
	// its sender to its receiver is in flight, its words are valid, and its
	// target is free, so that the receive never waits for room (the
	// target's ring is written by this queue alone).
	// Each queue remembers the word that last held its head up (at the
	// sender: not valid; at the receiver: not free), which most often still
	// does: every round asks every queue.
	stuck := make([]int, len(queues))
	for q := range stuck {
		stuck[q] = -1
	}
	canSend := func(q int) (int, bool) {
		if head[q] == len(queues[q]) || inFlight[qLink[q]] != nil {
			return 0, false
		}
		i := queues[q][head[q]]
		if !ready(i) {
			return 0, false
		}
		msg, src, dst := &msgs[i], qSrc[q], qDst[q]
		if w := stuck[q]; w >= 0 && (w < len(src.mem) && src.readers[w] == 0 || w >= len(src.mem) && dst.readers[w-len(src.mem)] != 0) {
			return 0, false
		}
		if w := src.firstInvalid(msg.from, msg.from+msg.words); w >= 0 {
			stuck[q] = w
			return 0, false
		}
		if w := dst.firstUsed(msg.to, msg.to+msg.words); w >= 0 {
			stuck[q] = len(src.mem) + w
			return 0, false
		}
		return i, true
	}
	// The clock at which a send starts (its words valid, its control unit
	// through with its previous transfer) and a receive (the message
	// arrived, its target freed, the control unit free).
	sendAt := func(q, i int) int64 {
		msg := &msgs[i]
		return max(qSrc[q].latest(msg.from, msg.from+msg.words), qSrc[q].clock)
	}
	receiveAt := func(f *flight) int64 {
		msg := &msgs[f.msg]
		dst := m.tile(msg.dst)
		return max(dst.clock, f.arrive, dst.latest(msg.to, msg.to+msg.words))
	}
	var order []event
	type cand struct {
		q    int // the queue whose head is sent, or -1
		link int // else the link whose message is received
		at   int64
	}
	// Each call runs, earliest first, the transfers due within a window of
	// the earliest: one call per transfer would cost a scan of every queue
	// per transfer.
	m.server = func() bool {
		var cs []cand
		for link, f := range inFlight {
			if f != nil {
				cs = append(cs, cand{q: -1, link: link, at: receiveAt(f)})
			}
		}
		for q := range queues {
			if i, ok := canSend(q); ok {
				cs = append(cs, cand{q: q, at: sendAt(q, i)})
			}
		}
		if len(cs) == 0 {
			return false
		}
		slices.SortStableFunc(cs, func(x, y cand) int { return cmp.Compare(x.at, y.at) })
		for _, c := range cs {
			if c.at > cs[0].at+deliveryWindow {
				break
			}
			if c.q < 0 {
				f := inFlight[c.link]
				msg := &msgs[f.msg]
				dst := m.tile(msg.dst)
				at := receiveAt(f)
				dst.clock = at + msgStoreCycles(msg.words)
				dst.fill(f.data, msg.to, msg.count, dst.clock)
				inFlight[c.link] = nil
				order = append(order, event{f.msg, true})
				continue
			}
			i, ok := canSend(c.q)
			if !ok {
				continue
			}
			msg, src := &msgs[i], qSrc[c.q]
			at := sendAt(c.q, i)
			f := &flight{msg: i, data: make([]int16, msg.words)}
			src.consume(f.data, msg.from, msg.from+msg.words, at)
			src.clock = at + msgSendCycles(msg.words)
			f.arrive = src.clock
			if msg.src != msg.dst { // a tile's own loop-back passes no router
				f.arrive += msgFlightCycles
			}
			inFlight[qLink[c.q]] = f
			b.traffic.count(b.a, *msg)
			if u := useOf[i]; u >= 0 {
				left[u]--
			}
			order = append(order, event{i, false})
			head[c.q]++
			stuck[c.q] = -1
		}
		return true
	}
	if err := m.run(1 << 40); err != nil {
		var pend []string
		for q := range queues {
			if head[q] == len(queues[q]) || !ready(queues[q][head[q]]) {
				continue
			}
			msg := msgs[queues[q][head[q]]]
			why := "its words are not valid at the sender"
			if m.tile(msg.src).valid(msg.from, msg.from+msg.words) {
				why = "its target is not free at the receiver"
			}
			pend = append(pend, fmt.Sprintf("\n  tile %d to %d: %s: %s", msg.src, msg.dst, msg.what, why))
		}
		return nil, b.fullRings(m), fmt.Errorf("the transfers between tiles cannot be ordered: %w\npending transfers:%s", err, strings.Join(pend, ""))
	}
	if len(order) != 2*len(msgs) {
		return nil, nil, fmt.Errorf("internal error: %d of %d transfers between tiles never happen", len(msgs)-len(order)/2, len(msgs))
	}
	b.traffic.SharedLoadWords, b.traffic.SharedStoreWords = m.loaded, m.stored
	return order, nil, nil
}

// fullRings lists the streams whose writers wait to store into one of
// their rings, in id order.
func (b *build) fullRings(m *machine) []int {
	var ids []int
	for _, p := range m.procs {
		in := p.insts[p.pc]
		if p.halted || in.Op != isa.OpSt {
			continue
		}
		addr := int(uint16(p.regs[in.D1]))
		for _, s := range b.streams {
			if s.writer.tile != p.t.id || s.writer.num != p.core || slices.Contains(ids, s.id) {
				continue
			}
			for _, r := range slices.Concat(slices.Collect(maps.Values(s.rings)), slices.Collect(maps.Values(s.send))) {
				if r.tile == p.t.id && addr >= r.base && addr < r.base+r.recs*r.words {
					ids = append(ids, s.id)
					break
				}
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// deliveryWindow is how much later than the earliest a transfer may be
// due to go in the same round of the schedule.
const deliveryWindow = 200

// Nominal transfer times for the clock, the default presets' (see
// docs/simulator.md): a send reads its words through the 256-bit port
// (16 words an access) and serialises them into 32-bit flits (2 words a
// flit); the message then crosses about two routers (about 31 cycles
// each); a receive writes its words through the port.
const msgFlightCycles = 62

func msgSendCycles(words int) int64  { return int64((words+15)/16 + (words+1)/2) }
func msgStoreCycles(words int) int64 { return int64((words+15)/16 + 1) }

// ctlProg is a tile control unit's program.
type ctlProg struct {
	insts []isa.Inst
	notes []string
}

// transfers writes every tile's sends and receives in the order found by
// schedule.
func (b *build) transfers(order []event) (map[int]*ctlProg, error) {
	msgs := b.messages()
	out := map[int]*ctlProg{}
	prog := func(t int) *ctlProg {
		if out[t] == nil {
			out[t] = &ctlProg{}
		}
		return out[t]
	}
	for _, ev := range order {
		msg := msgs[ev.msg]
		w, v, _ := transfer(msg.words) // one transfer: see messages
		if ev.receive {
			r := prog(msg.dst)
			r.insts = append(r.insts, isa.Inst{Op: isa.OpReceive, Addr: msg.to, Tile: msg.src, Width: w, Counter: msg.count, Vec: v})
			r.notes = append(r.notes, "receive "+msg.what)
			continue
		}
		s := prog(msg.src)
		s.insts = append(s.insts, isa.Inst{Op: isa.OpSend, Addr: msg.from, Tile: msg.dst, Width: w, Vec: v, TargetAddr: msg.to})
		s.notes = append(s.notes, "send "+msg.what)
	}
	for _, t := range slices.Sorted(maps.Keys(out)) {
		p := out[t]
		p.insts = append(p.insts, isa.Inst{Op: isa.OpHalt})
		p.notes = append(p.notes, "")
		if len(p.insts) > b.a.TileInstMem {
			return nil, doesNotFit("tile %d needs %d transfer instructions for %d examples (%d per example); its instruction memory holds %d: stream fewer examples per program",
				t, len(p.insts), b.examples, (len(p.insts)-1)/b.examples, b.a.TileInstMem)
		}
	}
	return out, nil
}

type wordPart struct{ off, width, vec int }

// splitWords cuts n words into at most two width x vec transfers.
func splitWords(n int) []wordPart {
	w, v, rest := transfer(n)
	parts := []wordPart{{0, w, v}}
	if rest > 0 {
		parts = append(parts, wordPart{w * v, rest, 1})
	}
	return parts
}

// topUp reads the pad columns of row i of ring k as often as its data
// columns are read, when the row enters the windows. A ring receives whole
// rows from the store, pads included, with one reader count, but the
// windows read the columns near the edges less often; its reader makes up
// the difference, so every word of the ring is freed.
func (g *gen) topUp(w *winReader, k, i int) {
	r := w.regs[k]
	if r.kind != regRing || !r.needsTopUp() {
		return
	}
	p, fr := g.p, w.fr
	mh, mw := fr.kh2/fr.win.sh, fr.kw2/fr.win.sw
	row := w.rows[k][i]
	skip := p.label()
	p.beq(row, p.konst(r.zero), skip, "a pad row needs nothing")
	for x := 0; x < fr.ws; {
		if x == fr.ac {
			x += fr.in.W
			continue
		}
		d := mw - fr.colReads(x)
		end := x + 1
		for end < fr.ws && end != fr.ac && mw-fr.colReads(end) == d {
			end++
		}
		if d > 0 {
			t := p.reg("addr")
			p.addK(t, row, x*r.cg)
			p.loop(mh*d, "pad reads", func(int) {
				p.ld(w.scratch[k][0], t, (end-x)*r.cg, "pad reads the windows do not make")
			})
		}
		x = end
	}
	p.mark(skip)
}
