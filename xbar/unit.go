package xbar

import (
	"fmt"
	"slices"
	"strings"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/internal/enum"
	"github.com/panther-xbar/panther/rng"
)

// Variant is one of PANTHER's crossbar organisations (docs/numeric-model.md).
type Variant uint8

const (
	// Inplace: one sliced set for MVM, MTVM and OPA (SGD, batch 1).
	Inplace Variant = iota
	// Accumulate: a read set for MVM and MTVM, an update set for OPA that a
	// CRS resolves into the read set (mini-batch SGD).
	Accumulate
	// Pipelined: a forward set (MVM), a backward set (MTVM) and an update
	// set (OPA); a CRS writes both read sets together.
	Pipelined
)

var variantNames = enum.Names[Variant]{Inplace: "inplace", Accumulate: "accumulate", Pipelined: "pipelined"}

func (v Variant) String() string { return variantNames.String("variant", v) }

// ParseVariant reads a variant name.
func ParseVariant(s string) (Variant, error) { return variantNames.Parse("variant", s) }

func (v Variant) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

func (v *Variant) UnmarshalText(b []byte) error {
	p, err := ParseVariant(string(b))
	*v = p
	return err
}

// UnitConfig describes a matrix unit: its variant, the plans of its sets and
// the settings its sets share.
type UnitConfig struct {
	Variant Variant
	Size    Size
	// InplacePlan is the plan of the inplace variant's one set; ReadPlan and
	// UpdatePlan those of the other variants' read and update sets.
	InplacePlan, ReadPlan, UpdatePlan Plan
	ADC                               ADC
	Device                            device.Config
	Rounding                          fixed.Rounding
	OPAMode                           OPAMode
	Seed                              uint64
	// RowOrder is every set's SetConfig.RowOrder: which row of the cell
	// matrix each crossbar row holds (nil: matrix order). It belongs to a
	// placement, not to a design, so it is not part of a saved config.
	RowOrder []int `json:"-" yaml:"-"`
}

// DefaultUnitConfig gives PANTHER's defaults: the accumulate variant on
// 128 x 128 crossbars, the default plans of docs/numeric-model.md, an 8-bit ADC, ideal cells,
// chunked OPA with round to nearest.
func DefaultUnitConfig() UnitConfig {
	return UnitConfig{
		Variant:     Accumulate,
		Size:        DefaultSize,
		InplacePlan: DefaultInplacePlan,
		ReadPlan:    DefaultReadPlan,
		UpdatePlan:  DefaultUpdatePlan,
		ADC:         DefaultADC,
		Rounding:    fixed.Nearest,
		OPAMode:     Chunked,
	}
}

// BlockSeed is the seed of the matrix unit that holds block `block` (the
// crossbar tiles of a layer's cell matrix, numbered row-major) of layer
// `layer` in a run with seed `seed`. The trainer and the simulator both
// seed a unit this way, so a compiled program's units draw the trainer's
// devices and random streams (docs/devices.md).
func BlockSeed(seed uint64, layer, block int) uint64 {
	return rng.Derive(rng.Derive(seed, "layer", layer).Uint64(), "tile", block).Uint64()
}

// Set roles within a matrix unit.
const (
	RoleInplace  = "inplace"
	RoleRead     = "read"
	RoleForward  = "forward"
	RoleBackward = "backward"
	RoleUpdate   = "update"
)

// Unit is a matrix unit: the crossbar sets of its variant, with MVM, MTVM,
// OPA and CRS routed to the right ones.
type Unit struct {
	cfg                       UnitConfig
	forward, backward, update *Set
	roles                     []unitSet // each distinct set once, in a fixed order, the update set last
	weightSat                 int64
	// deferred is the configuration of an update set not made yet, and
	// programs counts the Program calls before it is (updateSet).
	deferred *SetConfig
	programs int64
	// changed marks the rows that an OPA may have changed since the last
	// CRS (all after Program or Restore); rowWeightSat holds each row's
	// saturated weights at the last hand-over. A CRS hands over the marked
	// rows only: the others' weights are in the read sets already.
	changed      []bool
	rowWeightSat []int
}

