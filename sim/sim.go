package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// Options are the settings of one run.
type Options struct {
	// Seed feeds every random stream: stochastic rounding and device models
	// of each matrix unit, rand_cmp of each core.
	Seed uint64
	// MaxCycles stops a run that has not finished by then (a livelock or a
	// program longer than expected); 0 means DefaultMaxCycles.
	MaxCycles int64
	// Trace, if set, receives one line per executed instruction.
	Trace io.Writer
	// Progress, if set, is called now and then with the simulated cycle and
	// the instructions executed so far.
	Progress func(cycle, instructions int64)
	// KeepUnits keeps every matrix unit after its core halts, for Unit to
	// read back. Without it a halted core's units, which nothing can run
	// again, keep only their counters: a network's cores halt layer by
	// layer, and their crossbars are most of a run's memory.
	KeepUnits bool
}

// DefaultMaxCycles is one second of simulated time at 1 GHz.
const DefaultMaxCycles = 1_000_000_000

// checkEvery is how many instructions run between checks for cancellation
// and progress reports.
const checkEvery = 1 << 10

// Sim is one simulation of a program on an architecture.
type Sim struct {
	arch    *arch.Arch
	isa     isa.Arch
	model   string
	opt     Options
	t       timing
	regions [3]regRegion
	eng     engine
	procs   []*proc // by component id
	tiles   []*tile // tiles with code, in tile order
	byID    map[int]*tile
	nodes   []*node
	book    ledger
	trace   *bufio.Writer
	ctx     context.Context

	err      error // what stopped the run early
	end      int64 // the last cycle of the run
	executed int64
	counts   [256]int64 // executed instructions by opcode
	vecSat   int64      // saturation events of the vector unit
	// releasedCells counts the cells of units released since the last
	// garbage collection (releaseUnits).
	releasedCells int
	recordPJ      float64 // energy of the fault records' multiply-adds
	net           NetworkStats
}

// ErrInterrupted reports a run stopped by its context (Ctrl-C).
var ErrInterrupted = errors.New("interrupted")

// New checks p against a and builds the simulation: the matrix units are
// programmed with the weight images, shared memory holds the initial data.
// Everything that can be checked before running is checked here, with
// errors naming the tile, core and instruction.
func New(a *arch.Arch, p *program.Program, opt Options) (*Sim, error) {
	a = a.Costed() // the ADC costs what its resolution does
	if err := a.CheckProgram(p.Arch); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	if opt.MaxCycles <= 0 {
		opt.MaxCycles = DefaultMaxCycles
	}
	s := &Sim{arch: a, isa: a.ISA(), model: p.Meta.Model, opt: opt, t: newTiming(a), byID: map[int]*tile{}, book: newLedger(), regions: newRegRegions(a)}
	if opt.Trace != nil {
		s.trace = bufio.NewWriter(opt.Trace)
	}
	for n := 0; n < s.isa.Nodes; n++ {
		s.nodes = append(s.nodes, &node{routersUsed: map[int]bool{}})
	}
	images := buildUnits(s, p.Weights)
	for _, tc := range p.Code.Tiles {
		t := s.newTile(tc)
		s.tiles = append(s.tiles, t)
		s.byID[tc.Tile] = t
		s.nodes[t.node].routersUsed[t.router] = true
		s.nodes[t.node].tiles++
	}
	for _, t := range s.tiles {
		if err := s.checkTile(t); err != nil {
			return nil, err
		}
		t.ctl = s.newProc(t, -1, t.code.Insts)
		t.ctl.exec = t.execControl
		for _, cc := range t.code.Cores {
			c, err := s.newCore(t, cc, images)
			if err != nil {
				return nil, err
			}
			t.cores = append(t.cores, c)
		}
	}
	for _, pr := range s.procs {
		if len(pr.insts) == 0 {
			pr.state = halted // nothing to run: never powered
			continue
		}
		pr.attempt = pipelineFill
		s.eng.push(pipelineFill, pr.id)
	}
	return s, nil
}

// pipelineFill is when the first instruction executes: it was fetched in
// cycle 0 and decoded in cycle 1.
const pipelineFill = 2

func (s *Sim) newProc(t *tile, core int, insts []isa.Inst) *proc {
	p := &proc{s: s, id: len(s.procs), tile: t, core: core, insts: insts, imem: arch.CompCoreInstMem}
	if core < 0 {
		p.imem = arch.CompTileInstMem
	}
	p.imemPJ = s.arch.Components.Get(p.imem).AccessPJ()
	s.procs = append(s.procs, p)
	return p
}

