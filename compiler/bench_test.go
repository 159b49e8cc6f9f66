package compiler

import (
	"context"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/sim"
	"github.com/panther-xbar/panther/xbar"
)

// BenchmarkSimMLPExampleCompiled: one training example of the mlp-l4
// preset (1024-256-512-512-10) compiled for the default architecture
// (accumulate variant, 8-bit ADC), batch 1. The compilation is set-up; the
// timer covers what `panther run` then does: sim.New (checking the
// program, making and programming every matrix unit) and Run.
func BenchmarkSimMLPExampleCompiled(b *testing.B) {
	net, err := model.Preset("mlp-l4")
	if err != nil {
		b.Fatal(err)
	}
	a := arch.Default()
	cfg := DefaultConfig()
	cfg.Variant, cfg.Batch, cfg.Examples = xbar.Accumulate, 1, 1
	res, err := Compile(Model{Net: net}, a.ISA(), Options{Train: cfg})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := sim.New(a, res.Program, sim.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
