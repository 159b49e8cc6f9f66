package compiler

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/program"
)

// Options select what Compile builds.
type Options struct {
	// Infer builds a forward-only program over Data.Inputs; otherwise a
	// training program for Train.
	Infer bool
	Train Config
	// Data are the examples the program streams. Training draws them from
	// Train.Data when nil.
	Data *Dataset
}

// Result is a compiled program with what a harness needs to use it.
type Result struct {
	Program *program.Program
	// Notes[tile][core] are the notes of each core's instructions, for the
	// annotated assembly; Notes[tile][-1] those of the tile's control unit.
	Notes map[int]map[int][]string
	// Outputs says where an inference program leaves its results.
	Outputs []OutputRegion
	// Units maps every crossbar tile of every layer to its matrix unit.
	Units []UnitMap
	// Biases says where a training program leaves the biases it holds in
	// the vector unit rather than on crossbars (docs/training.md).
	Biases []BiasRegion
	Report Report
}

// BiasRegion is where a training program leaves, at its end, the bias of
// channels [C0, C1) of a layer that holds its bias in the vector unit:
// the copy products read at Addr, the updated copy at Addr + C1 - C0, in
// Tile's shared memory (they differ only between CRSs).
type BiasRegion struct {
	Layer      int
	Tile, Addr int
	C0, C1     int
}

// OutputRegion is where one group of an inference program's result
// channels lies: example e, pixel p (raster order), channel c at
// Addr + (e*Pixels + p)*(C1-C0) + c - C0 of Tile's shared memory.
type OutputRegion struct {
	Tile, Addr int
	C0, C1     int
	Pixels     int
}

// UnitMap places crossbar tile (RowTile, ColTile) of a layer: its rows, in
// the order they sit on the unit's lines, are the model rows Rows.
type UnitMap struct {
	Layer            int
	RowTile, ColTile int
	Tile, Core, Unit int
	Rows             []int
	Col0, Col1       int
}

// Compile lowers m for the architecture a.
func Compile(m Model, a isa.Arch, opt Options) (*Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if m.Net == nil {
		return nil, errors.New("no network given")
	}
	net := *m.Net
	net.Layers = slices.Clone(m.Net.Layers)
	training := !opt.Infer
	cfg := opt.Train
	if training {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		if cfg.Loss != "" {
			net.Loss = cfg.Loss
		}
		if err := net.Infer(); err != nil {
			return nil, err
		}
	} else if err := onnx.InferShapes(&net); err != nil {
		return nil, err
	}
	weights := m.Weights
	if weights == nil {
		weights = InitialWeights(&net, cfg.Seed)
	}
	b := &build{a: a, cfg: cfg, training: training, head: m.Head, loss: net.Loss, lossFrom: lossSource(m, cfg)}
	if err := b.loadData(&net, opt); err != nil {
		return nil, err
	}
	// The schedule finds the order of the tiles' transfers by running the
	// program on the compiler's machine, and measures its traffic for the
	// report. Where it finds rings too small for paths of different depth
	// that meet, they grow and the program is built again.
	grow := map[int]int{}
	perTile := map[int]int{}
	for attempt := 0; ; attempt++ {
		b.grow = grow
		code, res, err := b.placeAndGenerate(&net, weights, perTile)
		if err != nil {
			return nil, err
		}
		order, full, err := b.schedule(code)
		if err == nil {
			return b.assemble(&net, code, res, order, b.traffic)
		}
		if len(full) == 0 || attempt == maxGrowth {
			return nil, err
		}
		for _, id := range full {
			grow[id] = 4 * max(1, grow[id])
		}
	}
}

// lossSource says where a training program's loss comes from, for the
// report: a model without a softmax head that names no loss gets softmax
// cross-entropy, and the user must be able to see that.
func lossSource(m Model, cfg Config) string {
	switch {
	case cfg.Loss != "":
		return "set by the training configuration"
	case m.Head != onnx.NoHead:
		return "the model ends in " + m.Head.String()
	case m.DefaultLoss:
		return "the default: the ONNX graph has no Softmax or LogSoftmax head; set loss: mse (--loss mse) for mean squared error"
	}
	return "the model's"
}

// maxGrowth bounds the rebuilds that grow rings.
const maxGrowth = 8

