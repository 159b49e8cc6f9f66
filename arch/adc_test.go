package arch

import (
	"math"
	"testing"

	"github.com/panther-xbar/panther/xbar"
)

// The scaling is anchored at the reference (factors 1), doubles the energy
// per bit up to the corner and quadruples it above, and grows latency with
// the bits and area with 2^bits.
func TestADCScale(t *testing.T) {
	for _, c := range []struct {
		bits       int
		e, l, area float64
	}{
		{8, 1, 1, 1},
		{4, 1.0 / 16, 0.5, 1.0 / 16},
		{10, 4, 1.25, 4},
		{12, 64, 1.5, 16},
		{1, 1.0 / 128, 0.125, 1.0 / 128},
	} {
		e, l, a := ADCScale(c.bits)
		if e != c.e || l != c.l || a != c.area {
			t.Errorf("%d bits: energy %g latency %g area %g, want %g %g %g", c.bits, e, l, a, c.e, c.l, c.area)
		}
	}
}

// Costed charges the preset's figures at 8 bits and at ideal, scales them
// at other bits, and is idempotent: the area of a costed copy is its own.
func TestCosted(t *testing.T) {
	p := Default()
	for _, adc := range []string{"8", "ideal", "8>>2"} {
		a := *p
		var err error
		if a.Crossbar.ADC, err = xbar.ParseADC(adc); err != nil {
			t.Fatal(err)
		}
		if c := a.Costed(); c.Components.ADC != p.Components.ADC {
			t.Errorf("adc %s: costed %+v, preset %+v", adc, c.Components.ADC, p.Components.ADC)
		}
	}
	a := *p
	a.Crossbar.ADC = xbar.ADC{Bits: 6}
	c := a.Costed()
	if c.Components.ADC.AccessPJ() != 1.8/4 || c.Components.ADC.LatencyNS != 0.75 || c.Components.ADC.AreaMM2 != 0.0012/4 {
		t.Errorf("6 bits: %+v", c.Components.ADC)
	}
	if a.Components.ADC != p.Components.ADC {
		t.Error("Costed changed its receiver")
	}
	if c.Costed() != c || c.Area().CoreMM2 != a.Area().CoreMM2 {
		t.Error("costing twice scales twice")
	}
	adcs := float64(a.Count(CompADC))
	if d := p.Area().CoreMM2 - a.Area().CoreMM2; math.Abs(d-adcs*0.0012*3/4) > 1e-12 {
		t.Errorf("core area falls by %g mm^2 from 8 to 6 bits, want %g", d, adcs*0.0012*3/4)
	}
}
