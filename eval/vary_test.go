package eval

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// A value of NaN or infinity is refused, not taken as a setting (it once
// passed the "number >= 0" check).
func TestParseVaryRefusesNonFinitePowers(t *testing.T) {
	for _, s := range []string{"opa_power_mw=NaN", "mvm_power_mw=1,Inf", "opa_power_mw=+Inf"} {
		if _, err := ParseVary(s); err == nil || !strings.Contains(err.Error(), "is not a finite number >= 0") {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// FuzzParseVary: --vary never panics; what it accepts names a known key,
// has values, and every power is finite and >= 0.
func FuzzParseVary(f *testing.F) {
	for _, s := range []string{"opa_power_mw=2, 8", "update_plan=2x12/6x8,5x4/f8; 4x6/8x6/f8", "crs_interval=1,4", "bias=auto,crossbar",
		"opa_per_bit=true,false", "read_plan=2x8", "x=1", "=", "opa_power_mw=", "opa_power_mw=NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVary(s)
		if err != nil {
			return
		}
		if _, ok := varyKeys[v.Key]; !ok || len(v.Values) == 0 {
			t.Fatalf("accepted %q as %+v", s, v)
		}
		if strings.HasSuffix(v.Key, "_power_mw") {
			for _, x := range v.Values {
				if p, err := strconv.ParseFloat(x, 64); err != nil || !(p >= 0) || math.IsInf(p, 0) {
					t.Fatalf("accepted power %q", x)
				}
			}
		}
	})
}
