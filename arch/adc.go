package arch

import (
	"fmt"
	"math"
)

// The ADC's cost against its resolution. The component table gives the
// converter's figures at ADCReferenceBits (PANTHER's 8-bit ADC: 1.8 pJ per
// conversion, 1 ns, 0.0012 mm^2); a converter of other bits costs them
// scaled as docs/constants.md derives from B. Murmann's ADC Performance
// Survey 1997-2024 (https://github.com/bmurmann/ADC-survey):
//
//   - energy per conversion: x2 per bit up to ADCCornerBits, where the
//     survey's best designs follow a constant Walden figure of merit
//     (E = FOM_W x 2^ENOB), and x4 per bit above it, where they are
//     thermal-noise limited and follow a constant Schreier figure of merit
//     (E proportional to 4^ENOB);
//   - latency: proportional to bits (a successive-approximation converter
//     decides one bit per comparison);
//   - area and leakage: x2 per bit (the binary-weighted capacitor array of a
//     successive-approximation converter holds 2^bits unit capacitors).
//
// An ideal ADC is a numerics-only setting: it costs what the reference does.
const (
	ADCReferenceBits = 8
	ADCCornerBits    = 10
)

// ADCScale is what a bits-bit converter costs relative to the reference:
// factors of its energy per conversion, latency and area (and leakage).
func ADCScale(bits int) (energy, latency, area float64) {
	low := min(bits, ADCCornerBits) - ADCReferenceBits
	high := max(bits-ADCCornerBits, 0)
	energy = math.Exp2(float64(low)) * math.Pow(4, float64(high))
	latency = float64(bits) / ADCReferenceBits
	area = math.Exp2(float64(bits - ADCReferenceBits))
	return energy, latency, area
}

// ADCCostBits is the resolution the ADC is charged at: crossbar.adc's bits,
// or the reference's for an ideal ADC.
func (a *Arch) ADCCostBits() int {
	if a.Crossbar.ADC.Ideal {
		return ADCReferenceBits
	}
	return a.Crossbar.ADC.Bits
}

// ADCCostNote says which cost the ADC is charged at, for reports.
func (a *Arch) ADCCostNote() string {
	if a.Crossbar.ADC.Ideal {
		return fmt.Sprintf("ADC cost: %d-bit reference figures (the ideal ADC is a numerics-only setting)", ADCReferenceBits)
	}
	e, _, _ := ADCScale(a.Crossbar.ADC.Bits)
	return fmt.Sprintf("ADC cost: %d-bit converter, %.4g pJ per conversion (%.4g x the %d-bit figure)",
		a.Crossbar.ADC.Bits, e*a.Components.ADC.AccessPJ(), e, ADCReferenceBits)
}

// Costed returns a with the ADC component's energy, latency, area and
// leakage scaled to crossbar.adc's resolution: the figures the simulator
// and the area charge. a itself is not changed; costing a costed
// architecture again returns it as it is.
func (a *Arch) Costed() *Arch {
	if a.adcCosted {
		return a
	}
	c := *a
	e, l, ar := ADCScale(a.ADCCostBits())
	adc := &c.Components.ADC
	adc.DynamicMW *= e
	adc.WriteMW *= e
	adc.LatencyNS *= l
	adc.AreaMM2 *= ar
	adc.LeakMW *= ar
	c.adcCosted = true
	return &c
}
