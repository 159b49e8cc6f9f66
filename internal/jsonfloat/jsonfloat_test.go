package jsonfloat

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

func TestForms(t *testing.T) {
	for _, c := range []struct {
		v    float64
		text string
	}{{math.NaN(), `"NaN"`}, {math.Inf(1), `"+Inf"`}, {math.Inf(-1), `"-Inf"`}, {0.25, `0.25`}, {-3, `-3`}, {1e-7, `1e-7`}} {
		if b, err := Marshal(c.v); err != nil || string(b) != c.text {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.v, b, err, c.text)
		}
	}
	for _, bad := range []string{`null`, `""`, `"nan"`, `"Inf"`, `"Infinity"`, `"1"`, `true`, `[1]`, `1e999`} {
		if v, err := Unmarshal([]byte(bad)); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, v)
		}
	}
}

// Every float64 reads back as the same bits (any NaN as a NaN).
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)})).Draw(t, "v")
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unmarshal(b)
		if err != nil || math.Float64bits(back) != math.Float64bits(v) && !(math.IsNaN(v) && math.IsNaN(back)) {
			t.Fatalf("%v wrote %s, read back %v, %v", v, b, back, err)
		}
	})
}

// Whatever Unmarshal accepts, Marshal writes again and Unmarshal reads
// back unchanged.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`"NaN"`, `"+Inf"`, `"-Inf"`, `1.5`, `-0`, `null`, `"x"`, `1e308`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unmarshal(b)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("%s read as %v, which does not write: %v", b, v, err)
		}
		back, err := Unmarshal(out)
		if err != nil || math.Float64bits(back) != math.Float64bits(v) && !(math.IsNaN(v) && math.IsNaN(back)) {
			t.Fatalf("%s read as %v, wrote %s, read back %v, %v", b, v, out, back, err)
		}
	})
}
