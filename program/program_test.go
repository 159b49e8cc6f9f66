package program_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/isa/isatest"
	"github.com/panther-xbar/panther/program"
)

// genProgram draws a valid program: code from isatest, weight images for a
// few units, and metadata.
func genProgram() *rapid.Generator[*program.Program] {
	return rapid.Custom(func(t *rapid.T) *program.Program {
		a := isatest.Arch().Draw(t, "arch")
		p := &program.Program{Arch: a, Code: isatest.Code(a).Draw(t, "code")}
		type key struct{ tile, core, unit int }
		keys := rapid.SliceOfNDistinct(rapid.Custom(func(t *rapid.T) key {
			return key{
				rapid.IntRange(0, a.Tiles()-1).Draw(t, "tile"),
				rapid.IntRange(0, a.CoresPerTile-1).Draw(t, "core"),
				rapid.IntRange(0, a.MatrixUnits-1).Draw(t, "unit"),
			}
		}), 0, 4, rapid.ID[key]).Draw(t, "units")
		slices.SortFunc(keys, func(x, y key) int {
			return cmpInts(x.tile, y.tile, x.core, y.core, x.unit, y.unit)
		})
		for _, k := range keys {
			rows := rapid.IntRange(1, min(a.CrossbarSize, 12)).Draw(t, "rows")
			cols := rapid.IntRange(1, min(a.CrossbarSize, 12)).Draw(t, "cols")
			w := program.Weights{
				Tile: k.tile, Core: k.core, Unit: k.unit, Rows: rows, Cols: cols,
				Codes: rapid.SliceOfN(rapid.Int16(), rows*cols, rows*cols).Draw(t, "codes"),
				Eta:   rapid.Float64Range(-1, 1).Draw(t, "eta"),
			}
			if rapid.Bool().Draw(t, "origin") {
				w.Origin = &program.Origin{Layer: rapid.IntRange(0, 1<<32-1).Draw(t, "layer"), Block: rapid.IntRange(0, 1<<32-1).Draw(t, "block")}
				if rapid.Bool().Draw(t, "row order") {
					w.Origin.Rows = rapid.Permutation(rowsInOrder(rows)).Draw(t, "rows order")
				}
			}
			p.Weights = append(p.Weights, w)
		}
		p.Meta.Model = rapid.String().Draw(t, "model")
		if opts := rapid.MapOfN(rapid.StringN(1, 8, 32), rapid.String(), 0, 3).Draw(t, "options"); len(opts) > 0 {
			p.Meta.Options = opts
		}
		return p
	})
}

// rowsInOrder is 0, 1, ..., n-1.
func rowsInOrder(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// cmpInts compares pairs in order: (a0, b0), then (a1, b1), ...
func cmpInts(pairs ...int) int {
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i] != pairs[i+1] {
			if pairs[i] < pairs[i+1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func TestWriteReadRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProgram().Draw(t, "program")
		b, err := program.Encode(p)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		got, err := program.Decode(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Fatalf("read(write(p)) != p (-want +got):\n%s", diff)
		}
		again, err := program.Encode(got)
		if err != nil || !bytes.Equal(b, again) {
			t.Fatalf("the same program gave different bytes (%v)", err)
		}
	})
}

// sample is the isa golden sample with weights for a few units.
func sample(t testing.TB) *program.Program {
	t.Helper()
	a := isa.DefaultArch()
	src, err := os.ReadFile("../isa/testdata/train_sample.s")
	if err != nil {
		t.Fatal(err)
	}
	code, err := isa.Assemble(a, "train_sample.s", src)
	if err != nil {
		t.Fatal(err)
	}
	p := &program.Program{Arch: a, Code: code, Meta: program.Meta{Model: "train_sample", Options: map[string]string{"variant": "accumulate", "batch": "4"}}}
	for i, k := range [][3]int{{0, 0, 0}, {0, 1, 0}, {0, 1, 1}, {1, 0, 0}} {
		rows, cols := 128, 16*(i+1)
		codes := make([]int16, rows*cols)
		for j := range codes {
			codes[j] = int16(j*37 - 20000)
		}
		p.Weights = append(p.Weights, program.Weights{Tile: k[0], Core: k[1], Unit: k[2], Rows: rows, Cols: cols, Codes: codes, Eta: -0.01})
	}
	return p
}

