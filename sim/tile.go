package sim

import (
	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
)

// tile is one tile: its shared memory with valid bits and reader counters,
// the port its cores and control unit share, its receive buffer and its
// control unit.
type tile struct {
	s                *Sim
	id, node, router int
	code             isa.TileCode

	// Shared memory, in pages made at their first store: a tile's program
	// uses part of its memory, and a network has hundreds of tiles.
	pages    []*page
	portFree int64 // the first cycle the shared-memory port is free

	blocked []*proc       // procs waiting on this tile's memory or slots
	slots   map[int]*slot // receive buffer: one slot per sending tile
	ctl     *proc
	cores   []*core
}

const persistent = -1

// A page holds pageWords = 2^pageShift words of shared memory.
const (
	pageShift = 10
	pageWords = 1 << pageShift
)

// page is pageWords words of a tile's shared memory. readers is 0 for a
// free word, the reads left for a valid one, and persistent for initial
// data, which any number of reads leave in place. validAt is when a valid
// word's store completes. A page never stored to holds free zero words.
type page struct {
	mem     [pageWords]int16
	readers [pageWords]int16
	validAt [pageWords]int64
}

// page returns the page holding word i, nil if nothing was stored in it.
func (t *tile) page(i int) *page { return t.pages[i>>pageShift] }

// storePage returns the page holding word i, making it if needed.
func (t *tile) storePage(i int) *page {
	p := t.pages[i>>pageShift]
	if p == nil {
		p = new(page)
		t.pages[i>>pageShift] = p
	}
	return p
}

// readersOf is word i's reader count.
func (t *tile) readersOf(i int) int16 {
	if p := t.page(i); p != nil {
		return p.readers[i&(pageWords-1)]
	}
	return 0
}

// slot is one sender's place in a receive buffer.
type slot struct {
	full     bool
	arriveAt int64 // when the message in it arrives
	freeAt   int64 // when the last receive finished reading it
	target   int   // the address the sender named
	data     []int16
}

func (s *Sim) newTile(tc isa.TileCode) *tile {
	a := s.isa
	local := tc.Tile % a.TilesPerNode
	t := &tile{
		s: s, id: tc.Tile, node: tc.Tile / a.TilesPerNode, router: local / s.arch.Structure.TilesPerRouter,
		code:  tc,
		pages: make([]*page, (a.SharedWords+pageWords-1)/pageWords),
		slots: map[int]*slot{},
	}
	for _, seg := range tc.Data {
		t.fill(seg.Words, seg.Addr, persistent, 0) // nothing waits yet
	}
	return t
}

func (t *tile) slot(sender int) *slot {
	sl := t.slots[sender]
	if sl == nil {
		sl = &slot{}
		t.slots[sender] = sl
	}
	return sl
}

// readable reports the first word of [lo, hi) that is not valid (-1 if
// none) and the latest completion time of their stores.
func (t *tile) readable(lo, hi int) (invalid int, latest int64) {
	for i := lo; i < hi; i++ {
		p := t.page(i)
		if p == nil || p.readers[i&(pageWords-1)] == 0 {
			return i, 0
		}
		latest = max(latest, p.validAt[i&(pageWords-1)])
	}
	return -1, latest
}

// firstValid is the first word of [lo, hi) that is not free, or -1.
func (t *tile) firstValid(lo, hi int) int {
	for i := lo; i < hi; i++ {
		if t.readersOf(i) != 0 {
			return i
		}
	}
	return -1
}

// access reserves the port for n accesses from cycle now, one per cycle in
// the order requests arrive (time, then component id), and returns the
// cycle after the last one completes.
func (t *tile) access(now int64, n int) int64 {
	start := max(now, t.portFree)
	t.portFree = start + int64(n)
	return start + int64(n) - 1 + t.s.t.edram
}

// consume reads [lo, hi) into dst: each word's reader count drops by one
// and a word whose last reader this is becomes free.
func (t *tile) consume(dst []int16, lo, hi int, now int64) {
	freed := false
	for i := lo; i < hi; i++ {
		p := t.page(i)
		if p == nil {
			dst[i-lo] = 0
			continue
		}
		k := i & (pageWords - 1)
		dst[i-lo] = p.mem[k]
		if p.readers[k] > 0 {
			p.readers[k]--
			freed = freed || p.readers[k] == 0
		}
	}
	if freed {
		t.wakeIf(waitFree, lo, hi, 0, now)
	}
}

// fill writes src at lo, valid from cycle at with readers reads to come.
func (t *tile) fill(src []int16, lo int, readers int, at int64) {
	hi := lo + len(src)
	for i := lo; i < hi; i++ {
		p, k := t.storePage(i), i&(pageWords-1)
		p.mem[k] = src[i-lo]
		p.readers[k] = int16(readers)
		p.validAt[k] = at
	}
	t.wakeIf(waitValid, lo, hi, 0, at)
}

