package compiler

import (
	"fmt"
	"maps"

	"github.com/panther-xbar/panther/isa"
)

// This file assigns the work of every stage to cores (partitioning) and
// the cores to tiles (placement).
//
// A matrix stage's crossbar tiles go to unit cores, two matrix units per
// core, both from the same column of tiles: unit cores of one column are
// consecutive, so the tree that adds their products (xbar.TreeSum's order)
// mostly stays inside a core and a tile. Each stage's output channels are
// split into groups; one core per group (its lead) finishes them: the tree
// sum's last step, the activations, the derivative factors the backward
// pass needs, and in backward the error accumulation and the masked error
// that goes back to the crossbars. Pooling and activation-only stages run
// on one core per group. Cores fill tiles in stage order, so a layer's
// cores stay together and consecutive layers meet at most at a tile edge.

type role uint8

const (
	roleUnits role = iota // one or two matrix units of a matrix stage
	roleLead              // finishes a group of a matrix stage's outputs
	roleGroup             // a pooling or activation stage's group
)

// core is one core's job.
type core struct {
	id   int // placement order
	tile int // global tile number
	num  int // core number in its tile
	role role
	st   *stage
	// Unit cores: the column tile and one or two consecutive row tiles.
	ct    int
	rts   []int
	tiles []rowTile
	// Leads and group cores.
	g *group
	p *prog
}

// lines is the input-buffer lines of a unit core's matrix units.
func (c *core) lines() int {
	n := 0
	for _, t := range c.tiles {
		n += len(t.phys)
	}
	return n
}

func (c *core) String() string {
	switch c.role {
	case roleUnits:
		return fmt.Sprintf("tile %d core %d (%s, crossbars rows %v column %d)", c.tile, c.num, c.st.name(), c.rts, c.ct)
	case roleLead:
		return fmt.Sprintf("tile %d core %d (%s, outputs %d..%d)", c.tile, c.num, c.st.name(), c.g.c0, c.g.c1-1)
	}
	return fmt.Sprintf("tile %d core %d (%s, channels %d..%d)", c.tile, c.num, c.st.name(), c.g.c0, c.g.c1-1)
}

// group is a range of a map's channels with the core that produces them.
type group struct {
	st     *stage // the producing stage; nil for the network input
	c0, c1 int
	owner  *core // lead or group core; nil for the network input
}

func (g *group) width() int { return g.c1 - g.c0 }

// split cuts channels [c0, c1) into n near-equal groups.
func split(c0, c1, n int, st *stage) []*group {
	var gs []*group
	for k := range n {
		a, b := c0+(c1-c0)*k/n, c0+(c1-c0)*(k+1)/n
		gs = append(gs, &group{st: st, c0: a, c1: b})
	}
	return gs
}

// poolWidth bounds the channels of a pooling core: it holds, per channel,
// a few vectors, the window, and in backward the window again and its
// errors, in half its data memory.
func poolWidth(s *stage, a isa.Arch) int {
	return a.RegisterWords / 2 / (8 + s.fr.kh2*s.fr.kw2 + 3*s.win.offsets())
}

// groupWidth is the widest group of a stage's outputs: at most a
// crossbar's columns, its map store (the next stage's frame of it, all
// rows) within budget words, and, when training into a matrix stage, few
// enough channels that the owner adds the input errors of about two of
// that stage's row tiles (which hold CrossbarSize/offsets channels each).
// Pooling keeps its input's groups whole, so a group before pooling takes
// the limits of the stages after it too.
func groupWidth(stages []*stage, next int, a isa.Arch, budget int, training bool) int {
	w := a.CrossbarSize
	for k := next; k < len(stages); k++ {
		s := stages[k]
		w = min(w, budget/(s.fr.in.H*s.fr.ws))
		if s.kind != stMatrix {
			w = min(w, poolWidth(s, a))
		}
		if s.kind == stMatrix {
			if training {
				w = min(w, 2*a.CrossbarSize/s.win.offsets())
			}
			break
		}
	}
	return max(1, w)
}

