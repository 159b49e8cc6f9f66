package sim

import (
	"math"
	"slices"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/rng"
)

// testdata/network.s on two nodes of 8 tiles (testdata/two-nodes.yaml):
// routers hold 4 tiles, so tiles 0 and 1 share router 0 of node 0; tile 13
// is local tile 5 of node 1, on its router 1, one hop from router 0. A
// message of 128 words is 128 x 16 / 32 = 64 flits and 8 packets of 16
// words. Node 0 has 2 tiles with code, so its injection rate is packets in
// the last 1000 cycles / (1000 x 2).
//
//	send 1 @2: 8 reads from the port, 2..9, done 9 + 2 = 11. Rate 8/2000 =
//	    0.004: router latency 29 + (0.003/0.004) x 2 = 30.5 -> 31. One router:
//	    arrives 11 + 31 + 64 = 106; serialised at 11 + 64 = 75.
//	send 2 @75: reads 75..82, done 84. Rate 16/2000 = 0.008: 31 + (0.003/0.005)
//	    x 3 = 32.8 -> 33. Routers: 0 of node 0, then 0 and 1 of node 1 = 3;
//	    link 8 packets x 5 ns = 40: arrives 84 + 3 x 33 + 64 + 40 = 287;
//	    serialised at 148, halt at 148, done 149.
//	tile 1: receive waits until 106; 8 writes 106..113, valid at 115; core
//	    0's load (blocked since 3) runs at 115, done 124, hlt -> 125.
//	tile 13: receive at 287, valid at 296; load done 305, hlt -> 306.
func TestSendReceiveAcrossTilesAndNodes(t *testing.T) {
	a := archFile(t, "two-nodes.yaml")
	p := assemble(t, a, "network.s")
	words := codes(rng.New(1), 128, 1<<15)
	addData(t, p, 0, 0, words)
	s, r := simulate(t, a, p, Options{})
	for _, tile := range []int{1, 13} {
		if got := s.coreOf(t, tile, 0).data(0, 128); !slices.Equal(got, words) {
			t.Errorf("tile %d received other words", tile)
		}
	}
	if r.Cycles != 306 {
		t.Errorf("%d cycles, want 306", r.Cycles)
	}
	for _, c := range []struct {
		tile      int
		core      int
		haltedEnd int64
	}{{0, -1, 149}, {1, -1, 116}, {1, 0, 125}, {13, -1, 297}, {13, 0, 306}} {
		var got int64 = -1
		for _, pr := range slices.Concat(r.Tiles, r.Cores) {
			if pr.Tile == c.tile && pr.Core == c.core {
				got = pr.Powered
			}
		}
		if got != c.haltedEnd {
			t.Errorf("%s halted at %d, want %d", where(c.tile, c.core), got, c.haltedEnd)
		}
	}
	want := NetworkStats{Messages: 2, InterNode: 1, Words: 256, Packets: 16, Flits: 128, RouterTraversals: 1 + 3, MaxRate: 0.008, MaxRouterCycles: 33}
	if r.Network != want {
		t.Errorf("network %+v\nwant    %+v", r.Network, want)
	}
	// Routers: 64 flits through 1 router, then through 3, at 16.13 pJ per
	// flit per router; the link: 8 packets x 52 nJ. Router leakage: node 0
	// is busy over [2, 106) and [75, 287): 285 cycles; node 1 over [75,
	// 287): 212 cycles; one router in use on each, 0.41 mW.
	checkPJ(t, "routers", s.book.pj[ClassNetwork][arch.CompRouter], 64*4*16.13)
	checkPJ(t, "link", s.book.pj[ClassNetwork][arch.CompNodeLink], 8*52000)
	checkPJ(t, "router leakage", s.book.pj[ClassLeakage][arch.CompRouter], (285+212)*0.41)
}

func checkPJ(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s: %.9f pJ, want %.9f", what, got, want)
	}
}