func encodeSample(t testing.TB) []byte {
	t.Helper()
	b, err := program.Encode(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteFileReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sample.prog")
	p := sample(t)
	if err := program.WriteFile(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := program.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("read(write(p)) != p:\n%s", diff)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want just the program", len(entries))
	}
	if _, err := program.ReadFile(filepath.Join(dir, "missing.prog")); err == nil {
		t.Error("reading a missing file gave no error")
	}
	bad := *p
	bad.Weights = nil
	bad.Meta.Model = "\xff"
	if err := program.WriteFile(path, &bad); err == nil || !strings.Contains(err.Error(), "META: model name is not valid UTF-8") {
		t.Errorf("writing an invalid program: %v", err)
	}
	if again, err := program.ReadFile(path); err != nil || again.Meta.Model != p.Meta.Model {
		t.Errorf("a failed write changed the file: %v", err)
	}
}

// reseal fixes the checksum of a file that a test patched on purpose.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

func wantDecodeError(t *testing.T, b []byte, wants ...string) {
	t.Helper()
	_, err := program.Decode(b)
	if err == nil {
		t.Errorf("no error; want %q", wants)
		return
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	b := encodeSample(t)
	t.Run("truncated", func(t *testing.T) {
		wantDecodeError(t, b[:len(b)-1], "program: truncated: the header says", "the file has")
		wantDecodeError(t, b[:5], "program: truncated: 5 bytes, shorter than the 20-byte header")
		wantDecodeError(t, b[:22], "program: truncated: 22 bytes, shorter than the 24-byte header and checksum")
		for n := range len(b) {
			if _, err := program.Decode(b[:n]); err == nil {
				t.Fatalf("a file cut to %d of %d bytes decoded", n, len(b))
			}
		}
	})
	t.Run("trailing bytes", func(t *testing.T) {
		wantDecodeError(t, append(slices.Clone(b), 0), "program: 1 unexpected bytes after the end of the program")
	})
	t.Run("flipped byte", func(t *testing.T) {
		for _, at := range []int{30, len(b) / 2, len(b) - 5, len(b) - 1} {
			c := slices.Clone(b)
			c[at] ^= 0x10
			wantDecodeError(t, c, "program: checksum mismatch", "the file is corrupted")
		}
	})
	t.Run("wrong magic", func(t *testing.T) {
		c := slices.Clone(b)
		copy(c, "PK\x03\x04")
		wantDecodeError(t, c, `program: not a panther program: the file starts with "PK\x03\x04PROG", not "PNTHPROG"`)
	})
	t.Run("unsupported version", func(t *testing.T) {
		c := slices.Clone(b)
		binary.LittleEndian.PutUint32(c[8:], 7)
		wantDecodeError(t, reseal(c), "program: unsupported format version 7; this build reads version 2")
	})
	t.Run("unknown opcode", func(t *testing.T) {
		// The first instruction of tile 0 core 0 is "set r0, 0, 1".
		word, _ := isa.Encode(isa.DefaultArch(), isa.Inst{Op: isa.OpSet, D1: isa.DefaultArch().DataBase(), Vec: 1})
		at := bytes.Index(b, word[:])
		c := slices.Clone(b)
		c[at] = 0xee
		wantDecodeError(t, reseal(c), "program: section TILE, tile 0 core 0, offset", "instruction 0: unknown opcode 0xee")
	})
	t.Run("out-of-range field", func(t *testing.T) {
		// The tile 0 program starts with "send 128, 1, 16, 0, 8": make the tile 200.
		word, _ := isa.Encode(isa.DefaultArch(), isa.Inst{Op: isa.OpSend, Addr: 128, Tile: 1, Width: 16, Vec: 8})
		at := bytes.Index(b, word[:])
		c := slices.Clone(b)
		c[at+4] = 200
		wantDecodeError(t, reseal(c), "section TILE, tile 0, offset", "instruction 0: send tile: 200 is out of range 0..167")
	})
	t.Run("weights for a unit that does not exist", func(t *testing.T) {
		// ARCH starts after the 20-byte header and its own 12-byte header;
		// MatrixUnits is its fourth value. With one unit per core, the
		// sample's code (which uses u1) would fail first, so drop the code.
		p := sample(t)
		p.Code = isa.Code{}
		c, err := program.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint32(c[20+12+3*4:], 1)
		wantDecodeError(t, reseal(c), "section WGHT, image 2 (tile 0 core 1 unit 1), offset", "matrix unit 1 does not exist (units are 0..0, MatrixUnits = 1)")
	})
	t.Run("invalid arch", func(t *testing.T) {
		c := slices.Clone(b)
		binary.LittleEndian.PutUint32(c[20+12+4*4:], 7)
		wantDecodeError(t, reseal(c), "section ARCH, offset 68: arch: CrossbarSize = 7 is out of range 32..512")
	})
	t.Run("wrong section", func(t *testing.T) {
		c := slices.Clone(b)
		copy(c[20:], "ARCX")
		wantDecodeError(t, reseal(c), `program: offset 20: expected section ARCH, found "ARCX"`)
	})
	t.Run("section length", func(t *testing.T) {
		c := slices.Clone(b)
		binary.LittleEndian.PutUint64(c[24:], 1<<40)
		wantDecodeError(t, reseal(c), "program: offset 32: section ARCH claims 1099511627776 bytes")
	})
	t.Run("count beyond the section", func(t *testing.T) {
		// META follows ARCH (12 + 36 bytes): its model name length is the first value.
		c := slices.Clone(b)
		binary.LittleEndian.PutUint32(c[20+48+12:], 1<<31)
		wantDecodeError(t, reseal(c), "section META, offset 84: model name needs 2147483648 bytes but the section has")
	})
}

// wrappingImage is a container whose one weight image claims
// 4294836226 x 2147549185 codes: 2^63 + 2 cells, whose byte count (2^64 + 4)
// wraps to the 4 bytes present. Reading it once panicked in make.
func wrappingImage(t testing.TB) []byte {
	t.Helper()
	a := isa.DefaultArch()
	b, err := program.Encode(&program.Program{Arch: a,
		Weights: []program.Weights{{Tile: 0, Core: 1, Unit: 1, Rows: 2, Cols: 1, Codes: []int16{7, -7}, Eta: -0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	// The image header: tile, core, unit, rows, cols as u32.
	header := binary.LittleEndian.AppendUint32(nil, 0)
	for _, v := range []uint32{1, 1, 2, 1} {
		header = binary.LittleEndian.AppendUint32(header, v)
	}
	at := bytes.Index(b, header)
	if at < 0 {
		t.Fatal("no image header in the container")
	}
	binary.LittleEndian.PutUint32(b[at+12:], 4294836226)
	binary.LittleEndian.PutUint32(b[at+16:], 2147549185)
	return reseal(b)
}

// An image's origin flag is 0 or 1, and a row order names each row once.
func TestDecodeOriginErrors(t *testing.T) {
	encode := func(o *program.Origin) ([]byte, int) {
		b, err := program.Encode(&program.Program{Arch: isa.DefaultArch(),
			Weights: []program.Weights{{Tile: 0, Core: 1, Unit: 1, Rows: 2, Cols: 1, Codes: []int16{7, -7}, Eta: -0.5, Origin: o}}})
		if err != nil {
			t.Fatal(err)
		}
		header := binary.LittleEndian.AppendUint32(nil, 0)
		for _, v := range []uint32{1, 1, 2, 1} {
			header = binary.LittleEndian.AppendUint32(header, v)
		}
		return b, bytes.Index(b, header) + 5*4 + 8 // the origin flag
	}
	b, at := encode(nil)
	binary.LittleEndian.PutUint32(b[at:], 2)
	wantDecodeError(t, reseal(b), "section WGHT, image 0 (tile 0 core 1 unit 1)", "origin flag 2: want 0 (none) or 1")
	b, at = encode(&program.Origin{Layer: 1, Block: 2, Rows: []int{1, 0}})
	binary.LittleEndian.PutUint32(b[at+4*4:], 0) // rows 0, 0
	wantDecodeError(t, reseal(b), "origin: crossbar row 1 holds block row 0, which is out of 0..1 or held twice")
	b, at = encode(&program.Origin{Layer: 1, Block: 2, Rows: []int{1, 0}})
	binary.LittleEndian.PutUint32(b[at+3*4:], 1) // a row order of 1 row
	wantDecodeError(t, reseal(b), "origin: the row order lists 1 rows, the image has 2")
}

// testdata/wrapping-image.prog holds those bytes, for the command line's
// tests.
func TestDecodeImageSizeCannotWrap(t *testing.T) {
	b := wrappingImage(t)
	if file, err := os.ReadFile("testdata/wrapping-image.prog"); err != nil || !bytes.Equal(file, b) {
		t.Errorf("testdata/wrapping-image.prog is not the wrapping image (%v)", err)
	}
	wantDecodeError(t, b, "program: section WGHT, image 0 (tile 0 core 1 unit 1), offset 120: shape 4294836226x2147549185 does not fit a 128x128 crossbar")
}

func TestEncodeRejectsInvalidPrograms(t *testing.T) {
	cases := []struct {
		change func(p *program.Program)
		want   string
	}{
		{func(p *program.Program) { p.Arch.MatrixUnits = 0 }, "program: ARCH: arch: MatrixUnits = 0 is out of range 1..8"},
		{func(p *program.Program) { p.Code.Tiles[0].Tile = 3 }, "program: TILE: tile 1 comes after tile 3: tiles must be listed once each"},
		{func(p *program.Program) { p.Weights[1], p.Weights[2] = p.Weights[2], p.Weights[1] }, "WGHT: image 2 (tile 0 core 1 unit 0): comes after tile 0 core 1 unit 1"},
		{func(p *program.Program) { p.Weights[0].Codes = p.Weights[0].Codes[1:] }, "WGHT: image 0 (tile 0 core 0 unit 0): 2047 codes for a 128x16 image; want 2048"},
		{func(p *program.Program) { p.Weights[0].Rows = 129 }, "shape 129x16 does not fit a 128x128 crossbar"},
		{func(p *program.Program) { p.Weights[0].Eta = math.NaN() }, "eta is NaN; it must be finite"},
		{func(p *program.Program) { p.Weights[3].Unit = 2 }, "matrix unit 2 does not exist"},
		{func(p *program.Program) { p.Meta.Options[""] = "x" }, `META: option "": keys must be non-empty`},
	}
	for _, c := range cases {
		p := sample(t)
		c.change(p)
		_, err := program.Encode(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v; want it to contain %q", err, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := sample(t).Summarize()
	if len(s.Tiles) != 2 || len(s.Tiles[0].Cores) != 2 || len(s.Weights) != 4 {
		t.Fatalf("summary shape: %d tiles, %d cores in tile 0, %d images", len(s.Tiles), len(s.Tiles[0].Cores), len(s.Weights))
	}
	if got := s.Tiles[0].Insts; got["network"] != 3 || got["control"] != 1 {
		t.Errorf("tile 0 counts %v; want 3 network, 1 control", got)
	}
	if s.Tiles[0].DataWords != 19 || s.Tiles[0].Segments != 2 {
		t.Errorf("tile 0 data: %d words in %d segments; want 19 in 2", s.Tiles[0].DataWords, s.Tiles[0].Segments)
	}
	total := 0
	for _, tile := range s.Tiles {
		total += tile.Insts.Total()
		for _, c := range tile.Cores {
			total += c.Insts.Total()
		}
	}
	if total != s.Insts.Total() {
		t.Errorf("per-tile counts add to %d, the total is %d", total, s.Insts.Total())
	}
}

// smallProgram is a fuzz seed. Seeds are small: the fuzzer minimises every
// new input it finds, which takes long for a file as big as the sample's.
func smallProgram(t testing.TB) *program.Program {
	a := isa.DefaultArch()
	code, err := isa.Assemble(a, "seed.s", []byte(".tile 0\n.data 4\n.word 1, -2\n\tsend 4, 1, 2, 0, 1\n\thalt\n"+
		".core 1\nl:\tld xin0.mvm, r0, 2, 1\n\tmvm u0:mvm+opa, u1:mtvm, shift=1, seg=2\n\tbeq r0, r1, l\n\thlt\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &program.Program{Arch: a, Code: code,
		Weights: []program.Weights{{Tile: 0, Core: 1, Unit: 1, Rows: 2, Cols: 3, Codes: []int16{1, 2, 3, -4, -5, -6}, Eta: -0.5,
			Origin: &program.Origin{Layer: 1, Block: 0, Rows: []int{1, 0}}}},
		Meta: program.Meta{Model: "m", Options: map[string]string{"a": "1", "b": "2"}}}
}

func FuzzReadProgram(f *testing.F) {
	small, err := program.Encode(smallProgram(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add(small[:len(small)/2])
	f.Add(wrappingImage(f))
	f.Add([]byte("PNTHPROG"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Also read the input with its checksum made right, so that the
		// fuzzer reaches the sections behind it.
		inputs := [][]byte{b}
		if len(b) >= 4 {
			inputs = append(inputs, reseal(b))
		}
		for _, in := range inputs {
			p, err := program.Decode(in)
			if err != nil {
				continue
			}
			// Whatever the reader accepts is exactly what the writer writes,
			// and what disassembly then assembly gives back.
			out, err := program.Encode(p)
			if err != nil || !bytes.Equal(in, out) {
				t.Fatalf("accepted a file that does not re-encode to itself (%v)", err)
			}
			again, text, err := disasmAsm(t, p)
			if err != nil || !bytes.Equal(in, again) {
				t.Fatalf("asm(disasm(p)) is not p (%v):\n%s", err, text)
			}
		}
	})
}

func BenchmarkEncodeSample(b *testing.B) {
	p := sample(b)
	for b.Loop() {
		if _, err := program.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSample(b *testing.B) {
	data := encodeSample(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := program.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
