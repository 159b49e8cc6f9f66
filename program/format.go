package program

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"os"
	"slices"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/isa"
)

// Version is the container format this package writes and reads.
const Version = 2

const (
	magic       = "PNTHPROG"
	headerLen   = len(magic) + 4 + 8 // magic, version, file length
	checksumLen = 4
	wordLen     = len(isa.Word{})
)

// The sections, in file order.
const (
	secArch    = "ARCH"
	secMeta    = "META"
	secTiles   = "TILE"
	secWeights = "WGHT"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteFile validates p and writes it to path atomically: readers see the
// old file or the whole new one.
func WriteFile(path string, p *Program) error {
	b, err := Encode(p)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b)
}

// ReadFile reads and validates the program in path.
func ReadFile(path string) (*Program, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Encode validates p and returns its file bytes. The same program always
// gives the same bytes.
func Encode(p *Program) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	w := &writer{}
	w.buf = append(w.buf, magic...)
	w.u32(Version)
	w.u64(0) // file length, patched below
	w.section(secArch, func() {
		for _, ap := range ArchParams(&p.Arch) {
			w.u32(*ap.Value)
		}
	})
	w.section(secMeta, func() {
		w.str(p.Meta.Model)
		keys := slices.Sorted(maps.Keys(p.Meta.Options))
		w.u32(len(keys))
		for _, k := range keys {
			w.str(k)
			w.str(p.Meta.Options[k])
		}
	})
	w.section(secTiles, func() {
		w.u32(len(p.Code.Tiles))
		for _, t := range p.Code.Tiles {
			w.u32(t.Tile)
			w.insts(p.Arch, t.Insts)
			w.u32(len(t.Cores))
			for _, c := range t.Cores {
				w.u32(c.Core)
				w.insts(p.Arch, c.Insts)
			}
			w.u32(len(t.Data))
			for _, s := range t.Data {
				w.u32(s.Addr)
				w.i16s(s.Words)
			}
		}
	})
	w.section(secWeights, func() {
		w.u32(len(p.Weights))
		for _, img := range p.Weights {
			for _, v := range []int{img.Tile, img.Core, img.Unit, img.Rows, img.Cols} {
				w.u32(v)
			}
			w.u64(math.Float64bits(img.Eta))
			if o := img.Origin; o == nil {
				w.u32(0)
			} else {
				w.u32(1)
				w.u32(o.Layer)
				w.u32(o.Block)
				w.u32(len(o.Rows))
				for _, r := range o.Rows {
					w.u32(r)
				}
			}
			for _, c := range img.Codes {
				w.i16(c)
			}
		}
	})
	if w.err != nil {
		return nil, fmt.Errorf("program: %w", w.err)
	}
	binary.LittleEndian.PutUint64(w.buf[len(magic)+4:], uint64(len(w.buf)+checksumLen))
	return binary.LittleEndian.AppendUint32(w.buf, crc32.Checksum(w.buf, castagnoli)), nil
}

type writer struct {
	buf []byte
	err error // first encoding error (none is expected: Validate checked every instruction)
}

func (w *writer) u32(v int)    { w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(v)) }
func (w *writer) u64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }
func (w *writer) i16(v int16)  { w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(v)) }
func (w *writer) str(s string) { w.u32(len(s)); w.buf = append(w.buf, s...) }
func (w *writer) i16s(v []int16) {
	w.u32(len(v))
	for _, x := range v {
		w.i16(x)
	}
}

func (w *writer) insts(a isa.Arch, insts []isa.Inst) {
	w.u32(len(insts))
	for _, in := range insts {
		word, err := isa.Encode(a, in)
		if err != nil && w.err == nil {
			w.err = err
		}
		w.buf = append(w.buf, word[:]...)
	}
}

func (w *writer) section(tag string, fill func()) {
	w.buf = append(w.buf, tag...)
	at := len(w.buf)
	w.u64(0)
	fill()
	binary.LittleEndian.PutUint64(w.buf[at:], uint64(len(w.buf)-at-8))
}

