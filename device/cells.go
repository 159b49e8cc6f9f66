package device

import (
	"fmt"
	"math"

	"github.com/panther-xbar/panther/rng"
)

// Cells is the device state of one crossbar array of n cells with `levels`
// levels. Everything random is drawn from its Source: the stuck map and the
// d2d multipliers at creation, then noise during writes and reads in call
// order, so the same seed and the same calls give the same bits. It is not
// safe for concurrent use.
type Cells struct {
	kind      Kind
	exact     bool    // Config.IdealWrites: a write is level+delta, no draws
	top       float64 // L = R = levels-1
	sigma     float64 // write noise in levels per sqrt(|step|): sigma, or sigma*sqrt(R) for sigma_update g
	c2c       float64
	readNoise float64 // read noise in levels per sqrt(active cell): read_noise, times L for read_noise_scale range
	table     *Table
	alpha     float64
	// expm1(-alpha) and expm1(alpha), the potentiation and depression
	// denominators (see nonlinear).
	emPot, emDep float64
	mult         []float64 // d2d step multipliers; nil means all 1
	stuck        []int16   // stuck level per cell, -1 when free; nil when none can stick
	src          *rng.Source
}

// NewCells creates the state of n cells with the given number of levels,
// drawing the stuck map and then the d2d multipliers from src. It panics on a
// configuration that fails Validate, on kind table without a loaded Table, or
// on levels < 2 or n < 0: these are programming errors, caught earlier by
// Load.
func NewCells(c Config, levels, n int, src *rng.Source) *Cells {
	if err := c.Validate(); err != nil {
		panic(err)
	}
	if levels < 2 || levels > math.MaxInt16 || n < 0 {
		panic(fmt.Sprintf("device: NewCells(levels=%d, n=%d): need 2 <= levels <= %d and n >= 0", levels, n, math.MaxInt16))
	}
	if c.kind() == KindTable && c.Table == nil {
		panic("device: kind table without a loaded table (call Config.Load)")
	}
	top := float64(levels - 1)
	sigma, readNoise := c.Sigma, c.ReadNoise
	if c.SigmaUpdate == SigmaUpdateLevels {
		sigma *= math.Sqrt(top)
	}
	if c.ReadNoiseScale == ReadNoisePerRange {
		readNoise *= top
	}
	d := &Cells{
		kind:      c.kind(),
		exact:     c.IdealWrites(),
		top:       top,
		alpha:     c.Alpha,
		sigma:     sigma,
		c2c:       c.C2C,
		readNoise: readNoise,
		table:     c.Table,
		emPot:     math.Expm1(-c.Alpha),
		emDep:     math.Expm1(c.Alpha),
		src:       src,
	}
	if c.HasStuck() {
		d.stuck = make([]int16, n)
		for i := range d.stuck {
			switch u := src.Float64(); {
			case u < c.StuckLow:
				d.stuck[i] = 0
			case u < c.StuckLow+c.StuckHigh:
				d.stuck[i] = int16(levels - 1)
			default:
				d.stuck[i] = -1
			}
		}
	}
	if c.D2D > 0 {
		d.mult = make([]float64, n)
		for i := range d.mult {
			d.mult[i] = src.LogNormal(c.D2D)
		}
	}
	return d
}

// Source is the stream the cells draw their noise from; checkpoints save
// and restore its position.
func (d *Cells) Source() *rng.Source { return d.src }

// Stuck reports whether cell i is stuck and at which level.
func (d *Cells) Stuck(i int) (level int, stuck bool) {
	if d.stuck == nil || d.stuck[i] < 0 {
		return 0, false
	}
	return int(d.stuck[i]), true
}

// Remap reorders the cells so that cell i becomes the cell that was at
// order[i], keeping len(order) of them: the fault-aware mapper's placement
// of a matrix on a physical array with spare lines. It draws nothing.
func (d *Cells) Remap(order []int) {
	d.stuck = reorder(d.stuck, order)
	d.mult = reorder(d.mult, order)
}

