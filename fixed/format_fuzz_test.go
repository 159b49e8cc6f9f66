package fixed

import "testing"

// FuzzParseFormat: format strings never panic; what ParseFormat accepts
// fills the 16 bits and reads back from its String form.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"Q4.12", "q1.15", " Q16.0 ", "Q0.16", "Q4", "Q.12", "Q-4.20", "4.12", "Q4.12.1", "Q99999999999999999999.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseFormat(s)
		if err != nil {
			return
		}
		if q.IntBits < 1 || q.FracBits < 0 || q.IntBits+q.FracBits != Width {
			t.Fatalf("accepted %q as %+v", s, q)
		}
		back, err := ParseFormat(q.String())
		if err != nil || back != q {
			t.Fatalf("%q parsed as %v, which reads back as %v, %v", s, q, back, err)
		}
	})
}