// memoryCharge books n shared-memory accesses (reads or writes) of class c
// over [t0, t1): the eDRAM, the bus, the controller and the counter store.
func (s *Sim) memoryCharge(c Class, n int, write bool, t0, t1 int64) {
	comp := &s.arch.Components
	f := float64(n)
	edram := comp.EDRAM.AccessPJ()
	if write {
		edram = comp.EDRAM.WritePJ()
	}
	s.book.add(c, arch.CompEDRAM, f*edram, t0, t1)
	s.book.add(c, arch.CompEDRAMBus, f*comp.EDRAMBus.AccessPJ(), t0, t1)
	s.book.add(c, arch.CompEDRAMController, f*comp.EDRAMController.AccessPJ(), t0, t1)
	s.book.add(c, arch.CompCounterBuffer, f*comp.CounterBuffer.AccessPJ(), t0, t1)
}

// execControl runs one instruction of the tile's control unit.
func (t *tile) execControl(now int64) (int64, status) {
	p := t.ctl
	in := &p.insts[p.pc]
	switch in.Op {
	case isa.OpSend:
		return t.send(now, in)
	case isa.OpReceive:
		return t.receive(now, in)
	case isa.OpHalt:
		return p.halt(now)
	}
	return p.fail(now, "%s is not a tile instruction", in.Op) // New checks placement
}

// send reads its words (waiting until they are valid), waits until the
// receiver's slot for this tile is empty, and injects the message.
func (t *tile) send(now int64, in *isa.Inst) (int64, status) {
	s, p := t.s, t.ctl
	lo, hi := in.Addr, in.Addr+in.Width*in.Vec
	if w, latest := t.readable(lo, hi); w >= 0 {
		return p.block(waitInfo{kind: waitValid, on: t, lo: lo, hi: hi, word: w})
	} else if latest > now {
		return latest, sleep
	}
	dst := s.byID[in.Tile] // New checks that it exists
	sl := dst.slot(t.id)
	if sl.full {
		return p.block(waitInfo{kind: waitSlotFree, on: dst, sender: t.id})
	}
	if sl.freeAt > now {
		return sl.freeAt, sleep
	}
	n := s.t.accesses(in.Width, in.Vec)
	read := t.access(now, n)
	s.memoryCharge(ClassNetwork, n, false, now, read)
	if cap(sl.data) < hi-lo {
		sl.data = make([]int16, hi-lo)
	}
	sl.data = sl.data[:hi-lo]
	t.consume(sl.data, lo, hi, now)
	serialised, arrive := s.route(t, dst, hi-lo, now, read)
	sl.full, sl.arriveAt, sl.target = true, arrive, in.TargetAddr
	s.book.add(ClassNetwork, arch.CompReceiveBuffer, float64(n)*s.arch.Components.ReceiveBuffer.WritePJ(), arrive, arrive+1)
	dst.wakeIf(waitArrival, 0, 0, t.id, arrive)
	p.pc++
	return serialised, done
}

// receive waits for the message from its sender, then for its target words
// to be free, and stores the message there.
func (t *tile) receive(now int64, in *isa.Inst) (int64, status) {
	s, p := t.s, t.ctl
	sl := t.slot(in.Tile)
	if !sl.full {
		return p.block(waitInfo{kind: waitArrival, on: t, sender: in.Tile})
	}
	if sl.arriveAt > now {
		return sl.arriveAt, sleep
	}
	lo, hi := in.Addr, in.Addr+in.Width*in.Vec
	if len(sl.data) != hi-lo || sl.target != lo {
		return p.fail(now, "the message from tile %d holds %d words for address %d, but this receive takes %d words at %d: the send's width x vec and target_addr must match the receive",
			in.Tile, len(sl.data), sl.target, hi-lo, lo)
	}
	if w := t.firstValid(lo, hi); w >= 0 {
		return p.block(waitInfo{kind: waitFree, on: t, lo: lo, hi: hi, word: w})
	}
	n := s.t.accesses(in.Width, in.Vec)
	end := t.access(now, n)
	s.book.add(ClassNetwork, arch.CompReceiveBuffer, float64(n)*s.arch.Components.ReceiveBuffer.AccessPJ(), now, end)
	s.memoryCharge(ClassNetwork, n, true, now, end)
	t.fill(sl.data, lo, in.Counter, end)
	sl.full, sl.freeAt = false, end
	t.wakeIf(waitSlotFree, 0, 0, in.Tile, end)
	p.pc++
	return end, done
}