// handOvers lends the buffers in which weights pass from one set of a unit
// to another (a CRS, the making of a deferred update set).
var handOvers scratchPool[int16]

type unitSet struct {
	role string
	set  *Set
}

// NewUnit makes a matrix unit for a rows x cols cell matrix.
func NewUnit(cfg UnitConfig, rows, cols int) (*Unit, error) {
	if cfg.Variant > Pipelined {
		return nil, fmt.Errorf("variant %v: want one of %s", cfg.Variant, strings.Join(variantNames, ", "))
	}
	u := &Unit{cfg: cfg, changed: make([]bool, rows), rowWeightSat: make([]int, rows)}
	u.changeAll()
	setConfig := func(index int, plan Plan) SetConfig {
		return SetConfig{Plan: plan, Size: cfg.Size, ADC: cfg.ADC, Device: cfg.Device,
			Rounding: cfg.Rounding, OPAMode: cfg.OPAMode, Seed: rng.Derive(cfg.Seed, "set", index).Uint64(), RowOrder: cfg.RowOrder}
	}
	newSet := func(role string, index int, plan Plan) (*Set, error) {
		s, err := NewSet(setConfig(index, plan), rows, cols)
		if err != nil {
			return nil, fmt.Errorf("%s set: %w", role, err)
		}
		u.roles = append(u.roles, unitSet{role, s})
		return s, nil
	}
	// Until its first OPA or CRS, an update set holds the cell matrix that
	// the read sets hold, so it is made then, from their weights (a unit of
	// a network waits for its first update most of a run, or never gets
	// one). Stuck cells keep the read sets from holding the matrix exactly:
	// the update set is then made at once.
	newUpdateSet := func(index int) (err error) {
		sc := setConfig(index, cfg.UpdatePlan)
		if cfg.Device.HasStuck() {
			u.update, err = newSet(RoleUpdate, index, cfg.UpdatePlan)
			return err
		}
		if err := checkSet(sc, rows, cols); err != nil {
			return fmt.Errorf("%s set: %w", RoleUpdate, err)
		}
		u.deferred = &sc
		return nil
	}
	var err error
	switch cfg.Variant {
	case Inplace:
		if u.update, err = newSet(RoleInplace, 0, cfg.InplacePlan); err != nil {
			return nil, err
		}
		u.forward, u.backward = u.update, u.update
	case Accumulate:
		if u.forward, err = newSet(RoleRead, 0, cfg.ReadPlan); err != nil {
			return nil, err
		}
		u.backward = u.forward
		if err = newUpdateSet(1); err != nil {
			return nil, err
		}
	case Pipelined:
		if u.forward, err = newSet(RoleForward, 0, cfg.ReadPlan); err != nil {
			return nil, err
		}
		if u.backward, err = newSet(RoleBackward, 1, cfg.ReadPlan); err != nil {
			return nil, err
		}
		if err = newUpdateSet(2); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Config returns the unit's configuration.
func (u *Unit) Config() UnitConfig { return u.cfg }

// Forward, Backward and Update return the sets that MVM, MTVM and OPA use;
// they are the same set in the inplace variant.
func (u *Unit) Forward() *Set  { return u.forward }
func (u *Unit) Backward() *Set { return u.backward }
func (u *Unit) Update() *Set   { return u.updateSet() }

// updateSet returns the update set, making it if it was deferred: from the
// read set's weights, with the serial writes of the Program calls it
// missed.
func (u *Unit) updateSet() *Set {
	if u.update != nil {
		return u.update
	}
	s, _ := NewSet(*u.deferred, u.forward.rows, u.forward.cols) // NewUnit checked both
	w := handOvers.get(len(s.acc))
	_, _ = u.forward.Weights(*w) // same shape
	s.program(*w)
	handOvers.put(w)
	s.counters.SerialWrites = u.programs * int64(len(s.slices))
	u.update, u.deferred = s, nil
	u.roles = append(u.roles, unitSet{RoleUpdate, s})
	return s
}

// changeAll marks every row changed.
func (u *Unit) changeAll() {
	for r := range u.changed {
		u.changed[r] = true
	}
}

// Program writes the cell matrix m into every set.
func (u *Unit) Program(m []int16) error {
	u.changeAll()
	for _, rs := range u.roles {
		if err := rs.set.Program(m); err != nil {
			return fmt.Errorf("%s set: %w", rs.role, err)
		}
	}
	if u.deferred != nil {
		u.programs++
	}
	return nil
}

// MVM runs a forward product on the forward set.
func (u *Unit) MVM(x, y []int16, sat []bool) error { return u.forward.MVM(x, y, sat) }

// MTVM runs a backward product on the backward set.
func (u *Unit) MTVM(d, y []int16, sat []bool) error { return u.backward.MTVM(d, y, sat) }

// A UnitReader runs a unit's MVM and MTVM for one goroutine, under the
// rules of a Reader: UnitReaders of one unit may run products at the same
// time while nothing else uses the unit.
type UnitReader struct {
	forward, backward *Reader
}

// NewReader makes a UnitReader of the unit.
func (u *Unit) NewReader() *UnitReader {
	r := &UnitReader{forward: u.forward.NewReader()}
	r.backward = r.forward
	if u.backward != u.forward {
		r.backward = u.backward.NewReader()
	}
	return r
}

// MVM is the unit's MVM.
func (r *UnitReader) MVM(x, y []int16, sat []bool) error { return r.forward.MVM(x, y, sat) }

// MTVM is the unit's MTVM.
func (r *UnitReader) MTVM(d, y []int16, sat []bool) error { return r.backward.MTVM(d, y, sat) }

// Flush adds the events counted since the last Flush to the sets' counters.
func (r *UnitReader) Flush() {
	r.forward.Flush()
	if r.backward != r.forward {
		r.backward.Flush()
	}
}

// OPA updates the update set; read sets see it only after a CRS. Rows
// driven with a non-zero input are marked changed when any column is.
func (u *Unit) OPA(x, d []int16, eta float64) error {
	if err := u.updateSet().OPA(x, d, eta); err != nil {
		return err
	}
	if slices.ContainsFunc(d, func(v int16) bool { return v != 0 }) {
		changed := u.changed[:len(x)]
		for r, v := range x {
			changed[r] = changed[r] || v != 0 // no branch on the input: zeros come at random
		}
	}
	return nil
}

// CRS resolves the update set and, in the accumulate and pipelined
// variants, writes its weights q = sat16(round_half_away(Q / 2^f)) into the
// read sets. Rows no OPA drove since the last CRS are left as they are:
// their accumulators are in range and their weights in the read sets
// already. (Stuck cells can put a resolved accumulator out of range, so
// with stuck cells every row is resolved again.)
func (u *Unit) CRS() {
	update := u.updateSet()
	if u.cfg.Variant == Inplace {
		update.CRS()
		return
	}
	if u.cfg.Device.HasStuck() {
		u.changeAll()
	}
	w := handOvers.get(len(update.acc))
	update.crsRows(u.changed, *w, u.rowWeightSat)
	for _, n := range u.rowWeightSat {
		u.weightSat += int64(n)
	}
	for _, rs := range u.roles {
		if rs.set != update {
			rs.set.programRows(*w, u.changed) // every set of a unit has the same shape
		}
	}
	handOvers.put(w)
	clear(u.changed)
}

// Weights writes the weights that MVM currently reads.
func (u *Unit) Weights(dst []int16) (saturated int, err error) { return u.forward.Weights(dst) }

// RoleCounters is one set's counters under its role name.
type RoleCounters struct {
	Role     string
	Counters Counters
}

// Counters returns each distinct set's counters, in the order forward or
// read or inplace first, update last. WeightSat of the update set includes
// the hand-over saturations of CRS.
func (u *Unit) Counters() []RoleCounters {
	out := make([]RoleCounters, len(u.roles), len(u.roles)+1)
	for i, rs := range u.roles {
		out[i] = RoleCounters{rs.role, rs.set.Counters()}
		if rs.set == u.update {
			out[i].Counters.WeightSat += u.weightSat
		}
	}
	if sc := u.deferred; sc != nil { // what the update set would have counted: its programming
		n := len(sc.Plan.Slices)
		out = append(out, RoleCounters{RoleUpdate, Counters{SliceSat: make([]int64, n), SerialWrites: u.programs * int64(n)}})
	}
	return out
}