// makeGroups splits each stage's outputs (and the network input) into
// groups. The last stage keeps its outputs in one group when a loss or a
// head needs the whole vector in one core.
func makeGroups(stages []*stage, a isa.Arch, whole, training bool, budget int) (input []*group, err error) {
	in := stages[0].in
	width := groupWidth(stages, 0, a, budget, training)
	input = split(0, in.C, (in.C+width-1)/width, nil)
	prev := input
	for k, s := range stages {
		s.inGroups = prev
		switch {
		case s.kind != stMatrix:
			// Pooling and activations work channel by channel: each group
			// is whole input groups, as many as its width allows.
			w := min(groupWidth(stages, k+1, a, budget, training), poolWidth(s, a))
			for i := 0; i < len(prev); {
				g := &group{st: s, c0: prev[i].c0, c1: prev[i].c1}
				for i++; i < len(prev) && prev[i].c1-g.c0 <= w; i++ {
					g.c1 = prev[i].c1
				}
				s.groups = append(s.groups, g)
			}
		case k == len(stages)-1 && whole:
			if s.cols > maxWholeGroup {
				return nil, doesNotFit("%s has %d outputs: the loss and the output head need them in one core, at most %d", s.name(), s.cols, maxWholeGroup)
			}
			s.groups = []*group{{st: s, c0: 0, c1: s.cols}}
		default:
			w := groupWidth(stages, k+1, a, budget, training)
			for ct := range s.colTiles() {
				c0, c1 := s.colB[ct], s.colB[ct+1]
				s.groups = append(s.groups, split(c0, c1, (c1-c0+w-1)/w, s)...)
			}
		}
		prev = s.groups
	}
	return input, nil
}

// maxWholeGroup bounds the outputs one core finishes: it holds several
// vectors of them in its data memory.
const maxWholeGroup = 256

// makeCores lists every stage's cores in placement order.
func makeCores(stages []*stage) []*core {
	var cores []*core
	add := func(c *core) {
		c.id = len(cores)
		cores = append(cores, c)
	}
	for _, s := range stages {
		if s.kind == stMatrix {
			for ct := range s.colTiles() {
				for rt := 0; rt < s.rowTiles(); rt += 2 {
					c := &core{role: roleUnits, st: s, ct: ct}
					for _, r := range []int{rt, rt + 1} {
						if r < s.rowTiles() {
							c.rts = append(c.rts, r)
							c.tiles = append(c.tiles, s.rowTile(r))
						}
					}
					add(c)
				}
			}
			for _, g := range s.groups {
				g.owner = &core{role: roleLead, st: s, g: g}
				add(g.owner)
			}
			continue
		}
		for _, g := range s.groups {
			g.owner = &core{role: roleGroup, st: s, g: g}
			add(g.owner)
		}
	}
	return cores
}

// place puts cores on tiles in order, starting a new tile when the
// current one has all its cores, when a stage has perTile[stage] cores on
// it already, or when the next core's shared memory (demand, given the
// network-input groups the tile's cores share) or transfer instructions
// (msgs, for every example) would not fit. A model that needs more tiles
// than the architecture has is told how many nodes it needs.
func place(cores []*core, a isa.Arch, perTile map[*stage]int, demand func(*core, map[*group]bool) int, msgs func(*core) int) error {
	tile, used, words, insts := 0, 0, 0, 0
	count := map[*stage]int{}
	shared := map[*group]bool{}
	for _, c := range cores {
		with := maps.Clone(shared)
		need, m := demand(c, with), msgs(c)
		if used == a.CoresPerTile || count[c.st] >= perTile[c.st] || used > 0 && (words+need > a.SharedWords || insts+m > a.TileInstMem-1) {
			tile, used, words, insts = tile+1, 0, 0, 0
			count = map[*stage]int{}
			with = map[*group]bool{}
			need = demand(c, with)
		}
		shared = with
		c.tile, c.num = tile, used
		used++
		words += need
		insts += m
		count[c.st]++
	}
	if n := tile + 1; n > a.Tiles() {
		return doesNotFit("the model needs %d tiles, %d nodes of %d tiles; the architecture has %d node(s)",
			n, (n+a.TilesPerNode-1)/a.TilesPerNode, a.TilesPerNode, a.Nodes)
	}
	return nil
}