// placeAndGenerate plans and generates the program; when a tile runs out
// of shared memory it puts fewer of that tile's first stage's cores on a
// tile and tries again. perTile records the limits (by stage index), so
// that a rebuild can reuse them. Where one core of a stage on the tile is
// already too many, it holds one example fewer in flight on every core
// (b.flight) and places the cores afresh: the examples a core keeps
// between its forward and backward pass take most of a tile's memory, and
// a program that fits keeps as many as it did without the bound.
func (b *build) placeAndGenerate(net *model.Network, weights [][]float64, perTile map[int]int) (map[int]*isa.TileCode, *Result, error) {
	for {
		err := b.plan(net, weights, perTile)
		var code map[int]*isa.TileCode
		var res *Result
		if err == nil {
			code, res, err = b.generate()
		}
		var me *memError
		if !errors.As(err, &me) {
			return code, res, err
		}
		// The stage with the most cores on the full tile gives way.
		count := map[int]int{}
		best := -1
		for _, c := range b.cores {
			if c.tile == me.tile {
				count[c.st.idx]++
				if best < 0 || count[c.st.idx] > count[best] {
					best = c.st.idx
				}
			}
		}
		if best >= 0 && count[best] > 1 {
			perTile[best] = count[best] - 1
			continue
		}
		n := b.inFlightNow()
		if n == 1 {
			return nil, nil, me.oneExample(b.examples)
		}
		b.flight = n - 1
		clear(perTile)
	}
}

// plan builds the stages, splits them over cores, places the cores and
// lays out every tile's memory.
func (b *build) plan(net *model.Network, weights [][]float64, limits map[int]int) error {
	a := b.a
	b.mem, b.outs, b.biases, b.flags, b.accFlags = map[int]*tileMem{}, map[*core]int{}, map[*core]int{}, map[flagKey]int{}, map[accKey]int{}
	stages, err := buildStages(net, weights, a.CrossbarSize, b.cfg.Bias, b.training)
	if err != nil {
		return err
	}
	b.stages = stages
	last := stages[len(stages)-1]
	if b.training && (last.kind != stMatrix || last.out.pixels() != 1) {
		return fmt.Errorf("%s ends the network: training needs the last stage to be a dense layer (or a convolution with a 1 x 1 output), whose outputs the loss reads", last.name())
	}
	if b.head != onnx.NoHead && last.out.pixels() != 1 {
		return fmt.Errorf("the output head needs a vector, but %s gives %dx%d pixels", last.name(), last.out.H, last.out.W)
	}
	if b.input, err = makeGroups(stages, a, b.training || b.head != onnx.NoHead, b.training, a.SharedWords/4); err != nil {
		return err
	}
	b.cores = makeCores(stages)
	b.makeStreams()
	perTile := map[*stage]int{}
	for _, s := range stages {
		perTile[s] = a.CoresPerTile
		if n, ok := limits[s.idx]; ok {
			perTile[s] = n
		}
	}
	if err := place(b.cores, a, perTile, b.demand, func(c *core) int { return b.examples * b.transferDemand(c) }); err != nil {
		return err
	}
	return b.layout()
}

// loadData fixes the examples the program streams.
func (b *build) loadData(net *model.Network, opt Options) error {
	switch {
	case opt.Data != nil:
		b.data = *opt.Data
	case b.training:
		ds, err := LoadData(b.cfg, net, b.cfg.Examples)
		if err != nil {
			return err
		}
		b.data = ds
	default:
		return errors.New("an inference program needs its input examples")
	}
	size := net.Input.Size()
	for i, x := range b.data.Inputs {
		if len(x) != size {
			return fmt.Errorf("example %d holds %d values; model %s reads %d (input %s)", i, len(x), net.Name, size, net.Input)
		}
	}
	b.examples = len(b.data.Inputs)
	if b.examples == 0 || b.examples > MaxExamples {
		return fmt.Errorf("%d examples given: a program streams 1 to %d", b.examples, MaxExamples)
	}
	if b.training {
		if b.examples != b.cfg.Examples {
			return fmt.Errorf("%d examples given; the configuration streams %d", b.examples, b.cfg.Examples)
		}
		classes := net.Output().Size()
		for i, l := range b.data.Labels {
			if l < 0 || l >= classes {
				return fmt.Errorf("example %d has label %d; the model has %d outputs", i, l, classes)
			}
		}
		if len(b.data.Labels) != b.examples {
			return fmt.Errorf("%d labels for %d examples", len(b.data.Labels), b.examples)
		}
	}
	return nil
}

// tile returns the memory of tile t.
func (b *build) tile(t int) *tileMem {
	m := b.mem[t]
	if m == nil {
		m = &tileMem{tile: t, size: b.a.SharedWords}
		b.mem[t] = m
	}
	return m
}

