package train

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

// crossbarNet is a network whose trainable layers live on xbar matrix units,
// one unit per crossbar tile of each cell matrix.
type crossbarNet struct {
	net    *model.Network
	layers []xlayer
	first  int // index of the first trainable layer: backward stops there
	eta    float64
	// Stage a runs the forward and backward passes, its readers taking the
	// examples in turn; the updaters (stage b) apply the OPAs in example
	// order, each to its own share of the units. With a read set separate
	// from the update set, stage a runs ahead of stage b, on every core
	// (on one with read noise: stageAShape).
	readers    []*reader
	updaters   []*updater
	vectorSats int64 // saturations of tree sums and vector-unit ops
}

// reader runs the forward and backward passes of every len(readers)-th
// example, reading the units through its own xbar.UnitReaders.
type reader struct {
	w       *workspace
	units   [][]*xbar.UnitReader // per layer, per tile (row-major)
	records chan *record         // its free records
	err     error
	// vectorSats counts the saturations of its passes until added to the
	// net's.
	vectorSats int64
}

// updater applies the OPAs of the tiles it owns, example after example.
type updater struct {
	w     *workspace
	owned [][]int // per layer, the tile indices (row-major) it updates
	err   error
}

// xlayer is one layer of a crossbarNet.
type xlayer struct {
	spec   model.Layer
	outLen int
	prod   product // trainable layers
	tiles  tileGrid
	bias   *vectorBias // a bias held outside the crossbars, or nil
	pool   pooling     // pooling layers
}

// vectorBias is a layer's bias held in the vector unit rather than as a
// crossbar row (model.Layer.BiasOnCrossbar is false): Q4.12 codes added to
// the layer's tree-summed outputs with saturation. Each example's error
// d at the layer's output updates it, pixel by pixel in raster order, as
// update[c] = sat16(update[c] + mul(d[c], eta)) with mul the vector unit's
// rounded, saturating Q4.12 product and eta = -lr as a Q4.12 code. Where
// the variant has read sets (accumulate, pipelined) the products read the
// copy read, which a CRS sets to update; inplace reads update itself.
type vectorBias struct {
	read, update []int16
	eta          int16
}

func newVectorBias(codes []int16, eta float64, variant xbar.Variant) *vectorBias {
	b := &vectorBias{update: slices.Clone(codes)}
	b.eta, _, _ = fixed.Q4_12.FromFloat(eta)
	b.read = b.update
	if variant != xbar.Inplace {
		b.read = slices.Clone(codes)
	}
	return b
}

// add adds the bias to a layer's outputs (channel-major, pixels per
// channel), ORing a saturation into the output's flag; it returns the
// saturations.
func (b *vectorBias) add(out []int16, flags []bool, pixels int) (events int64) {
	for k := range out {
		var sat bool
		if out[k], sat = alu.Add(out[k], b.read[k/pixels]); sat {
			flags[k] = true
			events++
		}
	}
	return events
}

// learn applies one example's errors (pixel-major, cols per pixel).
func (b *vectorBias) learn(errs []int16) (events int64) {
	cols := len(b.update)
	for k, d := range errs {
		u, s1 := alu.Mul(d, b.eta)
		var s2 bool
		b.update[k%cols], s2 = alu.Add(b.update[k%cols], u)
		events += int64(b2i(s1) + b2i(s2))
	}
	return events
}

// resolve is the bias's part of a CRS.
func (b *vectorBias) resolve() { copy(b.read, b.update) }

// tileGrid cuts a cell matrix into crossbar tiles of at most size x size.
type tileGrid struct {
	rowStart, colStart []int // tile boundaries, one more than tiles
	units              []*xbar.Unit
}

func (g *tileGrid) rowTiles() int { return len(g.rowStart) - 1 }
func (g *tileGrid) colTiles() int { return len(g.colStart) - 1 }

// workspace is the scratch of one goroutine.
type workspace struct {
	patch, dpatch []int16
	sum           []int16
	sumFlags      []bool
	tileOut       [][]int16 // one tile output per row or column tile
	tileFlags     [][]bool
	parts         [][]int16 // views handed to xbar.TreeSum
	partFlags     [][]bool
	dA, dB        []int16 // errors flowing backward
	lossY, lossE  []int16 // the loss's log-probabilities and their error
}

