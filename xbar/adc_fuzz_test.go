package xbar

import "testing"

// FuzzParseADC: ADC strings never panic; what ParseADC accepts is valid
// and reads back from its String form as the same converter.
func FuzzParseADC(f *testing.F) {
	for _, s := range []string{"ideal", "8", "8bit", "8-bit", "8>>2", "IDEAL ", "0", "99", "8>>-1", ">>", "8>>99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseADC(s)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("accepted %q as an invalid ADC: %v", s, err)
		}
		b, err := ParseADC(a.String())
		if err != nil || b != a {
			t.Fatalf("%q parsed as %+v, whose form %q reads back as %+v, %v", s, a, a.String(), b, err)
		}
	})
}
