package arch

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/xbar"
)

// checker collects validation errors, each placed at the field's position.
type checker struct {
	file string
	pos  map[string]string
	errs []error
}

func (c *checker) fail(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if at, ok := c.pos[path]; ok {
		c.errs = append(c.errs, fmt.Errorf("%s: %s", at, msg))
		return
	}
	c.errs = append(c.errs, fmt.Errorf("%s: %s (the field is not set: give it, or start from a preset with base: panther)", c.file, msg))
}

func (c *checker) intIn(path string, v, lo, hi int) {
	if v < lo || v > hi {
		c.fail(path, "%s = %d is out of range [%d, %d]", path, v, lo, hi)
	}
}

// num checks lo <= v <= hi, or lo < v when open.
func (c *checker) num(path string, v, lo, hi float64, open bool) {
	if math.IsNaN(v) || v < lo || v > hi || open && v == lo {
		left := "["
		if open {
			left = "("
		}
		c.fail(path, "%s = %v is out of range %s%g, %g]", path, v, left, lo, hi)
	}
}

func (c *checker) oneOf(path, v string, allowed ...string) bool {
	if !slices.Contains(allowed, v) {
		c.fail(path, "%s = %q: want one of %s", path, v, strings.Join(allowed, ", "))
		return false
	}
	return true
}

// Limits of the parameters that are not bounded by isa or xbar.
const (
	maxLanes      = 1024
	maxRouterTile = 64
	maxBits       = 4096
	maxNS         = 1e9 // one second
	maxMW         = 1e6 // one kW
	maxArea       = 1e4
	maxCount      = 1 << 20
	maxStages     = 64
	maxPhases     = 16
	maxWindow     = 1 << 30
	maxClockGHz   = 100
)

// Validate checks every field of an architecture changed after loading and
// names each one that is wrong (without file positions).
func (a *Arch) Validate() error { return a.validate("architecture "+a.Name, nil) }

// validate checks every field and names each one that is wrong.
func (a *Arch) validate(file string, pos map[string]string) error {
	c := &checker{file: file, pos: pos}
	if a.Name == "" {
		c.fail("name", "name is empty: give the architecture a name")
	}
	s := a.Structure
	ia := a.ISA()
	for _, f := range isaFields {
		c.intIn("structure."+f.key, f.get(&ia), f.lo, f.hi)
	}
	c.intIn("structure.vector_lanes", s.VectorLanes, 1, maxLanes)
	c.intIn("structure.tiles_per_router", s.TilesPerRouter, 1, maxRouterTile)
	c.intIn("structure.flit_bits", s.FlitBits, 1, maxBits)
	c.intIn("structure.bus_bits", s.BusBits, 16, maxBits)
	if s.BusBits%16 != 0 {
		c.fail("structure.bus_bits", "structure.bus_bits = %d must be a multiple of 16 (whole 16-bit words)", s.BusBits)
	}
	c.num("structure.clock_ghz", s.ClockGHz, 0, maxClockGHz, true)
	if len(c.errs) == 0 {
		if err := ia.Validate(); err != nil { // the rules between fields
			c.fail("structure", "structure: %v", err)
		}
	}

	a.validateCrossbar(c)

	o := a.Ops
	if c.oneOf("ops.mvm.mechanism", o.MVM.Mechanism, MVMAnalog, MVMDigital) {
		c.num("ops.mvm.latency_ns", o.MVM.LatencyNS, 0, maxNS, true)
		c.num("ops.mvm.power_mw", o.MVM.PowerMW, 0, maxMW, false)
		c.intIn("ops.mvm.pipeline_stages", o.MVM.PipelineStages, 1, maxStages)
	}
	if c.oneOf("ops.update.mechanism", o.Update.Mechanism, UpdateCrossbar, UpdateDigital, UpdateSerial, UpdateSRAM, UpdateNone) && o.Update.Mechanism != UpdateNone {
		c.num("ops.update.latency_ns", o.Update.LatencyNS, 0, maxNS, true)
		c.num("ops.update.power_mw", o.Update.PowerMW, 0, maxMW, false)
		c.intIn("ops.update.phases", o.Update.Phases, 1, maxPhases)
		if o.Update.PerBit && o.Update.Mechanism != UpdateCrossbar {
			c.fail("ops.update.per_bit", "ops.update.per_bit applies only to mechanism %s", UpdateCrossbar)
		}
	}
	a.validateOneSet(c)
	for _, acc := range []struct {
		name string
		v    Access
	}{{"serial_read", o.SerialRead}, {"serial_write", o.SerialWrite}, {"sram_write", o.SRAMWrite}} {
		c.num("ops."+acc.name+".latency_ns", acc.v.LatencyNS, 0, maxNS, true)
		c.num("ops."+acc.name+".energy_pj", acc.v.EnergyPJ, 0, maxMW*maxNS, false)
	}
	c.num("ops.fault_record.read_pj_per_bit", o.FaultRecord.ReadPJPerBit, 0, maxMW, false)
	c.num("ops.fault_record.area_mm2_per_bit", o.FaultRecord.AreaMM2PerBit, 0, maxArea, false)

	for id := range NumComponents {
		comp, p := a.Components.Get(id), "components."+id.String()
		c.num(p+".latency_ns", comp.LatencyNS, 0, maxNS, true)
		c.num(p+".dynamic_mw", comp.DynamicMW, 0, maxMW*10, false)
		c.num(p+".access_ns", comp.AccessNS, 0, maxNS, false)
		c.num(p+".leak_mw", comp.LeakMW, 0, maxMW, false)
		c.num(p+".area_mm2", comp.AreaMM2, 0, maxArea, false)
		c.intIn(p+".count", comp.Count, 0, maxCount)
		scopeNames := make([]string, len(scopes))
		for i, sc := range scopes {
			scopeNames[i] = string(sc)
		}
		c.oneOf(p+".per", string(comp.Per), scopeNames...)
		for _, extra := range []struct {
			key     string
			v       float64
			allowed bool
		}{
			{"write_mw", comp.WriteMW, writable[id]},
			{"mul_mw", comp.MulMW, id == CompVectorALU},
			{"div_mw", comp.DivMW, id == CompVectorALU},
		} {
			switch {
			case extra.v != 0 && !extra.allowed:
				c.fail(p+"."+extra.key, "%s.%s applies only to %s", p, extra.key, strings.Join(extraOwners(extra.key), ", "))
			case extra.allowed:
				c.num(p+"."+extra.key, extra.v, 0, maxMW, false)
			}
		}
	}

	n := a.Network
	if len(n.RouterLatency) == 0 {
		c.fail("network.router_latency", "network.router_latency is empty: give at least one {rate, cycles} row")
	}
	for i, pt := range n.RouterLatency {
		p := fmt.Sprintf("network.router_latency[%d]", i)
		c.num(p+".rate", pt.Rate, 0, 1, false)
		c.num(p+".cycles", pt.Cycles, 0, maxNS, false)
		if i > 0 && pt.Rate <= n.RouterLatency[i-1].Rate {
			c.fail(p, "%s: rates must increase down the table (%g after %g)", p, pt.Rate, n.RouterLatency[i-1].Rate)
		}
	}
	c.intIn("network.rate_window_cycles", n.RateWindowCycles, 1, maxWindow)
	c.intIn("network.packet_words", n.PacketWords, 1, 1<<16)
	return errors.Join(c.errs...)
}

