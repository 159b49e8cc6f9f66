package sim

import (
	"slices"
	"testing"
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
	if slices.ContainsFunc(s.byID[0].readers[100:116], func(n int16) bool { return n != 0 }) {
		t.Errorf("words not free after their last reads: %v", s.byID[0].readers[100:116])
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