// reorder returns v[order[0]], v[order[1]], ...; nil stays nil.
func reorder[T any](v []T, order []int) []T {
	if v == nil {
		return nil
	}
	out := make([]T, len(order))
	for i, j := range order {
		out[i] = v[j]
	}
	return out
}

// Write returns the level cell i reaches when, at level `level`, it receives
// a request to move by delta levels (positive = potentiation). The target is
// rounded half away from zero but not clamped to [0, levels-1]: the caller
// clamps and counts saturation. A stuck cell returns its stuck level; a zero
// delta returns level. Neither draws.
func (d *Cells) Write(i, level, delta int) int {
	if d.stuck != nil && d.stuck[i] >= 0 {
		return int(d.stuck[i])
	}
	if d.exact || delta == 0 {
		return level + delta
	}
	m := 1.0 // d2d step multiplier
	if d.mult != nil {
		m = d.mult[i]
	}
	w, step := float64(level), float64(delta)*m
	var x float64
	switch d.kind {
	case KindNonlinear:
		x = w + d.nonlinear(w, step)
		if d.sigma > 0 {
			x += d.sigma * math.Sqrt(math.Abs(step)) * d.src.Norm()
		}
	case KindTable:
		x = d.pulses(w, delta, m)
	default:
		x = w + step
	}
	if d.c2c > 0 {
		x += d.c2c * math.Sqrt(math.Abs(float64(delta))) * d.src.Norm()
	}
	return roundLevel(x, level)
}

// nonlinear is the authors' deterministic change for a cell at w asked to
// move by step levels. With delta_n = step/R and w0 = R/(1-e^-alpha), both
// branches are rewritten with e = expm1(-alpha*|delta_n|): potentiation
// (w0 - w)(1 - e^(-alpha*delta_n)) = R*e/expm1(-alpha) + w*e, depression
// ((R - w0) - w)(1 - e^(alpha*delta_n)) = R*e/expm1(alpha) + w*e. This form
// stays exact for small alpha, where w0 overflows, and for large alpha, where
// expm1(alpha) does (its term becomes 0, the limit).
func (d *Cells) nonlinear(w, step float64) float64 {
	if d.alpha == 0 {
		return step // the linear limit
	}
	e := math.Expm1(-d.alpha * math.Abs(step) / d.top)
	if step > 0 {
		return d.top*e/d.emPot + w*e
	}
	return d.top*e/d.emDep + w*e
}

// pulses applies |delta| table pulses of scale m to the level w and returns
// the resulting level, unrounded.
func (d *Cells) pulses(w float64, delta int, m float64) float64 {
	t, up, n := d.table, delta > 0, delta
	if n < 0 {
		n = -n
	}
	s := min(max(w/d.top, 0), 1) // the caller keeps levels in [0, L]; be safe anyway
	for range n {
		mean, spread := t.Step(s, up)
		s += mean * m
		if t.Spread != nil {
			s += spread * d.src.Norm()
		}
		s = min(max(s, 0), 1)
	}
	return s * d.top
}

// ReadNoise returns the noise, in levels, to add to an analog partial sum to
// which active cells contribute: read_noise*sqrt(active)*N(0, 1), times L
// when read_noise is a fraction of the cell's range. It is 0,
// and draws nothing, when read_noise is 0 or active <= 0.
func (d *Cells) ReadNoise(active int) float64 {
	if d.readNoise == 0 || active <= 0 {
		return 0
	}
	return d.readNoise * math.Sqrt(float64(active)) * d.src.Norm()
}

// maxTarget bounds a write's target before the float-to-int conversion, which
// Go leaves undefined out of range; any cell level is far inside it.
const maxTarget = 1 << 40

// roundLevel rounds x half away from zero to a level. NaN, reachable only
// with absurd d2d (an infinite multiplier times a zero step), leaves the cell
// at level.
func roundLevel(x float64, level int) int {
	switch {
	case x != x:
		return level
	case x >= maxTarget:
		return maxTarget
	case x <= -maxTarget:
		return -maxTarget
	}
	return int(math.Round(x))
}
