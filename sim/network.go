package sim

import (
	"math"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/fixed"
)

// node is the network state of one node.
type node struct {
	routersUsed map[int]bool // routers with a tile that has code
	tiles       int          // tiles with code
	recent      []injection  // injections inside the rate window
	busyUntil   int64        // the network is busy up to here
	busy        int64        // cycles with a message in flight (routers powered)
}

type injection struct {
	t       int64
	packets int
}

// NetworkStats counts the traffic of a run.
type NetworkStats struct {
	Messages         int64   `json:"messages"`
	InterNode        int64   `json:"inter_node_messages"`
	Words            int64   `json:"words"`
	Packets          int64   `json:"packets"`
	Flits            int64   `json:"flits"`
	RouterTraversals int64   `json:"router_traversals"`
	MaxRate          float64 `json:"max_injection_rate"`
	MaxRouterCycles  int64   `json:"max_router_cycles"`
}

// rate records an injection of packets at cycle t and returns the node's
// injection rate: packets injected in the last window, this one included,
// per tile with code per cycle.
func (n *node) rate(t int64, packets, window int) float64 {
	keep := 0
	for keep < len(n.recent) && n.recent[keep].t <= t-int64(window) {
		keep++
	}
	n.recent = append(n.recent[:0], n.recent[keep:]...)
	n.recent = append(n.recent, injection{t, packets})
	total := 0
	for _, in := range n.recent {
		total += in.packets
	}
	return float64(total) / float64(window*max(1, n.tiles))
}

// addBusy marks [t0, t1) busy; starts never decrease, so the union of the
// intervals is kept with one bound.
func (n *node) addBusy(t0, t1 int64) {
	if t0 < n.busyUntil {
		t0 = n.busyUntil
	}
	if t1 > t0 {
		n.busy += t1 - t0
		n.busyUntil = t1
	}
}

// hops is the Manhattan distance between two routers of a node's mesh,
// routers laid out row by row on a square-ish grid.
func (s *Sim) hops(a, b int) int {
	w := int(math.Ceil(math.Sqrt(float64(s.arch.Routers()))))
	dx, dy := a%w-b%w, a/w-b/w
	return abs(dx) + abs(dy)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// route sends words from src to dst, injected from cycle start after being
// read by cycle read, and books its energy. It returns when the source has
// serialised the message onto its link and when the message arrives.
//
// A message crosses hops+1 routers of its node's mesh, each taking the
// router latency at the node's current injection rate; a message to another
// node goes through router 0 of both nodes and the link between them. Flits
// follow the head one per cycle.
func (s *Sim) route(src, dst *tile, words int, start, read int64) (serialised, arrive int64) {
	a := s.arch
	flits := int64((words*fixed.Width + s.t.flitBits - 1) / s.t.flitBits)
	packets := (words + a.Network.PacketWords - 1) / a.Network.PacketWords
	nd := s.nodes[src.node]
	rate := nd.rate(start, packets, a.Network.RateWindowCycles)
	lr := a.Network.RouterCycles(rate)
	routers := 0
	var link int64
	switch {
	case src == dst: // the tile's own loop-back: no router
	case src.node == dst.node:
		routers = s.hops(src.router, dst.router) + 1
	default:
		routers = s.hops(src.router, 0) + 1 + s.hops(0, dst.router) + 1
		link = a.Cycles(float64(packets) * a.Components.NodeLink.LatencyNS)
		s.net.InterNode++
		s.book.add(ClassNetwork, arch.CompNodeLink, float64(packets)*a.Components.NodeLink.AccessPJ(), read, read+link)
	}
	arrive = read + int64(routers)*lr + flits + link
	s.book.add(ClassNetwork, arch.CompRouter, float64(flits)*float64(routers)*a.Components.Router.AccessPJ(), read, arrive)
	if routers > 0 {
		nd.addBusy(start, arrive)
		if dst.node != src.node {
			s.nodes[dst.node].addBusy(start, arrive)
		}
	}
	st := &s.net
	st.Messages++
	st.Words += int64(words)
	st.Packets += int64(packets)
	st.Flits += flits
	st.RouterTraversals += int64(routers)
	st.MaxRate = max(st.MaxRate, rate)
	if routers > 0 {
		st.MaxRouterCycles = max(st.MaxRouterCycles, lr)
	}
	return read + flits, arrive
}