// record holds one example between the passes: activations, forward
// saturation flags, maxpool choices and the masked errors of trainable layers.
type record struct {
	home    chan *record // the free records of the reader it belongs to
	pending atomic.Int32 // updaters still to apply this record
	acts    [][]int16    // acts[l] is the input of layer l; the last is the output
	flags   [][]bool     // saturation flags of trainable layers' outputs
	argmax  [][]int32    // input index chosen by each maxpool output
	errs    [][]int16    // trainable layers: error at the output, pixel-major
}

// newCrossbarNet builds the units of every trainable layer, programs them
// with the initial weights and sets up the passes.
func newCrossbarNet(net *model.Network, cfg Config) (*crossbarNet, error) {
	n := &crossbarNet{net: net, eta: -cfg.LR, first: -1}
	size := cfg.Unit.Size
	maxLen, maxRows, maxTiles := net.Input.Size(), 1, 1
	for i, l := range net.Layers {
		xl := xlayer{spec: l, outLen: l.OutShape.Size()}
		maxLen = max(maxLen, xl.outLen)
		switch {
		case l.Trainable():
			if n.first < 0 {
				n.first = i
			}
			xl.prod = newProduct(l, l.BiasOnCrossbar(size.Rows, cfg.Bias))
			xl.tiles = tileGrid{rowStart: xbar.TileBounds(xl.prod.rows, size.Rows), colStart: xbar.TileBounds(xl.prod.cols, size.Cols)}
			maxRows = max(maxRows, xl.prod.rows, xl.prod.cols)
			maxTiles = max(maxTiles, xl.tiles.rowTiles(), xl.tiles.colTiles())
			m := cfg.initialCodes(l, i)
			if err := xl.tiles.build(cfg, i, m); err != nil {
				return nil, fmt.Errorf("layer %d (%s): %w", i+1, l.Kind, err)
			}
			if l.Bias && !xl.prod.bias {
				xl.bias = newVectorBias(m[l.FanIn()*l.CellCols():], n.eta, cfg.Unit.Variant)
			}
		case l.Kind == model.MaxPool || l.Kind == model.AvgPool:
			xl.pool = newPooling(l)
		}
		n.layers = append(n.layers, xl)
	}
	tile := max(size.Rows, size.Cols)
	ws := func() *workspace { return newWorkspace(maxRows, maxTiles, tile, maxLen) }
	n.shareUnits(runtime.GOMAXPROCS(0), ws)
	// Inplace units are read and written by every example in turn: one
	// reader with one record makes stage a wait for the updaters before
	// the next example. Otherwise the records are shared among the readers.
	readers, records := stageAShape(cfg)
	for range readers {
		n.readers = append(n.readers, n.newReader(ws(), records))
	}
	return n, nil
}

// stageAShape gives the readers of stage a and the records of each. Read
// noise is drawn from each read set's one stream in the order its
// products convert, so with read noise one reader runs every product in
// example order, as the simulator does; readers taking turns would draw
// in whatever order the scheduler ran them (docs/devices.md).
func stageAShape(cfg Config) (readers, records int) {
	if cfg.Unit.Variant == xbar.Inplace {
		return 1, 1
	}
	total := min(cfg.Batch, 16)
	if cfg.Unit.Device.ReadNoise > 0 {
		return 1, total
	}
	readers = max(1, min(runtime.GOMAXPROCS(0), total))
	return readers, total / readers
}

// newReader makes a reader with its own unit readers and records.
func (n *crossbarNet) newReader(w *workspace, records int) *reader {
	rd := &reader{w: w, units: make([][]*xbar.UnitReader, len(n.layers)), records: make(chan *record, records)}
	for i, l := range n.layers {
		for _, u := range l.tiles.units {
			rd.units[i] = append(rd.units[i], u.NewReader())
		}
	}
	for range records {
		r := n.newRecord()
		r.home = rd.records
		rd.records <- r
	}
	return rd
}