// Decode reads a program from file bytes. It checks, in order: the magic,
// the version, the length, the checksum, then every section and every value
// in it (see Program.Validate). Errors name the section, the tile, core,
// instruction or image, and the byte offset.
func Decode(b []byte) (*Program, error) {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		if bytes.HasPrefix([]byte(magic), b) {
			return nil, fmt.Errorf("program: truncated: %d bytes, shorter than the %d-byte header", len(b), headerLen)
		}
		return nil, fmt.Errorf("program: not a panther program: the file starts with %q, not %q", b[:min(len(b), len(magic))], magic)
	}
	if len(b) < headerLen+checksumLen {
		return nil, fmt.Errorf("program: truncated: %d bytes, shorter than the %d-byte header and checksum", len(b), headerLen+checksumLen)
	}
	if v := binary.LittleEndian.Uint32(b[len(magic):]); v != Version {
		return nil, fmt.Errorf("program: unsupported format version %d; this build reads version %d", v, Version)
	}
	switch n := binary.LittleEndian.Uint64(b[len(magic)+4:]); {
	case n > uint64(len(b)):
		return nil, fmt.Errorf("program: truncated: the header says %d bytes, the file has %d", n, len(b))
	case n < uint64(len(b)):
		return nil, fmt.Errorf("program: %d unexpected bytes after the end of the program (the header says %d bytes)", uint64(len(b))-n, n)
	}
	body := b[:len(b)-checksumLen]
	if stored, sum := binary.LittleEndian.Uint32(b[len(body):]), crc32.Checksum(body, castagnoli); stored != sum {
		return nil, fmt.Errorf("program: checksum mismatch (stored %08x, computed %08x): the file is corrupted", stored, sum)
	}
	r := &reader{b: body, off: headerLen, end: len(body)}
	p := &Program{}
	r.section(secArch, func() { r.arch(p) })
	r.section(secMeta, func() { r.meta(p) })
	r.section(secTiles, func() { r.tiles(p) })
	r.section(secWeights, func() { r.weights(p) })
	if r.err == nil && r.off != len(body) {
		r.failf("%d bytes after the last section", len(body)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	return p, nil
}

// reader reads values from a file, stopping at the first error, which
// records the section, the item being read and the offset.
type reader struct {
	b     []byte
	off   int
	end   int    // end of the current section
	tag   string // current section
	where string // current item, e.g. "tile 3 core 2"
	err   error
}

func (r *reader) failf(format string, args ...any) {
	if r.err != nil {
		return
	}
	at := ""
	if r.tag != "" {
		at = "section " + r.tag + ", "
	}
	if r.where != "" {
		at += r.where + ", "
	}
	r.err = fmt.Errorf("program: %soffset %d: %s", at, r.off, fmt.Sprintf(format, args...))
}

// need reports whether n more bytes of the section are there.
func (r *reader) need(n uint64, what string) bool {
	if r.err != nil {
		return false
	}
	if left := uint64(r.end - r.off); n > left {
		r.failf("%s needs %d bytes but the section has %d left", what, n, left)
		return false
	}
	return true
}

func (r *reader) u32(what string) int {
	if !r.need(4, what) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return int(v)
}

func (r *reader) u64(what string) uint64 {
	if !r.need(8, what) {
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

// count reads a list length and checks that the section can hold that many
// items of at least itemLen bytes, so that a corrupt count cannot make the
// reader allocate without bound.
func (r *reader) count(what string, itemLen int) int {
	n := r.u32(what + " count")
	if r.err == nil && uint64(n)*uint64(itemLen) > uint64(r.end-r.off) {
		r.failf("%d %s cannot fit the %d bytes left in the section", n, what, r.end-r.off)
		return 0
	}
	return n
}

func (r *reader) str(what string) string {
	n := r.u32(what + " length")
	if !r.need(uint64(n), what) {
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *reader) i16s(what string) []int16 {
	n := r.count(what, 2)
	if r.err != nil || n == 0 {
		return nil
	}
	return r.codes(n)
}

// codes reads n int16 values that are known to fit.
func (r *reader) codes(n int) []int16 {
	v := make([]int16, n)
	for i := range v {
		v[i] = int16(binary.LittleEndian.Uint16(r.b[r.off+2*i:]))
	}
	r.off += 2 * n
	return v
}

func (r *reader) section(tag string, parse func()) {
	if r.err != nil {
		return
	}
	r.tag, r.where, r.end = "", "", len(r.b)
	if !r.need(4+8, "section "+tag+" header") {
		return
	}
	if got := string(r.b[r.off : r.off+4]); got != tag {
		r.failf("expected section %s, found %q", tag, got)
		return
	}
	r.off += 4
	n := r.u64("section length")
	if left := uint64(len(r.b) - r.off); n > left {
		r.failf("section %s claims %d bytes, the file has %d left", tag, n, left)
		return
	}
	r.tag, r.end = tag, r.off+int(n)
	parse()
	if r.err == nil && r.off != r.end {
		r.failf("%d bytes left over at the end of the section", r.end-r.off)
	}
	r.off, r.end, r.tag, r.where = r.end, len(r.b), "", ""
}

func (r *reader) arch(p *Program) {
	for _, ap := range ArchParams(&p.Arch) {
		*ap.Value = r.u32("architecture parameter " + ap.Name)
	}
	if r.err == nil {
		if err := p.Arch.Validate(); err != nil {
			r.failf("%v", err)
		}
	}
}

func (r *reader) meta(p *Program) {
	p.Meta.Model = r.str("model name")
	n := r.count("options", 8)
	prev := ""
	for i := range n {
		k := r.str("option key")
		v := r.str("option value")
		if r.err != nil {
			return
		}
		if i > 0 && k <= prev {
			r.failf("option %q comes after %q: keys must be in increasing order, each once", k, prev)
			return
		}
		if p.Meta.Options == nil {
			p.Meta.Options = map[string]string{}
		}
		p.Meta.Options[k], prev = v, k
	}
}

func (r *reader) tiles(p *Program) {
	n := r.count("tiles", 16)
	for range n {
		t := isa.TileCode{Tile: r.u32("tile number")}
		r.where = fmt.Sprintf("tile %d", t.Tile)
		t.Insts = r.insts(p.Arch)
		nc := r.count("cores", 8)
		for range nc {
			c := isa.CoreCode{Core: r.u32("core number")}
			r.where = fmt.Sprintf("tile %d core %d", t.Tile, c.Core)
			c.Insts = r.insts(p.Arch)
			t.Cores = append(t.Cores, c)
		}
		r.where = fmt.Sprintf("tile %d", t.Tile)
		ns := r.count("data segments", 8)
		for range ns {
			s := isa.Segment{Addr: r.u32("segment address")}
			s.Words = r.i16s("segment words")
			t.Data = append(t.Data, s)
		}
		if r.err != nil {
			return
		}
		p.Code.Tiles = append(p.Code.Tiles, t)
	}
	r.where = ""
	if r.err == nil {
		if err := p.Code.Validate(p.Arch); err != nil {
			r.failf("%v", err)
		}
	}
}

func (r *reader) insts(a isa.Arch) []isa.Inst {
	n := r.count("instructions", wordLen)
	if r.err != nil || n == 0 {
		return nil
	}
	insts := make([]isa.Inst, n)
	for i := range insts {
		in, err := isa.Decode(a, isa.Word(r.b[r.off:r.off+wordLen]))
		if err != nil {
			r.failf("instruction %d: %v", i, err)
			return nil
		}
		insts[i] = in
		r.off += wordLen
	}
	return insts
}

func (r *reader) weights(p *Program) {
	n := r.count("weight images", 6*4+8)
	for i := range n {
		start := r.off
		w := Weights{Tile: r.u32("tile"), Core: r.u32("core"), Unit: r.u32("unit"), Rows: r.u32("rows"), Cols: r.u32("cols")}
		w.Eta = math.Float64frombits(r.u64("eta"))
		r.where = fmt.Sprintf("image %d (tile %d core %d unit %d)", i, w.Tile, w.Core, w.Unit)
		if r.err != nil {
			return
		}
		// The shape is checked against the crossbar before the codes are
		// counted, and the count against the bytes left by division, so
		// that no product of two corrupt sizes can wrap.
		if err := checkShape(p.Arch, w.Rows, w.Cols); err != nil {
			r.off = start
			r.failf("%v", err)
			return
		}
		w.Origin = r.origin(w.Rows)
		if r.err != nil {
			return
		}
		if left := uint64(r.end-r.off) / 2; uint64(w.Rows) > left/uint64(w.Cols) {
			r.failf("a %dx%d image needs %d codes but the section has room for %d", w.Rows, w.Cols, w.Rows*w.Cols, left)
			return
		}
		w.Codes = r.codes(w.Rows * w.Cols)
		p.Weights = append(p.Weights, w)
		if err := p.checkWeights(i); err != nil {
			r.off = start
			r.failf("%v", err)
			return
		}
	}
}

// origin reads an image's origin; the image has rows rows (checked).
func (r *reader) origin(rows int) *Origin {
	switch flag := r.u32("origin"); {
	case r.err != nil:
		return nil
	case flag == 0:
		return nil
	case flag != 1:
		r.failf("origin flag %d: want 0 (none) or 1", flag)
		return nil
	}
	o := &Origin{Layer: r.u32("origin layer"), Block: r.u32("origin block")}
	n := r.count("origin rows", 4)
	if r.err == nil && n != 0 && n != rows {
		r.failf("origin: the row order lists %d rows, the image has %d", n, rows)
	}
	if r.err != nil || n == 0 {
		return o
	}
	o.Rows = make([]int, n)
	for k := range o.Rows {
		o.Rows[k] = r.u32("origin row")
	}
	return o
}