// private allocates words in core c's tile for c alone; every says that
// they hold every example of the program. An allocation failure is
// reported by finish through the first error.
func (b *build) private(c *core, words int, what string, every bool) int {
	a, err := b.tile(c.tile).alloc(words, what+" of "+c.String(), every)
	if err != nil && b.err == nil {
		b.err = err
	}
	return a
}

type accKey struct {
	tile int
	af   accFrame
}

// flagTable returns the address of a frame's real-origin flags in a tile:
// ny words for the origin rows, then nx for the columns.
func (b *build) flagTable(tile int, fr frame) int {
	k := flagKey{tile, fr}
	if a, ok := b.flags[k]; ok {
		return a
	}
	words := make([]int16, 0, fr.ny+fr.nx)
	for y := range fr.ny {
		words = append(words, int16(boolInt(fr.realRow(y))))
	}
	for x := range fr.nx {
		words = append(words, int16(boolInt(fr.realCol(x))))
	}
	m := b.tile(tile)
	a, err := m.alloc(len(words), "real-origin flags", false)
	if err != nil && b.err == nil {
		b.err = err
	}
	m.data(a, words)
	b.flags[k] = a
	return a
}

// accFlagTable returns the address of an error map's data-row flags.
func (b *build) accFlagTable(tile int, af accFrame) int {
	k := accKey{tile, af}
	if a, ok := b.accFlags[k]; ok {
		return a
	}
	words := make([]int16, af.rows)
	for r := range words {
		if r >= af.win.ph && r < af.win.ph+af.in.H {
			words[r] = 1
		}
	}
	m := b.tile(tile)
	a, err := m.alloc(len(words), "error-map row flags", false)
	if err != nil && b.err == nil {
		b.err = err
	}
	m.data(a, words)
	b.accFlags[k] = a
	return a
}

// labelRegion lays out the labels of every example where core c computes
// the loss: -onehot for softmax cross entropy (the error at the
// log-probabilities), onehot for MSE.
func (b *build) labelRegion(c *core) int {
	classes := c.g.width()
	words := make([]int16, b.examples*classes)
	v := int16(-alu.One)
	if b.loss == model.MSE {
		v = alu.One
	}
	for e, l := range b.data.Labels {
		words[e*classes+l] = v
	}
	a := b.private(c, len(words), "labels", true)
	b.tile(c.tile).data(a, words)
	return a
}

// layout creates the regions and streams and allocates their memory.
func (b *build) layout() error {
	if err := b.makeRegions(b.a.SharedWords / 8); err != nil {
		return err
	}
	for _, r := range b.maps {
		if err := r.layout(b.tile(r.tile), b.data.Inputs); err != nil {
			return err
		}
	}
	for _, s := range b.streams {
		remote := s.remote()
		s.chunk, s.recs = b.rings(s)
		for _, c := range remote {
			r, err := b.ring(s, s.writer.tile, 1)
			if err != nil {
				return err
			}
			s.send[c] = r
		}
		for _, c := range s.readers {
			r, err := b.ring(s, c.tile, 1)
			if err != nil {
				return err
			}
			s.rings[c] = r
		}
	}
	return nil
}

// ring allocates a ring of a stream in tile t whose records count reads
// free.
func (b *build) ring(s *recStream, t, count int) (*recRing, error) {
	if count > 255 {
		return nil, doesNotFit("%s: %d readers per record; a reader count is at most 255", s.name, count)
	}
	base, err := b.tile(t).alloc(s.recs*s.words, s.name, false)
	if err != nil {
		return nil, err
	}
	return &recRing{tile: t, base: base, recs: s.recs, words: s.words, count: count}, nil
}

// generate writes every core's program; the result holds the notes and
// the crossbar map.
func (b *build) generate() (map[int]*isa.TileCode, *Result, error) {
	res := &Result{Notes: map[int]map[int][]string{}}
	code := map[int]*isa.TileCode{}
	// A failure of an earlier build, which placement answered by moving
	// cores, is not this build's.
	b.err = nil
	for _, c := range b.cores {
		c.p = newProg(b.a, c.String())
		g := &gen{b: b, c: c, p: c.p, a: b.a}
		g.fwdEx, g.bwdEx = c.p.alloc(1, "forward example"), c.p.alloc(1, "backward example")
		switch c.role {
		case roleUnits:
			g.genUnits()
		case roleLead:
			g.genLead()
		default:
			g.genGroup()
		}
		insts, notes, err := c.p.finish()
		if err == nil {
			err = b.err
		}
		if err != nil {
			return nil, nil, err
		}
		if code[c.tile] == nil {
			code[c.tile] = &isa.TileCode{Tile: c.tile}
			res.Notes[c.tile] = map[int][]string{}
		}
		code[c.tile].Cores = append(code[c.tile].Cores, isa.CoreCode{Core: c.num, Insts: insts})
		res.Notes[c.tile][c.num] = notes
	}
	for t, m := range b.mem {
		if code[t] == nil {
			code[t] = &isa.TileCode{Tile: t}
			res.Notes[t] = map[int][]string{}
		}
		code[t].Data = m.segments()
	}
	return code, res, nil
}

