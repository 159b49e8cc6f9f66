package sim

import (
	"bytes"
	"context"
	"fmt"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// This file generates the assembly of one training example of the MLP
// 1024-256-512-512-10 (the paper's MLP-L4) on 128 x 128 crossbars, and checks
// it against package xbar, alu and xbar.TreeSum called directly.
//
// Placement: layer 1 (8 x 2 crossbars) on tile 0, layer 2 (2 x 4) and layer
// 4 (4 x 1) on tile 1, layer 3 (4 x 4) on tile 2; two crossbars per core,
// numbered row-major. Every crossbar core loads its input chunk, runs MVM
// and stores its partial output; the layer's first core (the reducer) adds
// the partials in the order of xbar.TreeSum, applies relu and stores the
// layer's output, which the tile sends to the next layer's tile. The last
// reducer forms the loss gradient: log_softmax, then log_softmax_d of the
// error -onehot(label). Backward, each crossbar runs MTVM and OPA together
// (MTVM reads the weights before the update); the reducer adds the partial
// errors in tree order and masks them with relud by the layer's input. Every
// core ends with a CRS of its units.

const xbarSize = 128

type mlpLayer struct {
	in, out     int
	tile, core0 int
	rows, cols  int // crossbar grid
	// shared-memory addresses on the layer's tile
	x, part, y, dy, back, err int
}

// unit returns the core and unit of crossbar (i, j).
func (l *mlpLayer) unit(i, j int) (core, unit int) {
	k := i*l.cols + j
	return l.core0 + k/2, k % 2
}

func chunk(n, k int) int { return min(xbarSize, n-k*xbarSize) }

// wv splits n words into ld/st width and vec.
func wv(n int) string {
	if n%16 == 0 {
		return fmt.Sprintf("16, %d", n/16)
	}
	if n > 16 {
		panic(fmt.Sprintf("mlp: %d words is neither a multiple of 16 nor at most 16", n))
	}
	return fmt.Sprintf("%d, 1", n)
}

type mlpGen struct {
	layers []*mlpLayer
	next   map[int]int // next free shared-memory word per tile
	ctl    map[int]*strings.Builder
	cores  map[[2]int]*strings.Builder
	label  int
}

func (g *mlpGen) alloc(tile, n int) int {
	a := g.next[tile]
	g.next[tile] += n
	return a
}

func (g *mlpGen) core(tile, core int) *strings.Builder {
	k := [2]int{tile, core}
	if g.cores[k] == nil {
		g.cores[k] = &strings.Builder{}
	}
	return g.cores[k]
}

func (g *mlpGen) emit(tile, core int, format string, args ...any) {
	b := g.ctl[tile]
	if core >= 0 {
		b = g.core(tile, core)
	}
	fmt.Fprintf(b, "\t"+format+"\n", args...)
}

// addr loads a shared-memory address into r2047.
func (g *mlpGen) addr(tile, core, a int) { g.emit(tile, core, "set r2047, %d, 1", a) }

// treeSum adds the vectors at registers parts (each n words) level by level,
// neighbours first, as xbar.TreeSum does; the sum ends in parts[0].
func (g *mlpGen) treeSum(tile, core int, parts []int, n int) {
	for len(parts) > 1 {
		var next []int
		for k := 0; k < len(parts); k += 2 {
			if k+1 < len(parts) {
				g.emit(tile, core, "alu add r%d, r%d, r%d, %d", parts[k], parts[k], parts[k+1], n)
			}
			next = append(next, parts[k])
		}
		parts = next
	}
}

// transfer sends n words from tile src at a to tile dst at b, where they
// become valid for readers reads.
func (g *mlpGen) transfer(src, a, dst, b, n, readers int) {
	g.emit(src, -1, "send %d, %d, 16, %d, %d", a, dst, b, n/16)
	g.emit(dst, -1, "receive %d, %d, 16, %d, %d", b, src, readers, n/16)
}

func newMLPGen() *mlpGen {
	g := &mlpGen{next: map[int]int{}, ctl: map[int]*strings.Builder{}, cores: map[[2]int]*strings.Builder{}, label: 3}
	dims := []int{1024, 256, 512, 512, 10}
	place := [][2]int{{0, 0}, {1, 0}, {2, 0}, {1, 4}}
	for li := range 4 {
		l := &mlpLayer{in: dims[li], out: dims[li+1], tile: place[li][0], core0: place[li][1]}
		l.rows, l.cols = (l.in+xbarSize-1)/xbarSize, (l.out+xbarSize-1)/xbarSize
		l.x = g.alloc(l.tile, l.in)
		l.part = g.alloc(l.tile, l.rows*l.cols*xbarSize)
		l.y = g.alloc(l.tile, l.out)
		l.dy = g.alloc(l.tile, l.out)
		l.back = g.alloc(l.tile, l.in)
		g.layers = append(g.layers, l)
		if g.ctl[l.tile] == nil {
			g.ctl[l.tile] = &strings.Builder{}
		}
	}
	g.layers[3].err = g.alloc(g.layers[3].tile, 10)
	for li, l := range g.layers {
		g.forward(li, l)
	}
	for li := len(g.layers) - 1; li >= 0; li-- {
		g.backward(li, g.layers[li])
	}
	return g
}

func (g *mlpGen) forward(li int, l *mlpLayer) {
	last := li == len(g.layers)-1
	for i := range l.rows {
		for j := range l.cols {
			c, u := l.unit(i, j)
			g.addr(l.tile, c, l.x+i*xbarSize)
			g.emit(l.tile, c, "ld xin%d.mvm, r2047, %s", u, wv(chunk(l.in, i)))
			if u == 1 || j == l.cols-1 && i == l.rows-1 {
				mask := "u0:mvm"
				if u == 1 {
					mask = "u0:mvm, u1:mvm"
				}
				g.emit(l.tile, c, "mvm %s", mask)
				for uu := 0; uu <= u; uu++ {
					k := i*l.cols + j - u + uu
					g.addr(l.tile, c, l.part+k*xbarSize)
					g.emit(l.tile, c, "st r2047, xout%d.mvm, 1, %s", uu, wv(chunk(l.out, k%l.cols)))
				}
			}
		}
	}
	r := l.core0 // the reducer
	for j := range l.cols {
		n := chunk(l.out, j)
		var parts []int
		for i := range l.rows {
			g.addr(l.tile, r, l.part+(i*l.cols+j)*xbarSize)
			g.emit(l.tile, r, "ld r%d, r2047, %s", i*xbarSize, wv(n))
			parts = append(parts, i*xbarSize)
		}
		g.treeSum(l.tile, r, parts, n)
		if last {
			g.emit(l.tile, r, "alu log_softmax r1024, r0, %d", n)
			g.addr(l.tile, r, l.err)
			g.emit(l.tile, r, "ld r1040, r2047, %s", wv(n))
			g.emit(l.tile, r, "alu log_softmax_d r1056, r1040, r1024, %d", n)
			g.addr(l.tile, r, l.dy)
			g.emit(l.tile, r, "st r2047, r1056, %d, %s", l.rows, wv(n))
			continue
		}
		g.emit(l.tile, r, "alu relu r0, r0, %d", n)
		g.addr(l.tile, r, l.y+j*xbarSize)
		g.emit(l.tile, r, "st r2047, r0, 1, %s", wv(n))
	}
	if !last {
		nx := g.layers[li+1]
		g.transfer(l.tile, l.y, nx.tile, nx.x, l.out, nx.cols+1) // nx's crossbars, then its relud
	}
}

func (g *mlpGen) backward(li int, l *mlpLayer) {
	for i := range l.rows {
		for j := range l.cols {
			c, u := l.unit(i, j)
			g.addr(l.tile, c, l.dy+j*xbarSize)
			n := chunk(l.out, j)
			if li > 0 {
				g.emit(l.tile, c, "ld xin%d.mtvm, r2047, %s", u, wv(n))
				g.emit(l.tile, c, "cp xout%d.opa, xin%d.mtvm, %d", u, u, n)
			} else {
				g.emit(l.tile, c, "ld xout%d.opa, r2047, %s", u, wv(n))
			}
			g.emit(l.tile, c, "cp xin%d.opa, xin%d.mvm, %d", u, u, chunk(l.in, i))
			if u == 1 || j == l.cols-1 && i == l.rows-1 {
				ops := "opa"
				if li > 0 {
					ops = "mtvm+opa"
				}
				mask, units := fmt.Sprintf("u0:%s", ops), "u0"
				if u == 1 {
					mask, units = fmt.Sprintf("u0:%s, u1:%s", ops, ops), "u0, u1"
				}
				g.emit(l.tile, c, "mvm %s", mask)
				if li > 0 {
					for uu := 0; uu <= u; uu++ {
						k := i*l.cols + j - u + uu
						g.addr(l.tile, c, l.part+k*xbarSize)
						g.emit(l.tile, c, "st r2047, xout%d.mtvm, 1, %s", uu, wv(chunk(l.in, k/l.cols)))
					}
				}
				g.emit(l.tile, c, "crs %s", units)
			}
		}
	}
	if li == 0 {
		return
	}
	r := l.core0
	for i := range l.rows {
		n := chunk(l.in, i)
		var parts []int
		for j := range l.cols {
			g.addr(l.tile, r, l.part+(i*l.cols+j)*xbarSize)
			g.emit(l.tile, r, "ld r%d, r2047, %s", j*xbarSize, wv(n))
			parts = append(parts, j*xbarSize)
		}
		g.treeSum(l.tile, r, parts, n)
		g.addr(l.tile, r, l.x+i*xbarSize)
		g.emit(l.tile, r, "ld r1152, r2047, %s", wv(n))
		g.emit(l.tile, r, "alu relud r0, r0, r1152, %d", n)
		g.addr(l.tile, r, l.back+i*xbarSize)
		g.emit(l.tile, r, "st r2047, r0, 1, %s", wv(n))
	}
	prev := g.layers[li-1]
	g.transfer(l.tile, l.back, prev.tile, prev.dy, l.in, prev.rows)
}

// source writes the generated assembly.
func (g *mlpGen) source() string {
	var b strings.Builder
	b.WriteString("# One training example of MLP 1024-256-512-512-10, generated by mlp_test.go.\n")
	for tile := range 3 {
		fmt.Fprintf(&b, ".tile %d\n%s\thalt\n", tile, g.ctl[tile])
		for core := range 8 {
			if c := g.cores[[2]int{tile, core}]; c != nil {
				fmt.Fprintf(&b, ".core %d\n%s\thlt\n", core, c)
			}
		}
	}
	return b.String()
}

// mlpData is the example, the label's error and the weights.
type mlpData struct {
	x, err  []int16
	weights [][]int16 // per layer, the cell matrix M = W^T, in x out
}

const mlpEta = -1.0 / 128

func newMLPData(g *mlpGen) mlpData {
	src := rng.New(2024)
	d := mlpData{x: make([]int16, 1024), err: make([]int16, 10)}
	for i := range d.x {
		d.x[i] = int16(src.IntN(1 << 12)) // [0, 1)
	}
	d.err[g.label] = -1 << 12 // d loss / d log p = -onehot
	for _, l := range g.layers {
		d.weights = append(d.weights, codes(src, l.in*l.out, 1<<10)) // [-0.25, 0.25)
	}
	return d
}

// block cuts crossbar (i, j) out of a layer's cell matrix.
func (l *mlpLayer) block(m []int16, i, j int) []int16 {
	r, c := chunk(l.in, i), chunk(l.out, j)
	out := make([]int16, 0, r*c)
	for row := range r {
		start := (i*xbarSize+row)*l.out + j*xbarSize
		out = append(out, m[start:start+c]...)
	}
	return out
}

// mlpProgram builds the program and its architecture.
func mlpProgram(t testing.TB) (*arch.Arch, *program.Program) {
	a := archFile(t, "mlp.yaml")
	g := newMLPGen()
	d := newMLPData(g)
	p := assemble(t, a, "mlp.s", g.source())
	addData(t, p, 0, g.layers[0].x, d.x)
	addData(t, p, g.layers[3].tile, g.layers[3].err, d.err)
	for li, l := range g.layers {
		for i := range l.rows {
			for j := range l.cols {
				c, u := l.unit(i, j)
				p.Weights = append(p.Weights, program.Weights{Tile: l.tile, Core: c, Unit: u,
					Rows: chunk(l.in, i), Cols: chunk(l.out, j), Codes: l.block(d.weights[li], i, j), Eta: mlpEta})
			}
		}
	}
	slices.SortFunc(p.Weights, func(x, y program.Weights) int {
		return (x.Tile*8+x.Core)*2 + x.Unit - ((y.Tile*8+y.Core)*2 + y.Unit)
	})
	return a, p
}

// The simulated example equals the same computation on xbar units, alu and
// xbar.TreeSum: the loss gradient and every unit's weights after the update
// and the CRS.
func TestMLPTrainingExampleMatchesReference(t *testing.T) {
	a, p := mlpProgram(t)
	const seed = 8
	s, r := simulate(t, a, p, Options{Seed: seed, KeepUnits: true})
	g := newMLPGen()
	d := newMLPData(g)
	ia := a.ISA()

	units := map[[3]int]*xbar.Unit{}
	unitOf := func(l *mlpLayer, li, i, j int) *xbar.Unit {
		c, u := l.unit(i, j)
		k := [3]int{l.tile, c, u}
		if units[k] == nil {
			cfg := a.UnitConfig()
			cfg.Seed = unitSeed(seed, ia, l.tile, c, u)
			xu, err := xbar.NewUnit(cfg, chunk(l.in, i), chunk(l.out, j))
			must(t, err)
			must(t, xu.Program(l.block(d.weights[li], i, j)))
			units[k] = xu
		}
		return units[k]
	}
	part := func(v []int16, k, n int) []int16 { return v[k*xbarSize : k*xbarSize+chunk(n, k)] }
	acts := [][]int16{d.x}
	for li, l := range g.layers {
		y := make([]int16, 0, l.out)
		for j := range l.cols {
			var parts [][]int16
			for i := range l.rows {
				out := make([]int16, chunk(l.out, j))
				must(t, unitOf(l, li, i, j).MVM(part(acts[li], i, l.in), out, nil))
				parts = append(parts, out)
			}
			sum := make([]int16, chunk(l.out, j))
			_, err := xbar.TreeSum(parts, nil, sum, nil)
			must(t, err)
			if li < 3 {
				_, err = alu.Apply(alu.OpRelu, sum, sum, nil, nil)
				must(t, err)
			}
			y = append(y, sum...)
		}
		acts = append(acts, y)
	}
	logp, grad := make([]int16, 10), make([]int16, 10)
	alu.LogSoftmax(logp, acts[4])
	alu.LogSoftmaxD(grad, d.err, logp)
	reducer := s.coreOf(t, g.layers[3].tile, g.layers[3].core0)
	if got := reducer.data(1056, 10); !slices.Equal(got, grad) {
		t.Fatalf("loss gradient %v, want %v", got, grad)
	}
	delta := grad
	for li := 3; li >= 0; li-- {
		l := g.layers[li]
		back := make([]int16, 0, l.in)
		for i := range l.rows {
			var parts [][]int16
			for j := range l.cols {
				xu := unitOf(l, li, i, j)
				dj := part(delta, j, l.out)
				if li > 0 {
					out := make([]int16, chunk(l.in, i))
					must(t, xu.MTVM(dj, out, nil))
					parts = append(parts, out)
				}
				must(t, xu.OPA(part(acts[li], i, l.in), dj, mlpEta))
				xu.CRS()
			}
			if li > 0 {
				sum := make([]int16, chunk(l.in, i))
				_, err := xbar.TreeSum(parts, nil, sum, nil)
				must(t, err)
				for k, h := range part(acts[li], i, l.in) {
					sum[k], _ = alu.Mul(sum[k], alu.Relud(h))
				}
				back = append(back, sum...)
			}
		}
		delta = back
	}
	changed := 0
	for k, xu := range units {
		want := make([]int16, xu.Forward().Rows()*xu.Forward().Cols())
		got := slices.Clone(want)
		_, err := xu.Weights(want)
		must(t, err)
		after, err := s.Unit(k[0], k[1], k[2])
		must(t, err)
		_, err = after.Weights(got)
		must(t, err)
		if !slices.Equal(got, want) {
			t.Errorf("tile %d core %d unit %d: weights after the update differ from the reference", k[0], k[1], k[2])
		}
		c, u := k[1], k[2]
		for li, l := range g.layers {
			for i := range l.rows {
				for j := range l.cols {
					if lc, lu := l.unit(i, j); l.tile == k[0] && lc == c && lu == u && !slices.Equal(got, l.block(d.weights[li], i, j)) {
						changed++
					}
				}
			}
		}
	}
	if changed < len(units)/2 {
		t.Errorf("only %d of %d units changed their weights: the example does not test the update", changed, len(units))
	}
	if len(units) != 44 {
		t.Errorf("%d crossbars, want 16 + 8 + 16 + 4 = 44", len(units))
	}
	t.Logf("%d cycles (%.1f us), %d instructions, %.3f uJ", r.Cycles, r.TimeNS/1e3, r.Instructions, r.EnergyPJ/1e6)
}

// A run that does not keep its units drops each core's crossbars when the
// core halts: the report is the same, and Unit reads a unit back before the
// run but not after it.
func TestHaltedCoresReleaseTheirUnits(t *testing.T) {
	a, p := mlpProgram(t)
	_, kept := simulate(t, a, p, Options{Seed: 5, KeepUnits: true})
	s, err := New(a, p, Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	w := p.Weights[0]
	if _, err := s.Unit(w.Tile, w.Core, w.Unit); err != nil {
		t.Fatalf("before the run: %v", err)
	}
	released, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	keptTable, keptJSON := reportBytes(t, kept)
	table, js := reportBytes(t, released)
	if !bytes.Equal(table, keptTable) || !bytes.Equal(js, keptJSON) {
		t.Errorf("releasing the units changed the report:\n%s\nwant\n%s", table, keptTable)
	}
	if released.Numeric.OPAPulses == 0 || released.Numeric.ADCConversions == 0 {
		t.Errorf("numeric %+v: the released units' counters are missing", released.Numeric)
	}
	for _, w := range p.Weights {
		if _, err := s.Unit(w.Tile, w.Core, w.Unit); err == nil || !strings.Contains(err.Error(), "KeepUnits") {
			t.Fatalf("unit %d of tile %d core %d after the run: error %v, want one naming KeepUnits", w.Unit, w.Tile, w.Core, err)
		}
	}
}

// Releasing units of collectAfter cells collects garbage (here after every
// halted core with units).
func TestReleasedUnitsAreCollected(t *testing.T) {
	defer func(n int) { collectAfter = n }(collectAfter)
	collectAfter = 1
	forced := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(forced)
	before := forced[0].Value.Uint64()
	a, p := mlpProgram(t)
	simulate(t, a, p, Options{})
	cores := map[[2]int]bool{}
	for _, w := range p.Weights {
		cores[[2]int{w.Tile, w.Core}] = true
	}
	metrics.Read(forced)
	if n := forced[0].Value.Uint64() - before; n < uint64(len(cores)) {
		t.Errorf("%d forced collections, want one per halted core with units (%d)", n, len(cores))
	}
}