// writable marks the storage components whose writes may cost differently
// from reads.
var writable = map[ComponentID]bool{
	CompXbarInBuffer: true, CompXbarOutBuffer: true, CompDataMemory: true, CompEDRAM: true, CompReceiveBuffer: true,
}

func extraOwners(key string) []string {
	if key != "write_mw" {
		return []string{CompVectorALU.String()}
	}
	var names []string
	for id := range NumComponents {
		if writable[id] {
			names = append(names, id.String())
		}
	}
	return names
}

// validateOneSet checks that an update by read, add and write back (serial,
// digital, sram) goes with one weight set updated at once, and that only
// such an update is resolved at once.
func (a *Arch) validateOneSet(c *checker) {
	m := a.Ops.Update.Mechanism
	digital := m == UpdateDigital || m == UpdateSerial || m == UpdateSRAM
	x := a.Crossbar
	switch {
	case digital && (x.Variant != xbar.Inplace || x.OPAMode != xbar.Resolved):
		c.fail("ops.update.mechanism", "ops.update.mechanism %s reads, adds and writes back one weight set: "+
			"it needs crossbar.variant: inplace and crossbar.opa_mode: resolved (got %v and %v)", m, x.Variant, x.OPAMode)
	case !digital && x.OPAMode == xbar.Resolved:
		c.fail("crossbar.opa_mode", "crossbar.opa_mode resolved is the update of ops.update.mechanism %s, %s or %s, not of %s",
			UpdateDigital, UpdateSerial, UpdateSRAM, m)
	}
}

// validateCrossbar checks the device model and that every plan of the
// variant builds a set on crossbars of the structure's size.
func (a *Arch) validateCrossbar(c *checker) {
	x := a.Crossbar
	if err := x.ADC.Validate(); err != nil {
		c.fail("crossbar.adc", "crossbar.adc: %v", err)
		return
	}
	if err := x.Device.Validate(); err != nil {
		c.fail("crossbar.device", "crossbar.device: %v", err)
	}
	if x.Variant > xbar.Pipelined {
		c.fail("crossbar.variant", "crossbar.variant = %v is not a variant", x.Variant)
		return
	}
	size := a.Structure.CrossbarSize
	if size < xbar.MinSize || size > xbar.MaxSize {
		return // reported with the structure
	}
	plans := map[xbar.Variant][]string{
		xbar.Inplace:    {"inplace_plan"},
		xbar.Accumulate: {"read_plan", "update_plan"},
		xbar.Pipelined:  {"read_plan", "update_plan"},
	}
	for _, key := range plans[x.Variant] {
		plan := map[string]xbar.Plan{"inplace_plan": x.InplacePlan, "read_plan": x.ReadPlan, "update_plan": x.UpdatePlan}[key]
		cfg := xbar.SetConfig{Plan: plan, Size: xbar.Size{Rows: size, Cols: size}, ADC: x.ADC, Rounding: x.Rounding,
			OPAMode: x.OPAMode, Device: device.Config{}}
		if _, err := xbar.NewSet(cfg, size, size); err != nil {
			c.fail("crossbar."+key, "crossbar.%s: %v", key, err)
		}
	}
}
