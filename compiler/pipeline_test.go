package compiler

import (
	"context"
	"slices"
	"testing"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/sim"
	"github.com/panther-xbar/panther/xbar"
)

// TestPassOrder: a first-stage unit core of a three-stage network runs its
// forward passes 2N-1 = 5 examples ahead, capped at an interval (batch 4)
// less one; the overlap drains at every interval's end, and the last,
// shorter interval runs all its forward passes first. Inplace keeps one
// example after the other.
func TestPassOrder(t *testing.T) {
	stages := []*stage{{idx: 0}, {idx: 1}, {idx: 2}}
	units := &core{role: roleUnits, st: stages[0]}
	b := &build{training: true, stages: stages, examples: 10, cfg: Config{Variant: xbar.Accumulate, Batch: 4, CRSInterval: 1}}
	f := func(e int) passRef { return passRef{e, 0} }
	bw := func(e int) passRef { return passRef{e, 1} }
	var want []passRef
	for _, s := range []int{0, 4} {
		want = append(want, f(s), f(s+1), f(s+2), f(s+3), bw(s), bw(s+1), bw(s+2), bw(s+3))
	}
	want = append(want, f(8), f(9), bw(8), bw(9))
	if got := b.passOrder(units, true); !slices.Equal(got, want) {
		t.Errorf("accumulate: got %v\nwant %v", got, want)
	}
	if l := b.lag(&core{role: roleLead, st: stages[1]}); l != 2 {
		t.Errorf("a second-stage lead's lag is %d, want 2N-2-2s = 2", l)
	}
	b.cfg.Variant = xbar.Inplace
	want = nil
	for e := range 10 {
		want = append(want, f(e), bw(e))
	}
	if got := b.passOrder(units, true); !slices.Equal(got, want) {
		t.Errorf("inplace: got %v\nwant %v", got, want)
	}
}

// TestStreamingOverlaps: with a batch of 8, the pipelined program runs one
// example's MVM and another's MTVM and OPA in one instruction, and its step
// takes fewer cycles than the accumulate program's, whose MVM and MTVM
// share the read set (both match the trainer: TestTrainVariants).
func TestStreamingOverlaps(t *testing.T) {
	net := yamlNet(t, `
input: [200]
layers:
  - dense: {out: 40}
  - relu
  - dense: {out: 30}
  - relu
  - dense: {out: 5}
loss: softmax_cross_entropy
`)
	ds := randomData(net, 8, 4096, 3)
	cycles := map[xbar.Variant]int64{}
	for _, v := range []xbar.Variant{xbar.Accumulate, xbar.Pipelined} {
		ar, a := testArch(t, 0, 0, 0)
		ar.Crossbar.Variant = v
		cfg := DefaultConfig()
		cfg.Variant, cfg.Batch, cfg.Examples = v, 8, 8
		res, err := Compile(Model{Net: net, Weights: InitialWeights(net, 3)}, a, Options{Train: cfg, Data: &ds})
		if err != nil {
			t.Fatal(err)
		}
		fused := false
		for _, tc := range res.Program.Code.Tiles {
			for _, cc := range tc.Cores {
				for _, in := range cc.Insts {
					fused = fused || in.Op == isa.OpMvm && in.Mask.Runs(0, isa.XbarMVM) && in.Mask.Runs(0, isa.XbarMTVM)
				}
			}
		}
		if !fused {
			t.Errorf("%v: no mvm runs an MVM and an MTVM on one unit", v)
		}
		s, err := sim.New(ar, res.Program, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.Run(context.Background())
		if err != nil || rep.Partial {
			t.Fatalf("%v: %v %s", v, err, rep.Stopped)
		}
		cycles[v] = rep.Cycles
	}
	if cycles[xbar.Pipelined] >= cycles[xbar.Accumulate] {
		t.Errorf("pipelined step %d cycles, accumulate %d: want pipelined faster", cycles[xbar.Pipelined], cycles[xbar.Accumulate])
	}
	t.Logf("cycles: accumulate %d, pipelined %d", cycles[xbar.Accumulate], cycles[xbar.Pipelined])
}