// shareUnits splits the units among up to workers updaters, each unit to
// the updater with the fewest cells so far. A unit's OPAs keep their order
// whatever the split, so results do not depend on it.
func (n *crossbarNet) shareUnits(workers int, ws func() *workspace) {
	workers = max(1, min(workers, len(n.units())))
	load := make([]int, workers)
	for range workers {
		n.updaters = append(n.updaters, &updater{w: ws(), owned: make([][]int, len(n.layers))})
	}
	for li, l := range n.layers {
		for t, u := range l.tiles.units {
			f := u.Forward()
			best := 0
			for k := range load {
				if load[k] < load[best] {
					best = k
				}
			}
			load[best] += f.Rows() * f.Cols()
			n.updaters[best].owned[li] = append(n.updaters[best].owned[li], t)
		}
	}
}

func newWorkspace(maxRows, maxTiles, tile, maxLen int) *workspace {
	w := &workspace{
		patch: make([]int16, maxRows), dpatch: make([]int16, maxRows),
		sum: make([]int16, tile), sumFlags: make([]bool, tile),
		parts: make([][]int16, maxTiles), partFlags: make([][]bool, maxTiles),
		dA: make([]int16, maxLen), dB: make([]int16, maxLen),
		lossY: make([]int16, maxLen), lossE: make([]int16, maxLen),
	}
	for range maxTiles {
		w.tileOut = append(w.tileOut, make([]int16, tile))
		w.tileFlags = append(w.tileFlags, make([]bool, tile))
	}
	return w
}

func (n *crossbarNet) newRecord() *record {
	L := len(n.layers)
	r := &record{acts: make([][]int16, L+1), flags: make([][]bool, L), argmax: make([][]int32, L), errs: make([][]int16, L)}
	r.acts[0] = make([]int16, n.net.Input.Size())
	for i, l := range n.layers {
		r.acts[i+1] = make([]int16, l.outLen)
		switch {
		case l.spec.Trainable():
			r.flags[i] = make([]bool, l.outLen)
			r.errs[i] = make([]int16, l.outLen)
		case l.spec.Kind == model.MaxPool:
			r.argmax[i] = make([]int32, l.outLen)
		}
	}
	return r
}

// build makes and programs the units of a cell matrix m (rows x cols,
// row-major). Tile t (row-major over the grid) of layer l gets the seed
// xbar.BlockSeed(seed, l, t), as a compiled program's unit for it does.
func (g *tileGrid) build(cfg Config, layer int, m []int16) error {
	cols := g.colStart[len(g.colStart)-1]
	for i := range g.rowTiles() {
		for j := range g.colTiles() {
			r0, r1, c0, c1 := g.rowStart[i], g.rowStart[i+1], g.colStart[j], g.colStart[j+1]
			uc := cfg.Unit
			uc.Seed = xbar.BlockSeed(cfg.Seed, layer, len(g.units))
			u, err := xbar.NewUnit(uc, r1-r0, c1-c0)
			if err != nil {
				return err
			}
			block := make([]int16, 0, (r1-r0)*(c1-c0))
			for r := r0; r < r1; r++ {
				block = append(block, m[r*cols+c0:r*cols+c1]...)
			}
			if err := u.Program(block); err != nil {
				return err
			}
			g.units = append(g.units, u)
		}
	}
	return nil
}

