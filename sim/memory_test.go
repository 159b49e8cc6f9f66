package sim

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func fill16(v int16, n int) []int16 { return slices.Repeat([]int16{v}, n) }

// testdata/counters.s, with its timeline worked out by hand. Component ids:
// the control unit 0, cores 1, 2, 3; simultaneous events go in id order.
// The port serves one access per cycle; an access completes 2 cycles
// (eDRAM) after it starts.
//
//	core 0: set @2 (1); set @3 (16 words / 4 lanes = 4); st @7: port 7,
//	        valid at 7+1-1+2 = 9, waking cores 1 and 2 for 9; set @9 (4);
//	        st @13: both have read, port 13, done 15, waking them for 15;
//	        hlt @15, halted at 16.
//	core 1: set @2; ld @3 blocks (not valid); ld @9: port 9, done 11;
//	        ld @11 blocks (read out: free); @15: port 15, done 17; hlt, 18.
//	core 2: set @2; ld @3 blocks; ld @9: port busy at 9, gets 10, done 12;
//	        ld @12 blocks; @15: port 16, done 18; hlt, 19.
func TestLoadStoreCounters(t *testing.T) {
	a := preset(t, "panther")
	s, r := simulate(t, a, assemble(t, a, "counters.s"), Options{})
	for c := 1; c <= 2; c++ {
		k := s.coreOf(t, 0, c)
		if !slices.Equal(k.data(100, 16), fill16(111, 16)) || !slices.Equal(k.data(200, 16), fill16(222, 16)) {
			t.Errorf("core %d read %v then %v, want 111s then 222s", c, k.data(100, 2), k.data(200, 2))
		}
	}
	if w := s.byID[0].firstValid(100, 116); w >= 0 {
		t.Errorf("word %d not free after its last read: %d reads due", w, s.byID[0].readersOf(w))
	}
	if r.Cycles != 19 {
		t.Errorf("%d cycles, want 19", r.Cycles)
	}
	want := []ProcReport{
		{Tile: 0, Core: 0, Instructions: 6, BusyCycles: 1 + 4 + 2 + 4 + 2 + 1, StallCycles: 0, Powered: 16},
		{Tile: 0, Core: 1, Instructions: 4, BusyCycles: 1 + 2 + 2 + 1, StallCycles: (9 - 3) + (15 - 11), Powered: 18},
		{Tile: 0, Core: 2, Instructions: 4, BusyCycles: 1 + 3 + 3 + 1, StallCycles: (9 - 3) + (15 - 12), Powered: 19},
	}
	for i, w := range want {
		got := r.Cores[i]
		got.Utilisation, got.Halted = 0, false
		if got != w {
			t.Errorf("core %d: got %+v\nwant %+v", i, got, w)
		}
	}
}

// A store into initial data waits forever: initial words are never freed.
func TestInitialDataIsPersistent(t *testing.T) {
	a := preset(t, "panther")
	p := assemble(t, a, "persist.s", `
.tile 0
	halt
.core 0
	set r0, 5, 1
	ld r1, r0, 1, 1
	ld r2, r0, 1, 1
	hlt
`)
	addData(t, p, 0, 5, []int16{42})
	s, _ := simulate(t, a, p, Options{})
	if got := s.coreOf(t, 0, 0).data(1, 2); !slices.Equal(got, []int16{42, 42}) {
		t.Errorf("read %v, want 42 twice", got)
	}
}

// Shared and Unit read back what a run left, and name what does not exist.
func TestReadBack(t *testing.T) {
	a := preset(t, "panther")
	p := assemble(t, a, "readback.s", `
.tile 0
	halt
.core 1
	set r0, 7, 1
	set r10, -3, 4
	st r0, r10, 1, 4, 1
	hlt
`)
	addData(t, p, 0, 20, []int16{42, 43})
	s, _ := simulate(t, a, p, Options{})
	mem, ok := s.Shared(0)
	if !ok || !slices.Equal(mem[7:11], fill16(-3, 4)) || !slices.Equal(mem[20:22], []int16{42, 43}) {
		t.Errorf("shared memory %v ... %v, want four -3s at 7 and 42, 43 at 20", mem[7:11], mem[20:22])
	}
	mem[7] = 0
	if again, _ := s.Shared(0); again[7] != -3 {
		t.Error("Shared returned the simulation's memory, not a copy")
	}
	if _, ok := s.Shared(1); ok {
		t.Error("tile 1 has no code but Shared found it")
	}
	for _, c := range [][3]int{{0, 1, 0}, {0, 0, 0}, {3, 0, 0}} {
		if _, err := s.Unit(c[0], c[1], c[2]); err == nil {
			t.Errorf("Unit%v: no error for a unit without a weight image", c)
		}
	}
}

// A tile's paged shared memory behaves as one flat array of words, free
// and zero until stored: stores, reads, validity and reader counts in any
// order, across page boundaries and at the end of a memory that is not a
// whole number of pages.
func TestPagedMemoryIsFlat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		words := rapid.IntRange(1, 3*pageWords+100).Draw(t, "words")
		tl := &tile{pages: make([]*page, (words+pageWords-1)/pageWords)}
		mem, readers, validAt := make([]int16, words), make([]int16, words), make([]int64, words)
		span := func() (lo, hi int) {
			lo = rapid.IntRange(0, words-1).Draw(t, "lo")
			return lo, rapid.IntRange(lo+1, min(words, lo+2*pageWords)).Draw(t, "hi")
		}
		for range rapid.IntRange(1, 40).Draw(t, "steps") {
			lo, hi := span()
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				src := rapid.SliceOfN(rapid.Int16(), hi-lo, hi-lo).Draw(t, "src")
				n, at := rapid.IntRange(1, 3).Draw(t, "readers"), rapid.Int64Range(0, 1<<40).Draw(t, "at")
				tl.fill(src, lo, n, at)
				copy(mem[lo:], src)
				for i := lo; i < hi; i++ {
					readers[i], validAt[i] = int16(n), at
				}
			case 1:
				got := make([]int16, hi-lo)
				tl.consume(got, lo, hi, 0)
				if !slices.Equal(got, mem[lo:hi]) {
					t.Fatalf("read [%d, %d): %v, want %v", lo, hi, got, mem[lo:hi])
				}
				for i := lo; i < hi; i++ {
					if readers[i] > 0 {
						readers[i]--
					}
				}
			case 2:
				invalid, latest := tl.readable(lo, hi)
				wantInvalid, wantLatest := -1, int64(0)
				for i := lo; i < hi; i++ {
					if readers[i] == 0 {
						wantInvalid, wantLatest = i, 0
						break
					}
					wantLatest = max(wantLatest, validAt[i])
				}
				if invalid != wantInvalid || latest != wantLatest {
					t.Fatalf("readable [%d, %d): %d, %d, want %d, %d", lo, hi, invalid, latest, wantInvalid, wantLatest)
				}
			}
			for i := range words {
				if got := tl.readersOf(i); got != readers[i] {
					t.Fatalf("word %d: %d readers, want %d", i, got, readers[i])
				}
			}
		}
	})
}
