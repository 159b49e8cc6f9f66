package quickstart

import (
	"strings"
	"testing"
)

func TestQuickstartFindsWhatTheModelPromises(t *testing.T) {
	o := DefaultOptions()
	o.Repeats = 1
	r, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	clipped := false
	for _, p := range r.Products {
		exactADC := p.ADC == "ideal" || p.ADC == "9-bit" || strings.HasPrefix(p.Set, "read")
		if exactADC && (p.WrongOut != 0 || p.ClipRate != 0) {
			t.Errorf("%s %s %s: %d wrong outputs, clip rate %v; want exact", p.Operation, p.Set, p.ADC, p.WrongOut, p.ClipRate)
		}
		if !exactADC && p.ClipRate > 0 && p.WrongOut > 0 {
			clipped = true
		}
	}
	if !clipped {
		t.Error("the 8-bit ADC on the headroom set clipped nothing; the demonstration shows nothing")
	}
	if u := r.Update; u.WrongWeights != 0 || !u.BitstreamSame || u.Pulses == 0 {
		t.Errorf("update: %d wrong weights, bitstream same %v, %d pulses", u.WrongWeights, u.BitstreamSame, u.Pulses)
	}
}

func TestQuickstartRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Seed: 1, Size: 0, Eta: -1, Repeats: 1},
		{Seed: 1, Size: 64, Eta: -0.01, Repeats: 1},
		{Seed: 1, Size: 64, Eta: -1, Repeats: 0},
	} {
		if _, err := Run(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