// forward runs the products of a trainable layer: for each pixel, each
// column block's row tiles through MVM, then their tree sum, into out (CHW)
// with the saturation flags, and then adds a bias held outside the
// crossbars.
func (l *xlayer) forward(w *workspace, units []*xbar.UnitReader, in, out []int16, outFlags []bool) (events int64, err error) {
	pr, g := &l.prod, &l.tiles
	nr, nc := g.rowTiles(), g.colTiles()
	for p := range pr.pixels {
		x := patchOf(pr, in, p, alu.One, w.patch)
		for j := range nc {
			c0, c1 := g.colStart[j], g.colStart[j+1]
			for i := range nr {
				part, fl := w.tileOut[i][:c1-c0], w.tileFlags[i][:c1-c0]
				if err := units[i*nc+j].MVM(x[g.rowStart[i]:g.rowStart[i+1]], part, fl); err != nil {
					return events, err
				}
				w.parts[i], w.partFlags[i] = part, fl
			}
			sum, sumFlags := w.sum[:c1-c0], w.sumFlags[:c1-c0]
			if pr.pixels == 1 {
				sum, sumFlags = out[c0:c1], outFlags[c0:c1]
			}
			ev, err := xbar.TreeSum(w.parts[:nr], w.partFlags[:nr], sum, sumFlags)
			if err != nil {
				return events, err
			}
			events += int64(ev)
			if pr.pixels > 1 {
				for k, v := range sum {
					out[(c0+k)*pr.pixels+p], outFlags[(c0+k)*pr.pixels+p] = v, sumFlags[k]
				}
			}
		}
	}
	if l.bias != nil {
		events += l.bias.add(out, outFlags, pr.pixels)
	}
	return events, nil
}

// backward propagates the errors of a trainable layer (pixel-major) to its
// input: per pixel, each row block's column tiles through MTVM and their
// tree sum in column-tile order, then added into dIn (CHW) in pixel order
// with saturation. The bias row's error is dropped.
func (l *xlayer) backward(w *workspace, units []*xbar.UnitReader, errs, dIn []int16) (events int64, err error) {
	pr, g := &l.prod, &l.tiles
	nr, nc := g.rowTiles(), g.colTiles()
	clear(dIn)
	for p := range pr.pixels {
		d := errs[p*pr.cols : (p+1)*pr.cols]
		for i := range nr {
			r0, r1 := g.rowStart[i], g.rowStart[i+1]
			for j := range nc {
				part := w.tileOut[j][:r1-r0]
				if err := units[i*nc+j].MTVM(d[g.colStart[j]:g.colStart[j+1]], part, nil); err != nil {
					return events, err
				}
				w.parts[j] = part
			}
			ev, err := xbar.TreeSum(w.parts[:nc], nil, w.dpatch[r0:r1], nil)
			if err != nil {
				return events, err
			}
			events += int64(ev)
		}
		if pr.gather == nil {
			copy(dIn, w.dpatch[:pr.patch]) // one pixel into zeros: the sums are the values
			continue
		}
		for r, idx := range pr.gather[p*pr.patch : (p+1)*pr.patch] {
			if idx >= 0 {
				var sat bool
				if dIn[idx], sat = alu.Add(dIn[idx], w.dpatch[r]); sat {
					events++
				}
			}
		}
	}
	return events, nil
}

// update applies the layer's OPAs to the tiles given (row-major indices):
// per pixel, each gets OPA(x_patch, d, eta) with its rows of the patch and
// its columns of the error.
func (l *xlayer) update(w *workspace, tiles []int, in, errs []int16, eta float64) error {
	pr, g := &l.prod, &l.tiles
	nc := g.colTiles()
	for p := range pr.pixels {
		x := patchOf(pr, in, p, alu.One, w.patch)
		d := errs[p*pr.cols : (p+1)*pr.cols]
		for _, t := range tiles {
			i, j := t/nc, t%nc
			if err := g.units[t].OPA(x[g.rowStart[i]:g.rowStart[i+1]], d[g.colStart[j]:g.colStart[j+1]], eta); err != nil {
				return err
			}
		}
	}
	return nil
}

// forwardPass runs the example through every layer into r; it returns the
// output (the logits).
func (rd *reader) forwardPass(n *crossbarNet, r *record, pixels []uint8) ([]int16, error) {
	w := rd.w
	for i, v := range pixels {
		r.acts[0][i] = fixed.PixelCodes[v]
	}
	for i := range n.layers {
		l := &n.layers[i]
		in, out := r.acts[i], r.acts[i+1]
		switch l.spec.Kind {
		case model.Dense, model.Conv2D:
			ev, err := l.forward(w, rd.units[i], in, out, r.flags[i])
			rd.vectorSats += ev
			if err != nil {
				return nil, err
			}
		case model.ReLU:
			for k, v := range in {
				out[k] = alu.Relu(v)
			}
		case model.Sigmoid, model.Tanh:
			f := alu.Sig
			if l.spec.Kind == model.Tanh {
				f = alu.Tanh
			}
			for k, v := range in {
				var sat bool
				if out[k], sat = f(v); sat {
					rd.vectorSats++
				}
			}
		case model.MaxPool:
			maxPool(&l.pool, in, out, r.argmax[i])
		case model.AvgPool:
			pl := &l.pool
			for o := range out {
				base, offs := pl.windowOf(o)
				var s int64
				for _, off := range offs {
					s += int64(in[base+int(off)])
				}
				out[o] = int16(roundDiv(s, int64(pl.window))) // a mean of codes is a code
			}
		case model.Flatten:
			copy(out, in)
		}
	}
	return r.acts[len(n.layers)], nil
}

