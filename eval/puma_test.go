package eval

import (
	"context"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/sim"
)

// TestPUMAInferenceEnergy pins the puma preset against PUMA's own
// simulator (puma-simulator, run by the project on the same work): a fully
// connected 1024x1024 layer without bias, inference of one example, takes
// 3.812 uJ there, 54% of it in the ADCs and 40% in the crossbars. Ours must
// be within 10% of the total, and the two shares within 10 points.
func TestPUMAInferenceEnergy(t *testing.T) {
	net, err := model.ReadYAML("fc1024.yaml", []byte("input: [1024]\nlayers:\n  - dense: {out: 1024, bias: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := arch.Preset("puma")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := compiler.LoadData(compiler.DefaultConfig(), net, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compiler.Compile(compiler.Model{Net: net}, a.ISA(), compiler.Options{Infer: true, Data: &ds})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(a, res.Program, sim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const reference = 3.812e6 // pJ
	if r.EnergyPJ < 0.9*reference || r.EnergyPJ > 1.1*reference {
		t.Errorf("fc 1024x1024 inference: %.4g uJ, want within 10%% of PUMA's 3.812 uJ", r.EnergyPJ/1e6)
	}
	share := map[string]float64{}
	for _, c := range r.ByComponent {
		share[c.Name] = c.Percent
	}
	t.Logf("%.4g uJ: adc %.1f%%, crossbar %.1f%%, by class %+v", r.EnergyPJ/1e6, share["adc"], share["crossbar"], r.ByClass)
	for _, c := range []struct {
		name string
		want float64
	}{{"adc", 54}, {"crossbar", 40}} {
		if got := share[c.name]; got < c.want-10 || got > c.want+10 {
			t.Errorf("%s: %.1f%% of the energy, want %g%% +- 10 points", c.name, got, c.want)
		}
	}
}