func (s *Sim) newCore(t *tile, cc isa.CoreCode, images map[[3]int]*builtUnit) (*core, error) {
	a := s.isa
	c := &core{
		regs:  make([]int16, a.RegisterSpace()),
		units: make([]*matrixUnit, a.MatrixUnits),
	}
	c.rand = coreStream(s.opt.Seed, a, t.id, cc.Core)
	c.proc = s.newProc(t, cc.Core, cc.Insts)
	c.exec = c.execCore
	for u := range c.units {
		b := images[[3]int{t.id, cc.Core, u}]
		if b == nil {
			continue
		}
		if b.err != nil {
			return nil, fmt.Errorf("tile %d core %d matrix unit %d: %w", t.id, cc.Core, u, b.err)
		}
		c.units[u] = b.unit
	}
	if err := s.checkCore(t, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Run executes the program until every core and tile has halted, nothing
// can progress (a deadlock), the cycle limit passes, the program does
// something it may not (an address out of range, a division by zero) or ctx
// is cancelled. It always returns the report; the error says why the run
// stopped early, and the report is then marked partial.
func (s *Sim) Run(ctx context.Context) (*Report, error) {
	s.ctx = ctx
	for len(s.eng.heap) > 0 && s.err == nil {
		w := s.eng.pop()
		if w.t > s.opt.MaxCycles {
			s.stopAtLimit()
			break
		}
		s.eng.now = w.t
		s.procs[w.id].run(w.t)
	}
	if s.err == nil {
		if blocked := s.unhalted(); len(blocked) > 0 {
			s.err = &DeadlockError{Cycle: s.eng.now, Blocked: blocked}
		}
	}
	for _, p := range s.procs {
		if p.state != halted {
			p.haltAt = max(p.haltAt, s.eng.now)
		}
		s.end = max(s.end, p.haltAt)
	}
	if s.trace != nil {
		if err := s.trace.Flush(); err != nil && s.err == nil {
			s.err = fmt.Errorf("trace: %w", err)
		}
	}
	return s.report(), s.err
}

// stop ends the run at cycle t with err.
func (s *Sim) stop(t int64, err error) {
	s.eng.now = max(s.eng.now, t)
	s.err = err
}

// stopAtLimit ends the run at the cycle limit, listing the units that had
// not halted.
func (s *Sim) stopAtLimit() {
	s.stop(s.opt.MaxCycles, &LimitError{Limit: s.opt.MaxCycles, Unhalted: s.unhalted()})
}

// tick counts an executed instruction; now and then it reports progress and
// notices cancellation.
func (s *Sim) tick(op isa.Opcode) {
	s.executed++
	s.counts[op]++
	if s.executed%checkEvery != 0 {
		return
	}
	if s.opt.Progress != nil {
		s.opt.Progress(s.eng.now, s.executed)
	}
	if s.ctx != nil && s.ctx.Err() != nil {
		s.err = ErrInterrupted
	}
}

// RuntimeError reports an instruction that cannot execute.
type RuntimeError struct {
	Tile, Core, PC int // Core is -1 for the tile's control unit
	Inst           string
	Cycle          int64
	Msg            string
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("cycle %d: %s pc %d (%s): %s", e.Cycle, where(e.Tile, e.Core), e.PC, e.Inst, e.Msg)
}

func where(tile, core int) string {
	if core < 0 {
		return fmt.Sprintf("tile %d control unit", tile)
	}
	return fmt.Sprintf("tile %d core %d", tile, core)
}

// coreStream is the stream of a core's rand_cmp.
func coreStream(seed uint64, a isa.Arch, tile, core int) *rng.Source {
	return rng.Derive(seed, "rand_cmp", tile*a.CoresPerTile+core)
}

// unitSeed is the seed of a matrix unit whose image names no origin: one
// stream per unit of the whole system, so adding a unit does not shift the
// draws of the others. A unit whose image names its origin in a model is
// seeded as the trainer seeds that block (xbar.BlockSeed).
func unitSeed(seed uint64, a isa.Arch, tile, core, unit int) uint64 {
	return rng.Derive(seed, "matrix-unit", (tile*a.CoresPerTile+core)*a.MatrixUnits+unit).Uint64()
}

// builtUnit is a matrix unit made from a weight image, or why it could not be.
type builtUnit struct {
	unit *matrixUnit
	err  error
}

// buildUnits makes and programs the matrix unit of every weight image, by
// tile, core and unit. Units share nothing and each has its own seed, so
// they are built on all cores; errors wait for the core that owns the unit,
// and so are reported in the order a serial build would meet them.
func buildUnits(s *Sim, images []program.Weights) map[[3]int]*builtUnit {
	built := make([]builtUnit, len(images))
	workers := min(runtime.GOMAXPROCS(0), len(images))
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for i := k; i < len(images); i += workers {
				w := &images[i]
				cfg := s.arch.UnitConfig()
				if o := w.Origin; o != nil {
					cfg.Seed, cfg.RowOrder = xbar.BlockSeed(s.opt.Seed, o.Layer, o.Block), o.Rows
				} else {
					cfg.Seed = unitSeed(s.opt.Seed, s.isa, w.Tile, w.Core, w.Unit)
				}
				built[i].unit, built[i].err = newMatrixUnit(cfg, w)
			}
		})
	}
	wg.Wait()
	byPlace := make(map[[3]int]*builtUnit, len(images))
	for i := range images {
		w := &images[i]
		byPlace[[3]int{w.Tile, w.Core, w.Unit}] = &built[i]
	}
	return byPlace
}

// newMatrixUnit builds a unit from a weight image.
func newMatrixUnit(cfg xbar.UnitConfig, w *program.Weights) (*matrixUnit, error) {
	u, err := xbar.NewUnit(cfg, w.Rows, w.Cols)
	if err != nil {
		return nil, err
	}
	if err := u.Program(w.Codes); err != nil {
		return nil, err
	}
	mu := &matrixUnit{unit: u, rows: w.Rows, cols: w.Cols, eta: w.Eta}
	mu.track(u.Forward())
	mu.track(u.Backward())
	return mu, nil
}