// roundDiv is round_half_away(s / n) for n > 0, exactly.
func roundDiv(s, n int64) int64 {
	if s >= 0 {
		return (2*s + n) / (2 * n)
	}
	return -((-2*s + n) / (2 * n))
}

// lossError fills d with the error at the output for the label and returns
// the example's loss (w holds the scratch). Softmax cross-entropy:
// d = log_softmax_d(-onehot, log_softmax(z)) in the vector unit's
// arithmetic (alu), which is exp(y) - onehot with y the Q4.12
// log-probabilities. MSE (1/2 sum (y - t)^2): d = sat16(y - t), t = onehot.
func lossError(w *workspace, loss model.Loss, out []int16, label int, d []int16) (float64, int64) {
	var events int64
	if loss == model.MSE {
		var l float64
		for i, v := range out {
			t := int16(0)
			if i == label {
				t = alu.One
			}
			var sat bool
			if d[i], sat = alu.Sub(v, t); sat {
				events++
			}
			diff := fixed.Q4_12.Float(v) - fixed.Q4_12.Float(t)
			l += diff * diff / 2
		}
		return l, events
	}
	// The vector unit's form of the gradient Q(softmax(z)) - onehot: a
	// log_softmax, then log_softmax_d with the error -onehot arriving at its
	// output, so that compiled programs compute the same bits (docs/isa.md).
	y, e := w.lossY[:len(out)], w.lossE[:len(out)]
	events += int64(alu.LogSoftmax(y, out))
	clear(e)
	e[label] = -alu.One
	events += int64(alu.LogSoftmaxD(d, e, y))
	m := out[0]
	for _, v := range out {
		m = max(m, v)
	}
	mr := fixed.Q4_12.Float(m)
	var sum float64
	for _, v := range out {
		sum += math.Exp(fixed.Q4_12.Float(v) - mr)
	}
	return math.Log(sum) + mr - fixed.Q4_12.Float(out[label]), events
}

