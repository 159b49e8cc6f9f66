package compiler

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
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

// TestDenseTransfers: what the tile control units move in a pipelined
// training step of mlp-l4 (batch 16). No row passes through a control unit
// twice: a dense stage's unit cores keep the inputs of their forward pass
// for the OPA (no map message of a second pass), an owner stores its
// outputs into the rings of its readers in its own tile (no copy within a
// tile), and a lead's errors go to one unit core per column, which passes
// them on to the column's others. Placement counts the network input,
// which a tile's cores share, once per tile.
func TestDenseTransfers(t *testing.T) {
	m, err := LoadModel("mlp-l4")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Variant, cfg.Batch, cfg.Examples = xbar.Pipelined, 16, 16
	a := arch.Default()
	a.Crossbar.Variant = xbar.Pipelined
	res, err := Compile(m, a.ISA(), Options{Train: cfg})
	if err != nil {
		t.Fatal(err)
	}
	// The first layer's eight unit cores share the network input, which
	// placement counts once per tile: they fill tile 0.
	first := 0
	for _, c := range res.Report.CoresDetail {
		if c.Tile == 0 && strings.HasPrefix(c.Job, "matrix units of layer 1 ") {
			first++
		}
	}
	if first != 8 {
		t.Errorf("tile 0 holds %d of the first layer's 8 unit cores", first)
	}
	if w := res.Report.Traffic.LocalCopyWords; w != 0 {
		t.Errorf("%d words copied within tiles, want none", w)
	}
	for tile, notes := range res.Notes {
		for _, n := range notes[-1] {
			if strings.Contains(n, "pass 2") {
				t.Errorf("tile %d transfers a second pass: %s", tile, n)
				break
			}
		}
	}
	// Errors per stage stream: the leads' reach row tile 0 of each column
	// once; the others come from that core and stay in its column.
	b := &build{a: a.ISA(), cfg: cfg, training: true}
	net := *m.Net
	if err := net.Infer(); err != nil {
		t.Fatal(err)
	}
	b.loss = net.Loss
	if err := b.loadData(&net, Options{Train: cfg}); err != nil {
		t.Fatal(err)
	}
	if err := b.plan(&net, InitialWeights(&net, cfg.Seed), map[int]int{}); err != nil {
		t.Fatal(err)
	}
	relays := 0
	for _, s := range b.streams {
		if s.kind != sEz {
			continue
		}
		cols := map[int]bool{}
		for _, r := range s.readers {
			switch {
			case s.writer.role == roleLead && (r.rts[0] != 0 || cols[r.ct]):
				t.Errorf("%s reaches %v; want row tile 0 of each column once", s.name, r)
			case s.writer.role == roleUnits && (s.writer.rts[0] != 0 || r.ct != s.writer.ct || r == s.writer):
				t.Errorf("%s from %v reaches %v; want the column's other cores", s.name, s.writer, r)
			}
			cols[r.ct] = true
		}
		if s.writer.role == roleUnits {
			relays++
		}
	}
	if relays == 0 {
		t.Error("no unit core passes errors on")
	}
}

// TestInFlightBound: where a tile's shared memory does not hold the maps
// of as many examples as the stages overlap, every core holds fewer in
// flight, and the program still trains as the reference does; with room
// for them all it holds them all. The bound caps each core's lag.
func TestInFlightBound(t *testing.T) {
	net := yamlNet(t, `
input: [1, 16, 16]
layers:
  - conv2d: {out: 6, kernel: 5, padding: 2}
  - relu
  - maxpool: {kernel: 2}
  - conv2d: {out: 8, kernel: 3}
  - relu
  - maxpool: {kernel: 2}
  - flatten
  - dense: {out: 10}
loss: softmax_cross_entropy
`)
	ds := randomData(net, 8, 4096, 5)
	for _, c := range []struct {
		shared, inFlight int
		bounded          bool
		variants         []string
	}{
		{4096, 3, true, []string{"accumulate", "pipelined"}},
		{16384, 8, false, []string{"accumulate"}},
	} {
		for _, v := range c.variants {
			ar, _ := testArch(t, 128, 8, c.shared)
			cfg := DefaultConfig()
			must(cfg.Set("variant", v))
			cfg.Batch, cfg.LR = 8, 0.25
			res := trainCheck(t, net, ar, cfg, ds, 7)
			r := res.Report
			if r.InFlight != c.inFlight || strings.Contains(r.InFlightLimit, "shared memory") != c.bounded {
				t.Errorf("%d words, %s: %d examples in flight (%s), want %d", c.shared, v, r.InFlight, r.InFlightLimit, c.inFlight)
			}
			if r.MaxSharedWords > c.shared {
				t.Errorf("%d words, %s: the fullest tile uses %d", c.shared, v, r.MaxSharedWords)
			}
		}
	}

	stages := []*stage{{idx: 0}, {idx: 1}, {idx: 2}}
	b := &build{training: true, stages: stages, examples: 10, flight: 2, cfg: Config{Variant: xbar.Accumulate, Batch: 8, CRSInterval: 1}}
	for _, s := range stages {
		for _, units := range []bool{true, false} {
			want := min(1, 2*len(stages)-1-2*s.idx-boolInt(!units))
			if l := b.stageLag(s, units); l != want {
				t.Errorf("stage %d (unit cores %v): lag %d with 2 examples in flight, want %d", s.idx, units, l, want)
			}
		}
	}
	if n := b.inFlightNow(); n != 2 {
		t.Errorf("%d examples in flight, want 2", n)
	}
}
