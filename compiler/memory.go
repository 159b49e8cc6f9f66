package compiler

import (
	"fmt"
	"slices"

	"github.com/panther-xbar/panther/isa"
)

// This file lays out each tile's shared memory: the regions maps and
// records pass through, and the initial data (row tables, zero pads, the
// examples, labels). Every region is written with one reader count, and
// the layouts are chosen so that each word of a region is read exactly
// that many times (see frame.go), so regions are reused example after
// example without any other synchronisation.

// tileMem is one tile's shared memory.
type tileMem struct {
	tile int
	next int
	segs []isa.Segment // initial data
	size int           // the tile's SharedWords
}

// memError reports a tile whose shared memory is too small; placement
// then puts fewer cores on it, or fewer examples in flight.
type memError struct {
	tile, size int
	what       string // the region that did not fit
	need, used int    // its words, and the words laid out before it
	every      bool   // the region holds every example of the program
}

func (e *memError) Error() string {
	return fmt.Sprintf("tile %d needs more than its %d words of shared memory (%s needs %d words, %d are left)", e.tile, e.size, e.what, e.need, e.size-e.used)
}

// oneExample is the error of a tile that does not fit even one example in
// flight (a program of examples examples), with the fix: as much shared
// memory as the tile's layout takes up to the region that failed, at
// least, or, where that region holds every example, fewer of them.
func (e *memError) oneExample(examples int) error {
	fix := fmt.Sprintf("give the architecture more shared memory per tile (shared_words, at least %d)", e.used+e.need)
	if e.every && examples > 1 {
		fix = fmt.Sprintf("stream fewer than %d examples per program (examples), or %s", examples, fix)
	}
	return doesNotFit("tile %d needs more than its %d words of shared memory with one example in flight: %s needs %d words, %d are left; %s",
		e.tile, e.size, e.what, e.need, e.size-e.used, fix)
}

// alloc lays out n words for what; every says that they hold every
// example of the program (not only those in flight), which the error of a
// tile too small for them then says.
func (m *tileMem) alloc(n int, what string, every bool) (int, error) {
	if m.next+n > m.size {
		return 0, &memError{tile: m.tile, size: m.size, what: what, need: n, used: m.next, every: every}
	}
	a := m.next
	m.next += n
	return a, nil
}

// data adds initial words at addr.
func (m *tileMem) data(addr int, words []int16) {
	if len(words) > 0 {
		m.segs = append(m.segs, isa.Segment{Addr: addr, Words: slices.Clone(words)})
	}
}

// segments returns the initial data in address order, adjacent segments
// merged.
func (m *tileMem) segments() []isa.Segment {
	slices.SortFunc(m.segs, func(a, b isa.Segment) int { return a.Addr - b.Addr })
	var out []isa.Segment
	for _, s := range m.segs {
		if n := len(out); n > 0 && out[n-1].Addr+len(out[n-1].Words) == s.Addr {
			out[n-1].Words = append(out[n-1].Words, s.Words...)
			continue
		}
		out = append(out, s)
	}
	return out
}

// regionKind says how a map region's rows are held.
type regionKind uint8

const (
	regStore regionKind = iota // every data row of one example; pad columns are constant
	regRing                    // a ring of rows received from a store, or stored by the owner (direct)
	regInput                   // every row of every example, all constant (the network input)
)

// mapRegion is one group's map in one tile, laid out for the frame of the
// stage that reads it.
type mapRegion struct {
	kind     regionKind
	g        *group
	tile     int
	fr       frame
	cg       int // channels of the group
	rowWords int // one frame row: fr.ws pixels of cg words
	slots    int // data row slots
	exSlots  int // a store: the examples it holds, slots rows each (see storeSlots)
	base     int // slot 0
	zero     int // a row of zeros for the pad rows
	table    int // fr.hs addresses, one per frame row
	exStride int // regInput: words per example
	count    int // reads each stored word waits for
	passes   int // 1, or 2 when the backward pass reads the map again
	// Rings: the one core that reads it, the store it is filled from and
	// the rows each message brings; or, direct, the owner stores its
	// outputs into it, and its pad columns are constant like a store's.
	reader *core
	src    *mapRegion
	chunk  int
	direct bool
}

// rowAddr is the address of frame row y (example 0).
func (r *mapRegion) rowAddr(y int) int {
	d := y - r.fr.ar
	if d < 0 || d >= r.fr.in.H {
		return r.zero
	}
	return r.base + (d%r.slots)*r.rowWords
}

// inputLayout sizes an input region: every example as its rows
// (frame.inputRows).
func (r *mapRegion) inputLayout(examples int) {
	r.slots = examples * r.fr.inputRows()
	r.exStride = r.fr.inputRows() * r.rowWords
}

// needsTopUp reports whether the windows read some pad columns of the
// region less often than its data columns.
func (r *mapRegion) needsTopUp() bool {
	if r.direct {
		return false // its pads are constant
	}
	mw := r.fr.kw2 / r.fr.win.sw
	for x := range r.fr.ws {
		if (x < r.fr.ac || x >= r.fr.ac+r.fr.in.W) && r.fr.colReads(x) < mw {
			return true
		}
	}
	return false
}