// argmax is the index of the first largest value.
func argmax[T int16 | float32 | float64](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// backwardPass turns the output error into the masked errors of every
// trainable layer (in r.errs), going down to the first trainable layer.
// The biases held in the vector unit learn from them later, in example
// order (learnBiases).
func (rd *reader) backwardPass(n *crossbarNet, r *record, d []int16) error {
	w := rd.w
	other := w.dB
	for i := len(n.layers) - 1; i >= n.first; i-- {
		l := &n.layers[i]
		in := r.acts[i]
		dIn := other[:len(in)]
		switch l.spec.Kind {
		case model.Dense, model.Conv2D:
			// Saturation has derivative zero: the forward flags mask the
			// error (docs/training.md). The errors are kept pixel-major for the OPAs.
			errs, flags, P, cols := r.errs[i], r.flags[i], l.prod.pixels, l.prod.cols
			for k, v := range d {
				if flags[k] {
					v = 0
				}
				errs[(k%P)*cols+k/P] = v
			}
			if i == n.first {
				return nil
			}
			ev, err := l.backward(w, rd.units[i], errs, dIn)
			rd.vectorSats += ev
			if err != nil {
				return err
			}
		case model.ReLU, model.Sigmoid, model.Tanh:
			out := r.acts[i+1]
			for k, dv := range d {
				var deriv int16
				var s1, s2 bool
				switch l.spec.Kind {
				case model.ReLU:
					deriv = alu.Relud(in[k])
				case model.Sigmoid: // s (1 - s)
					var c int16
					c, s1 = alu.Sub(alu.One, out[k])
					deriv, s2 = alu.Mul(out[k], c)
				case model.Tanh: // 1 - t^2
					var sq int16
					sq, s1 = alu.Mul(out[k], out[k])
					deriv, s2 = alu.Sub(alu.One, sq)
				}
				var s3 bool
				dIn[k], s3 = alu.Mul(dv, deriv)
				rd.vectorSats += int64(b2i(s1) + b2i(s2) + b2i(s3))
			}
		case model.MaxPool:
			clear(dIn)
			for o, dv := range d {
				idx := r.argmax[i][o]
				var sat bool
				if dIn[idx], sat = alu.Add(dIn[idx], dv); sat {
					rd.vectorSats++
				}
			}
		case model.AvgPool:
			clear(dIn)
			pl := &l.pool
			for o, dv := range d {
				share := int16(roundDiv(int64(dv), int64(pl.window)))
				base, offs := pl.windowOf(o)
				for _, off := range offs {
					idx := base + int(off)
					var sat bool
					if dIn[idx], sat = alu.Add(dIn[idx], share); sat {
						rd.vectorSats++
					}
				}
			}
		case model.Flatten:
			copy(dIn, d)
		}
		d, other = dIn, d[:cap(d)]
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// apply runs the updater's OPAs for one example, layer by layer.
func (u *updater) apply(n *crossbarNet, r *record) error {
	for i, tiles := range u.owned {
		if len(tiles) > 0 {
			if err := n.layers[i].update(u.w, tiles, r.acts[i], r.errs[i], n.eta); err != nil {
				return err
			}
		}
	}
	return nil
}

// exampleResult is what training or evaluating one example reports.
type exampleResult struct {
	loss    float64
	correct bool
}

// passA runs the forward and backward passes of one example.
func (rd *reader) passA(n *crossbarNet, r *record, pixels []uint8, label int) (exampleResult, error) {
	w := rd.w
	out, err := rd.forwardPass(n, r, pixels)
	if err != nil {
		return exampleResult{}, err
	}
	d := w.dA[:len(out)]
	loss, ev := lossError(w, n.net.Loss, out, label, d)
	rd.vectorSats += ev
	res := exampleResult{loss: loss, correct: argmax(out) == label}
	return res, rd.backwardPass(n, r, d)
}

// learnBiases lets the biases held in the vector unit learn from one
// example's errors.
func (n *crossbarNet) learnBiases(r *record) {
	for i, l := range n.layers {
		if l.bias != nil {
			n.vectorSats += l.bias.learn(r.errs[i])
		}
	}
}

// trainBatch trains on the examples in order: the readers of stage a take
// the examples in turn, each running an example's forward and backward
// passes into one of its records; this goroutine hands the records on in
// example order, the biases in the vector unit learning from each, and the
// updaters apply their OPAs, each to its own units. With one reader and
// one record (inplace) stage a waits for every OPA of an example before
// the next forward pass; otherwise MVM and MTVM read sets that OPA does
// not write, and stage a runs ahead. Either way every set sees the same
// operations in the same order (products of a read set from several
// readers only without read noise, where their order does not matter) and
// every sum is over integers, so the bits do not depend on scheduling or
// core count.
func (n *crossbarNet) trainBatch(examples []int, pixels func(int) []uint8, labels []uint8, results []exampleResult) error {
	var wg sync.WaitGroup
	queues := make([]chan *record, len(n.updaters))
	for k, u := range n.updaters {
		queues[k] = make(chan *record, len(examples))
		wg.Go(func() {
			for r := range queues[k] {
				if u.err == nil {
					u.err = u.apply(n, r)
				}
				if r.pending.Add(-1) == 0 {
					r.home <- r
				}
			}
		})
	}
	stop := make(chan struct{})
	done := n.forEachExample(&wg, len(examples), stop, func(rd *reader, r *record, k int) error {
		e := examples[k]
		var err error
		results[k], err = rd.passA(n, r, pixels(e), int(labels[e]))
		return err
	})
	for k := range examples {
		r, ok := <-done[k%len(done)]
		if !ok { // that reader failed
			break
		}
		n.learnBiases(r)
		r.pending.Store(int32(len(queues)))
		for _, q := range queues {
			q <- r
		}
	}
	close(stop)
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	return n.collect(done)
}

// forEachExample runs pass on examples 0..count-1, reader k taking
// examples k, k+R, k+2R, ... (R readers) in order, each into one of its
// free records. The returned channels give each reader's records as its
// passes finish; a reader's channel closes after its last example, after a
// failed pass, or when stop closes while it waits for a free record.
func (n *crossbarNet) forEachExample(wg *sync.WaitGroup, count int, stop chan struct{}, pass func(*reader, *record, int) error) []chan *record {
	done := make([]chan *record, len(n.readers))
	for j, rd := range n.readers {
		done[j] = make(chan *record, cap(rd.records))
		wg.Go(func() {
			defer close(done[j])
			for k := j; k < count && rd.err == nil; k += len(n.readers) {
				var r *record
				select {
				case r = <-rd.records:
				case <-stop:
					return
				}
				if rd.err = pass(rd, r, k); rd.err == nil {
					done[j] <- r
				}
			}
		})
	}
	return done
}

// collect ends a batch or test pass once every reader and updater is done:
// it returns the records not handed on (after a failure), adds the
// readers' counts to the units and the net, and returns the errors of the
// readers and updaters, clearing them.
func (n *crossbarNet) collect(done []chan *record) error {
	for _, d := range done {
		for r := range d {
			r.home <- r
		}
	}
	var errs []error
	for _, rd := range n.readers {
		for _, us := range rd.units {
			for _, u := range us {
				u.Flush()
			}
		}
		n.vectorSats += rd.vectorSats
		rd.vectorSats = 0
		errs = append(errs, rd.err)
		rd.err = nil
	}
	for _, u := range n.updaters {
		errs = append(errs, u.err)
		u.err = nil
	}
	return errors.Join(errs...)
}

// evaluate runs the forward pass of examples 0..count-1 into results, the
// readers taking them in turn.
func (n *crossbarNet) evaluate(count int, pixels func(int) []uint8, labels []uint8, results []exampleResult) error {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	done := n.forEachExample(&wg, count, stop, func(rd *reader, r *record, k int) error {
		out, err := rd.forwardPass(n, r, pixels(k))
		if err != nil {
			return err
		}
		label := int(labels[k])
		loss, _ := lossError(rd.w, n.net.Loss, out, label, rd.w.dA[:len(out)])
		results[k] = exampleResult{loss: loss, correct: argmax(out) == label}
		return nil
	})
	for k := range count {
		r, ok := <-done[k%len(done)]
		if !ok { // that reader failed
			break
		}
		r.home <- r
	}
	close(stop)
	wg.Wait()
	return n.collect(done)
}

// weights reads every trainable layer's cell matrix (CellRows x CellCols,
// row-major, as model.InitialWeights lays it out) from the units' read
// sets, in real values; nil for layers without weights.
func (n *crossbarNet) weights() ([][]float64, error) {
	out := make([][]float64, len(n.layers))
	for i, l := range n.layers {
		g := &l.tiles
		if len(g.units) == 0 {
			continue
		}
		cols := g.colStart[len(g.colStart)-1]
		m := make([]float64, l.spec.CellRows()*cols)
		if l.bias != nil {
			for c, v := range l.bias.read {
				m[l.prod.patch*cols+c] = fixed.Q4_12.Float(v)
			}
		}
		for t, u := range g.units {
			r0, r1 := g.rowStart[t/g.colTiles()], g.rowStart[t/g.colTiles()+1]
			c0, c1 := g.colStart[t%g.colTiles()], g.colStart[t%g.colTiles()+1]
			block := make([]int16, (r1-r0)*(c1-c0))
			if _, err := u.Weights(block); err != nil {
				return nil, fmt.Errorf("layer %d tile %d: %w", i+1, t, err)
			}
			for r := r0; r < r1; r++ {
				for c := c0; c < c1; c++ {
					m[r*cols+c] = fixed.Q4_12.Float(block[(r-r0)*(c1-c0)+c-c0])
				}
			}
		}
		out[i] = m
	}
	return out, nil
}

// units lists every unit, layer by layer, tiles row-major.
func (n *crossbarNet) units() []*xbar.Unit {
	var us []*xbar.Unit
	for _, l := range n.layers {
		us = append(us, l.tiles.units...)
	}
	return us
}

// vectorBiases lists the biases held outside the crossbars, layer by layer.
func (n *crossbarNet) vectorBiases() []*vectorBias {
	var bs []*vectorBias
	for _, l := range n.layers {
		if l.bias != nil {
			bs = append(bs, l.bias)
		}
	}
	return bs
}

// crs resolves every unit. Units are independent, so they are spread over
// the available cores.
func (n *crossbarNet) crs() {
	for _, b := range n.vectorBiases() {
		b.resolve()
	}
	us := n.units()
	workers := min(runtime.GOMAXPROCS(0), len(us))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(us); k += workers {
				us[k].CRS()
			}
		})
	}
	wg.Wait()
}

