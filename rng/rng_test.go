package rng

import "testing"

func TestSameSeedSameStream(t *testing.T) {
	a, b := New(42), New(42)
	for i := 0; i < 1000; i++ {
		if x, y := a.Uint32(), b.Uint32(); x != y {
			t.Fatalf("draw %d: %d != %d", i, x, y)
		}
	}
}

func TestSeedsAndPurposesDiffer(t *testing.T) {
	streams := map[string]*Source{
		"seed1":   New(1),
		"seed2":   New(2),
		"derivA0": Derive(1, "a", 0),
		"derivA1": Derive(1, "a", 1),
		"derivB0": Derive(1, "b", 0),
	}
	first := map[uint64]string{}
	for name, s := range streams {
		v := s.Uint64()
		if other, dup := first[v]; dup {
			t.Fatalf("streams %s and %s start with the same value", name, other)
		}
		first[v] = name
	}
}

// TestStreamIsPinned pins the first draws of seed 1: a change of the underlying
// generator would silently change every seeded result in the project.
func TestStreamIsPinned(t *testing.T) {
	s := New(1)
	want := []uint32{3997303027, 3131952167, 3873576889}
	for i, w := range want {
		if g := s.Uint32(); g != w {
			t.Fatalf("draw %d of seed 1 is %d, want %d: the generator changed", i, g, w)
		}
	}
}

func TestSavedPositionResumesTheStream(t *testing.T) {
	s := New(9)
	s.Uint64()
	saved, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{s.Norm(), s.Float64(), float64(s.Uint32())}
	r := New(0)
	if err := r.UnmarshalBinary(saved); err != nil {
		t.Fatal(err)
	}
	got := []float64{r.Norm(), r.Float64(), float64(r.Uint32())}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("draw %d after restore: %v, want %v", i, got[i], want[i])
		}
	}
}