// assemble adds the tiles' transfers and the weight images and checks the
// whole program.
func (b *build) assemble(net *model.Network, code map[int]*isa.TileCode, res *Result, order []event, traffic Traffic) (*Result, error) {
	ctl, err := b.transfers(order)
	if err != nil {
		return nil, err
	}
	prog := &program.Program{Arch: b.a, Meta: b.meta(net)}
	for _, c := range b.cores {
		if c.role != roleUnits {
			continue
		}
		for u, t := range c.tiles {
			c0, c1 := c.st.colB[c.ct], c.st.colB[c.ct+1]
			prog.Weights = append(prog.Weights, program.Weights{Tile: c.tile, Core: c.num, Unit: u, Rows: t.r1 - t.r0, Cols: c1 - c0,
				Codes: c.st.image(t, c.ct), Eta: -b.cfg.LR, Origin: c.st.origin(t, c.rts[u], c.ct)})
			res.Units = append(res.Units, UnitMap{Layer: c.st.layer, RowTile: c.rts[u], ColTile: c.ct,
				Tile: c.tile, Core: c.num, Unit: u, Rows: slices.Clone(t.phys), Col0: c0, Col1: c1})
		}
	}
	tiles := make([]int, 0, len(code))
	for t := range code {
		tiles = append(tiles, t)
	}
	slices.Sort(tiles)
	for _, t := range tiles {
		tc := code[t]
		if p := ctl[t]; p != nil {
			tc.Insts, res.Notes[t][-1] = p.insts, p.notes
		} else {
			tc.Insts, res.Notes[t][-1] = []isa.Inst{{Op: isa.OpHalt}}, []string{""}
		}
		slices.SortFunc(tc.Cores, func(x, y isa.CoreCode) int { return x.Core - y.Core })
		prog.Code.Tiles = append(prog.Code.Tiles, *tc)
	}
	slices.SortFunc(prog.Weights, func(x, y program.Weights) int {
		if x.Tile != y.Tile {
			return x.Tile - y.Tile
		}
		if x.Core != y.Core {
			return x.Core - y.Core
		}
		return x.Unit - y.Unit
	})
	if err := prog.Validate(); err != nil {
		return nil, fmt.Errorf("internal error: the compiled program is invalid: %w", err)
	}
	res.Program = prog
	if !b.training {
		last := b.stages[len(b.stages)-1]
		for _, g := range last.groups {
			res.Outputs = append(res.Outputs, OutputRegion{Tile: g.owner.tile, Addr: b.outs[g.owner], C0: g.c0, C1: g.c1, Pixels: last.out.pixels()})
		}
	}
	for _, s := range b.stages {
		for _, g := range s.groups {
			if a, ok := b.biases[g.owner]; ok {
				res.Biases = append(res.Biases, BiasRegion{Layer: s.layer, Tile: g.owner.tile, Addr: a, C0: g.c0, C1: g.c1})
			}
		}
	}
	res.Report = b.report(net, prog, traffic)
	return res, nil
}

// meta records how the program was built.
func (b *build) meta(net *model.Network) program.Meta {
	c := b.cfg
	opts := map[string]string{"mode": "infer", "examples": strconv.Itoa(b.examples), "bias": c.Bias.String()}
	if b.training {
		maps.Copy(opts, map[string]string{
			"mode": "train", "variant": c.Variant.String(), "batch": strconv.Itoa(c.Batch),
			"lr": strconv.FormatFloat(c.LR, 'g', -1, 64), "loss": string(b.loss),
			"crs_interval": strconv.Itoa(c.CRSInterval), "seed": strconv.FormatUint(c.Seed, 10), "data": c.Data,
		})
		maps.Copy(opts, c.Crossbar)
	}
	return program.Meta{Model: net.Name, Options: opts}
}