// Events are the numeric events of crossbar training, summed over units.
type Events struct {
	// SliceSat counts, per slice of the update plan (the inplace plan for
	// inplace), OPA writes whose clamp removed something.
	SliceSat []int64 `json:"slice_sat"`
	// OPAPulses counts slice-cell writes with a non-zero chunk.
	OPAPulses int64 `json:"opa_pulses"`
	Vanished  int64 `json:"vanished"`
	GClips    int64 `json:"g_clips"`
	ADCClips  int64 `json:"adc_clips"`
	// OutputSat counts MVM/MTVM outputs that saturated in a crossbar.
	OutputSat int64 `json:"output_sat"`
	QSat      int64 `json:"q_sat"`
	WeightSat int64 `json:"weight_sat"`
	// VectorSat counts saturations in the vector unit: tree sums, error
	// sums, activation derivatives, and the additions and updates of
	// biases held there.
	VectorSat int64 `json:"vector_sat"`
}

// SliceSaturations is the total of SliceSat.
func (e Events) SliceSaturations() int64 {
	var s int64
	for _, v := range e.SliceSat {
		s += v
	}
	return s
}

// SatRate is slice saturations per non-zero slice write (0 without writes).
func (e Events) SatRate() float64 {
	if e.OPAPulses == 0 {
		return 0
	}
	return float64(e.SliceSaturations()) / float64(e.OPAPulses)
}

