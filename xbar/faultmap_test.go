package xbar

import (
	"testing"

	"github.com/panther-xbar/panther/device"
	"pgregory.net/rapid"
)

func TestNearestInMatchesSearch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		free := rapid.Uint32Range(0, 1<<12-1).Draw(t, "free")
		u := rapid.Int64Range(-10, 1<<12+10).Draw(t, "u")
		want, wantDist := int64(-1), int64(1)<<62
		for x := int64(0); x < 1<<12; x++ {
			if uint32(x)&^free != 0 {
				continue
			}
			d := max(x-u, u-x)
			if d < wantDist {
				want, wantDist = x, d
			}
		}
		if got := nearestIn(u, free); got != want {
			t.Fatalf("nearestIn(%d, %#b) = %d, want %d", u, free, got, want)
		}
	})
}

func TestNearestInExamples(t *testing.T) {
	for _, tc := range []struct {
		u    int64
		free uint32
		want int64
	}{
		{0b1011, 0b1111, 0b1011}, // nothing stuck
		{0b1011, 0b0011, 0b0011}, // bits 2-3 stuck at 0: floor to every free bit
		{0b1100, 0b1011, 0b1011}, // 12 -> 11 (13 is 0b1101, bit 2 stuck)
		{0b0100, 0b1011, 0b0011}, // 4 -> 3 (8 is further)
		{0b0110, 0b1011, 0b1000}, // 6 -> 8 (3 is further)
		{0b0101, 0b1011, 0b0011}, // 5 -> 3 (8 is further)
		{-3, 0b1011, 0},
		{40, 0b1011, 0b1011},
	} {
		if got := nearestIn(tc.u, tc.free); got != tc.want {
			t.Errorf("nearestIn(%d, %#b) = %d, want %d", tc.u, tc.free, got, tc.want)
		}
	}
}

// stuckHarm is the summed 2^(offset+nominal bits) of the set's stuck cells.
func stuckHarm(s *Set) int64 {
	var h int64
	for i := range s.slices {
		sl := &s.slices[i]
		for idx := range sl.biased {
			if _, stuck := sl.dev.Stuck(idx); stuck {
				h += 1 << uint(sl.Offset+sl.NominalBits)
			}
		}
	}
	return h
}

// TestFaultMapProgramsNearestAllowedWeight programs weights into sets with
// stuck cells and checks that with mapping every weight is the nearest code
// its stuck cells allow (found by search), that it never errs more than the
// unmapped write, that spare lines lower the stuck cells' harm, and that the
// test read is counted.
func TestFaultMapProgramsNearestAllowedWeight(t *testing.T) {
	const rows, cols = 24, 20
	dev := device.Config{StuckLow: 0.02, StuckHigh: 0.02}
	mapped := dev
	mapped.FaultMap = true
	spared := mapped
	spared.SpareRows, spared.SpareCols = 3, 2
	codes := make([]int16, rows*cols)
	for i := range codes {
		codes[i] = int16(i*2654435761>>7) ^ int16(i*97)
	}
	sets := map[string]*Set{}
	for name, d := range map[string]device.Config{"plain": dev, "mapped": mapped, "spared": spared} {
		s, err := NewSet(SetConfig{Plan: DefaultReadPlan, Size: DefaultSize, ADC: DefaultADC, Device: d, Seed: 5}, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Program(codes); err != nil {
			t.Fatal(err)
		}
		sets[name] = s
	}
	if stuckHarm(sets["plain"]) != stuckHarm(sets["mapped"]) {
		t.Error("mapping without spares moved cells")
	}
	if a, b := stuckHarm(sets["spared"]), stuckHarm(sets["mapped"]); a >= b {
		t.Errorf("spare lines left harm %d, want below %d", a, b)
	}
	if got := sets["spared"].Counters().SerialReads; got != int64(len(DefaultReadPlan.Slices)) {
		t.Errorf("test read counted %d serial reads, want %d", got, len(DefaultReadPlan.Slices))
	}
	bias := DefaultReadPlan.Bias()
	var errPlain, errMapped int64
	improved := false
	for name, s := range sets {
		for idx, q := range codes {
			got := s.acc[idx] + bias
			want := int64(uint16(int32(q) + 1<<15))
			if name == "plain" {
				errPlain += max(got-want, want-got)
				continue
			}
			// The nearest code whose stuck digits hold their stuck values.
			best := int64(-1)
			for u := int64(0); u < 1<<16; u++ {
				ok := true
				for i := range s.slices {
					sl := &s.slices[i]
					if level, stuck := sl.dev.Stuck(idx); stuck && (u>>uint(sl.Offset))&int64(sl.nominalMask) != int64(level) {
						ok = false
						break
					}
				}
				if ok && (best < 0 || max(u-want, want-u) < max(best-want, want-best)) {
					best = u
				}
			}
			if got != best {
				t.Fatalf("%s: cell %d holds code %d, want the nearest allowed %d (wanted %d)", name, idx, got, best, want)
			}
			if name == "mapped" {
				errMapped += max(got-want, want-got)
				improved = improved || got != int64(uint16(sets["plain"].acc[idx]+bias))
			}
		}
	}
	if !improved || errMapped >= errPlain {
		t.Errorf("mapped error %d, plain %d: want mapping to lower it", errMapped, errPlain)
	}
}

// The test read of fault-aware mapping reads every slice array of a unit
// once (docs/devices.md, "What the spares and the test read cost"): the 8
// of the inplace variant's one set, the 20 of accumulate's read and update
// sets (8 + 12), the 28 of pipelined's forward, backward and update sets.
// Programming reads none. The simulator reports these reads as the test
// read (sim's TestTestReadCountsTheMappedArrays).
func TestTestReadReadsEverySliceArrayOnce(t *testing.T) {
	for v, want := range map[Variant]int64{Inplace: 8, Accumulate: 20, Pipelined: 28} {
		cfg := DefaultUnitConfig()
		cfg.Variant, cfg.Seed = v, 3
		cfg.Device = device.Config{StuckLow: 0.01, StuckHigh: 0.01, FaultMap: true, SpareRows: 2, SpareCols: 2}
		u, err := NewUnit(cfg, 128, 40)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Program(make([]int16, 128*40)); err != nil {
			t.Fatal(err)
		}
		var reads int64
		for _, rc := range u.Counters() {
			reads += rc.Counters.SerialReads
		}
		if reads != want {
			t.Errorf("%v: the test read read %d slice arrays, want %d", v, reads, want)
		}
	}
}