// exWords is the words of one example's rows.
func (r *mapRegion) exWords() int { return r.slots * r.rowWords }

// dataOffset is where data column x of a row starts.
func (r *mapRegion) dataOffset(x int) int { return (r.fr.ac + x) * r.cg }

// layout allocates the region's words in tile memory m and adds its
// initial data: the row table, the zero row, and the constant pads of a
// store or the examples of an input.
func (r *mapRegion) layout(m *tileMem, inputs [][]int16) error {
	zeroRow := r.rowWords
	if r.kind == regInput {
		zeroRow = 0 // each example has its own
	}
	data := max(1, r.exSlots) * r.exWords()
	words := data + zeroRow + r.fr.hs
	what := fmt.Sprintf("the map of channels %d..%d for %s", r.g.c0, r.g.c1-1, r.readerStage())
	if r.kind == regInput {
		what = fmt.Sprintf("the network input, channels %d..%d of every example,", r.g.c0, r.g.c1-1)
	}
	base, err := m.alloc(words, what, r.kind == regInput)
	if err != nil {
		return err
	}
	r.base, r.zero, r.table = base, base+data, base+data+zeroRow
	if r.kind == regInput {
		r.zero = -1 // the table never points at it
		if r.fr.padRows() {
			r.zero = base + r.fr.in.H*r.rowWords
		}
	} else {
		m.data(r.zero, make([]int16, r.rowWords))
	}
	table := make([]int16, r.fr.hs)
	for y := range table {
		table[y] = int16(r.rowAddr(y))
	}
	m.data(r.table, table)
	switch {
	case r.kind == regStore || r.direct:
		left, right := r.fr.ac*r.cg, (r.fr.ws-r.fr.ac-r.fr.in.W)*r.cg
		for s := range max(1, r.exSlots) * r.slots {
			row := r.base + s*r.rowWords
			m.data(row, make([]int16, left))
			m.data(row+r.rowWords-right, make([]int16, right))
		}
	case r.kind == regInput:
		in := r.fr.in
		for e, x := range inputs {
			if r.fr.padRows() {
				m.data(r.base+e*r.exStride+in.H*r.rowWords, make([]int16, r.rowWords))
			}
			for y := range in.H {
				row := make([]int16, r.rowWords)
				for xx := range in.W {
					for c := r.g.c0; c < r.g.c1; c++ {
						row[r.dataOffset(xx)+c-r.g.c0] = x[(c*in.H+y)*in.W+xx]
					}
				}
				m.data(r.base+e*r.exStride+y*r.rowWords, row)
			}
		}
	}
	return nil
}

func (r *mapRegion) readerStage() string {
	if r.reader != nil {
		return r.reader.String()
	}
	return "its readers"
}

// recStream carries one record per real pixel (per pass) from one core to
// others: tree partials, finished outputs to their leads, errors to the
// crossbars, input errors to the cores that accumulate them. Each reader
// has its own ring; the writer stores every record into the rings of the
// readers in its tile and into one send ring per reader in another tile,
// which its tile's control unit sends from. Separate rings keep a slow
// reader from holding up the others: with one ring for all, a reader that
// waits for a second writer can stall the first, and that one a reader
// the second waits for.
type recStream struct {
	id      int // creation order, the same in every build of one model
	name    string
	kind    streamKind
	rt, ct  int // the row and column tile of tree and error streams
	c0      int // z and ez: the first channel a record holds; dpatch: the first line
	writer  *core
	readers []*core
	words   int // record size
	perPass int // records per pass of one example
	passes  int
	rings   map[*core]*recRing // each reader's ring
	send    map[*core]*recRing // in the writer's tile, one per reader elsewhere
	recs    int                // every ring's capacity in records
	chunk   int                // records per message between tiles
	stage   *stage             // whose progress paces the stream (for the schedule)
}

// restarts reports whether every pass of the stream starts at its rings'
// first record. Where a pass is whole messages, passes follow each other
// around the ring instead, so that a ring can hold several examples'
// records (see capacity); a message then never wraps around the ring,
// whose capacity is whole messages.
func (s *recStream) restarts() bool { return s.perPass%s.chunk != 0 }

// first is the ring position, in records, of pass q (counted over the
// whole program) of the stream.
func (s *recStream) first(q int) int {
	if s.restarts() {
		return 0
	}
	return q * s.perPass % s.recs
}

// streamKind names what a record stream carries.
type streamKind uint8

const (
	sFpart  streamKind = iota // forward tree partial sums, to the parent core
	sZ                        // a finished column's sums, one group's part, to its lead
	sEz                       // a lead's masked errors, to the unit cores of its columns
	sBpart                    // backward tree partial sums over column tiles
	sDpatch                   // a row tile's input errors, to the cores owning those channels
	sDwin                     // a pooling window's input errors, to the input's owner
)

// recRing is a stream's ring in one tile.
type recRing struct {
	tile  int
	base  int
	recs  int // capacity in records
	words int
	count int
}

// remote lists the readers in other tiles than the writer's.
func (s *recStream) remote() []*core {
	var rs []*core
	for _, c := range s.readers {
		if c.tile != s.writer.tile {
			rs = append(rs, c)
		}
	}
	return rs
}