// Combine returns e + k*o, field by field (k is 1 or -1).
func (e Events) Combine(o Events, k int64) Events {
	out := e
	out.SliceSat = make([]int64, max(len(e.SliceSat), len(o.SliceSat)))
	copy(out.SliceSat, e.SliceSat)
	for i, v := range o.SliceSat {
		out.SliceSat[i] += k * v
	}
	out.OPAPulses += k * o.OPAPulses
	out.Vanished += k * o.Vanished
	out.GClips += k * o.GClips
	out.ADCClips += k * o.ADCClips
	out.OutputSat += k * o.OutputSat
	out.QSat += k * o.QSat
	out.WeightSat += k * o.WeightSat
	out.VectorSat += k * o.VectorSat
	return out
}

// events sums the counters of every unit.
func (n *crossbarNet) events() Events {
	var e Events
	for _, u := range n.units() {
		for _, rc := range u.Counters() {
			c := rc.Counters
			if rc.Role == xbar.RoleUpdate || rc.Role == xbar.RoleInplace {
				if e.SliceSat == nil {
					e.SliceSat = make([]int64, len(c.SliceSat))
				}
				for i, v := range c.SliceSat {
					e.SliceSat[i] += v
				}
			}
			e.OPAPulses += c.OPAPulses
			e.Vanished += c.Vanished
			e.GClips += c.GClips
			e.ADCClips += c.ADCClips
			e.OutputSat += c.OutputSat
			e.QSat += c.QSat
			e.WeightSat += c.WeightSat
		}
	}
	e.VectorSat = n.vectorSats
	return e
}
