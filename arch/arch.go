// Package arch holds PANTHER's architecture parameters as data: the
// structure of nodes, tiles and cores, the crossbar configuration, the time
// and energy of crossbar operations, and the table of components with their
// power and area (docs/constants.md gives every figure with its source).
// Presets are YAML files embedded in
// the binary; a user file starts from a preset (base: NAME) or gives every
// field, and is decoded strictly: an unknown key, a wrong type or a value out
// of range is an error naming file:line:col, the field and what is allowed.
//
// arch is data and derived quantities (areas, counts, conversions). It holds
// no simulation logic: how an instruction spends these figures is the
// simulator's business, documented in docs/simulator.md.
package arch

import (
	"fmt"
	"math"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/xbar"
)

// Arch is one architecture: a preset or a user file.
type Arch struct {
	// Base names the preset a file starts from; fields it gives override
	// the preset's. Empty for a complete file.
	Base        string     `yaml:"base,omitempty" json:"base,omitempty"`
	Name        string     `yaml:"name" json:"name"`
	Description string     `yaml:"description" json:"description"`
	Structure   Structure  `yaml:"structure" json:"structure"`
	Crossbar    Crossbar   `yaml:"crossbar" json:"crossbar"`
	Ops         Ops        `yaml:"ops" json:"ops"`
	Components  Components `yaml:"components" json:"components"`
	Network     Network    `yaml:"network" json:"network"`
	// adcCosted marks a copy whose ADC figures Costed has scaled to its
	// resolution.
	adcCosted bool
}

// Structure is the hierarchy of nodes, tiles, cores and matrix units.
type Structure struct {
	Nodes          int     `yaml:"nodes" json:"nodes"`
	TilesPerNode   int     `yaml:"tiles_per_node" json:"tiles_per_node"`
	CoresPerTile   int     `yaml:"cores_per_tile" json:"cores_per_tile"`
	MatrixUnits    int     `yaml:"matrix_units" json:"matrix_units"` // per core
	CrossbarSize   int     `yaml:"crossbar_size" json:"crossbar_size"`
	VectorLanes    int     `yaml:"vector_lanes" json:"vector_lanes"`
	RegisterWords  int     `yaml:"register_words" json:"register_words"`
	SharedWords    int     `yaml:"shared_words" json:"shared_words"`
	TileInstMem    int     `yaml:"tile_inst_mem" json:"tile_inst_mem"`
	CoreInstMem    int     `yaml:"core_inst_mem" json:"core_inst_mem"`
	TilesPerRouter int     `yaml:"tiles_per_router" json:"tiles_per_router"`
	FlitBits       int     `yaml:"flit_bits" json:"flit_bits"`
	BusBits        int     `yaml:"bus_bits" json:"bus_bits"`
	ClockGHz       float64 `yaml:"clock_ghz" json:"clock_ghz"`
}

// Crossbar is the matrix units' configuration in xbar's terms; the crossbar
// size comes from Structure.
type Crossbar struct {
	Variant     xbar.Variant   `yaml:"variant" json:"variant"`
	InplacePlan xbar.Plan      `yaml:"inplace_plan" json:"inplace_plan"`
	ReadPlan    xbar.Plan      `yaml:"read_plan" json:"read_plan"`
	UpdatePlan  xbar.Plan      `yaml:"update_plan" json:"update_plan"`
	ADC         xbar.ADC       `yaml:"adc" json:"adc"`
	Rounding    fixed.Rounding `yaml:"rounding" json:"rounding"`
	OPAMode     xbar.OPAMode   `yaml:"opa_mode" json:"opa_mode"`
	Device      device.Config  `yaml:"device" json:"device"`
}

// Mechanisms of a crossbar operation.
const (
	// MVM mechanisms.
	MVMAnalog  = "analog"  // bit-serial over every slice crossbar, through the ADCs
	MVMDigital = "digital" // a CMOS matrix unit: one product per latency
	// Update mechanisms.
	UpdateCrossbar = "crossbar" // in-crossbar OPA per sign phase per slice crossbar
	UpdateDigital  = "digital"  // CMOS outer product per matrix unit, then a serial write of each slice array
	UpdateSerial   = "serial"   // a serial access (read out, write back) of each slice array per update
	UpdateSRAM     = "sram"     // CMOS outer product per matrix unit, then a write of the unit's SRAM weights
	UpdateNone     = "none"     // no weight update (inference)
)

// Ops are the time and energy of crossbar operations.
type Ops struct {
	MVM         MVMOp    `yaml:"mvm" json:"mvm"`
	Update      UpdateOp `yaml:"update" json:"update"`
	SerialRead  Access   `yaml:"serial_read" json:"serial_read"`
	SerialWrite Access   `yaml:"serial_write" json:"serial_write"`
	// SRAMWrite writes one matrix unit's weights into the SRAM of a digital
	// matrix unit (update mechanism sram).
	SRAMWrite Access `yaml:"sram_write" json:"sram_write"`
	// FaultRecord costs the digital fault record of fault-aware mapping
	// (crossbar.device.fault_record, docs/devices.md).
	FaultRecord RecordSRAM `yaml:"fault_record" json:"fault_record"`
}

// RecordSRAM is the SRAM that holds the fault records, per bit. A record's
// multiply-add reads its entry and does a multiply and an add in a vector
// lane (the vector ALU's figures); an entry's size is
// xbar.RecordEntryBits.
type RecordSRAM struct {
	ReadPJPerBit  float64 `yaml:"read_pj_per_bit" json:"read_pj_per_bit"`
	AreaMM2PerBit float64 `yaml:"area_mm2_per_bit" json:"area_mm2_per_bit"`
}

// MVMOp times MVM and MTVM.
type MVMOp struct {
	Mechanism string `yaml:"mechanism" json:"mechanism"`
	// LatencyNS is one input-bit step (analog) or one product (digital).
	LatencyNS float64 `yaml:"latency_ns" json:"latency_ns"`
	// PowerMW is drawn per slice crossbar per step (analog) or per matrix
	// unit per product (digital).
	PowerMW float64 `yaml:"power_mw" json:"power_mw"`
	// PipelineStages of the analog bit-serial pipeline: a product of b-bit
	// inputs takes b + stages - 1 steps.
	PipelineStages int `yaml:"pipeline_stages" json:"pipeline_stages"`
}

// UpdateOp times the weight update, the OPA bit of mvm.
type UpdateOp struct {
	Mechanism string  `yaml:"mechanism" json:"mechanism"`
	LatencyNS float64 `yaml:"latency_ns" json:"latency_ns"` // one phase or one update
	PowerMW   float64 `yaml:"power_mw" json:"power_mw"`
	Phases    int     `yaml:"phases" json:"phases"`
	// PerBit streams the 16 input bits one at a time in every phase, which
	// multiplies an in-crossbar OPA's time and energy by 16.
	PerBit bool `yaml:"per_bit" json:"per_bit"`
}

// Access is a whole-array access: a serial access of one slice array, or
// the write of one digital matrix unit's SRAM.
type Access struct {
	LatencyNS float64 `yaml:"latency_ns" json:"latency_ns"`
	EnergyPJ  float64 `yaml:"energy_pj" json:"energy_pj"`
}

// Component is one row of the component table (docs/constants.md).
type Component struct {
	// LatencyNS is the time of one access. Its dynamic energy does not
	// depend on it: it is DynamicMW drawn for AccessNS, as the reference
	// tables give their figures (an 8-bit ADC conversion is 1.8 pJ whether
	// it takes 1 ns or 100 ns).
	LatencyNS float64 `yaml:"latency_ns" json:"latency_ns"`
	DynamicMW float64 `yaml:"dynamic_mw" json:"dynamic_mw"`
	// AccessNS is how long an access draws DynamicMW where that is not
	// 1 ns (the inter-node link: 5 ns per packet); 0 means 1 ns.
	AccessNS float64 `yaml:"access_ns,omitempty" json:"access_ns,omitempty"`
	// WriteMW is the dynamic power of a write where it differs from a read.
	WriteMW float64 `yaml:"write_mw,omitempty" json:"write_mw,omitempty"`
	// MulMW and DivMW are the vector ALU's multiply and divide lane ops;
	// DynamicMW is its other lane ops.
	MulMW   float64 `yaml:"mul_mw,omitempty" json:"mul_mw,omitempty"`
	DivMW   float64 `yaml:"div_mw,omitempty" json:"div_mw,omitempty"`
	LeakMW  float64 `yaml:"leak_mw" json:"leak_mw"`
	AreaMM2 float64 `yaml:"area_mm2" json:"area_mm2"`
	Count   int     `yaml:"count" json:"count"`
	Per     Scope   `yaml:"per" json:"per"`
}

// AccessPJ is the dynamic energy of one access (a read, for buffers).
func (c *Component) AccessPJ() float64 { return c.PJ(c.DynamicMW) }

// WritePJ is the dynamic energy of one write: WriteMW if given, else a read's.
func (c *Component) WritePJ() float64 {
	if c.WriteMW > 0 {
		return c.PJ(c.WriteMW)
	}
	return c.AccessPJ()
}

// PJ is the energy of one access that draws mw (one of the component's
// powers): mw for AccessNS, or for 1 ns.
func (c *Component) PJ(mw float64) float64 {
	if c.AccessNS > 0 {
		return mw * c.AccessNS
	}
	return mw
}

// Scope is what one count of a component is per.
type Scope string

// The scopes.
const (
	PerMatrixUnit     Scope = "matrix_unit"
	PerMatrixUnitLine Scope = "matrix_unit_line" // per matrix unit per crossbar row
	PerSliceArray     Scope = "slice_array"      // per physical slice array of a matrix unit
	PerCore           Scope = "core"
	PerTile           Scope = "tile"
	PerRouter         Scope = "router"
	PerNode           Scope = "node"
)

var scopes = []Scope{PerMatrixUnit, PerMatrixUnitLine, PerSliceArray, PerCore, PerTile, PerRouter, PerNode}

// Level is where a scope's components sit: a core, a tile or a node.
func (s Scope) Level() Scope {
	switch s {
	case PerMatrixUnit, PerMatrixUnitLine, PerSliceArray, PerCore:
		return PerCore
	case PerTile:
		return PerTile
	}
	return PerNode
}

// Components is the component table. The field order is the order of
// ComponentID and of every report.
type Components struct {
	Crossbar        Component `yaml:"crossbar" json:"crossbar"`
	ADC             Component `yaml:"adc" json:"adc"`
	DAC             Component `yaml:"dac" json:"dac"`
	SampleHold      Component `yaml:"sample_hold" json:"sample_hold"`
	ShiftAdd        Component `yaml:"shift_add" json:"shift_add"`
	XbarInBuffer    Component `yaml:"xbar_in_buffer" json:"xbar_in_buffer"`
	XbarOutBuffer   Component `yaml:"xbar_out_buffer" json:"xbar_out_buffer"`
	VectorALU       Component `yaml:"vector_alu" json:"vector_alu"`
	Transcendental  Component `yaml:"transcendental" json:"transcendental"`
	DataMemory      Component `yaml:"data_memory" json:"data_memory"`
	CoreInstMem     Component `yaml:"core_inst_mem" json:"core_inst_mem"`
	CoreControl     Component `yaml:"core_control" json:"core_control"`
	EDRAM           Component `yaml:"edram" json:"edram"`
	EDRAMBus        Component `yaml:"edram_bus" json:"edram_bus"`
	EDRAMController Component `yaml:"edram_controller" json:"edram_controller"`
	CounterBuffer   Component `yaml:"counter_buffer" json:"counter_buffer"`
	ReceiveBuffer   Component `yaml:"receive_buffer" json:"receive_buffer"`
	TileInstMem     Component `yaml:"tile_inst_mem" json:"tile_inst_mem"`
	TileControl     Component `yaml:"tile_control" json:"tile_control"`
	Router          Component `yaml:"router" json:"router"`
	NodeLink        Component `yaml:"node_link" json:"node_link"`
}

// ComponentID indexes the component table, in field order.
type ComponentID int

// The components.
const (
	CompCrossbar ComponentID = iota
	CompADC
	CompDAC
	CompSampleHold
	CompShiftAdd
	CompXbarInBuffer
	CompXbarOutBuffer
	CompVectorALU
	CompTranscendental
	CompDataMemory
	CompCoreInstMem
	CompCoreControl
	CompEDRAM
	CompEDRAMBus
	CompEDRAMController
	CompCounterBuffer
	CompReceiveBuffer
	CompTileInstMem
	CompTileControl
	CompRouter
	CompNodeLink
	NumComponents
)

// componentNames are the YAML keys, in ComponentID order; a test checks
// them against the struct tags.
var componentNames = [NumComponents]string{
	"crossbar", "adc", "dac", "sample_hold", "shift_add", "xbar_in_buffer", "xbar_out_buffer",
	"vector_alu", "transcendental", "data_memory", "core_inst_mem", "core_control",
	"edram", "edram_bus", "edram_controller", "counter_buffer", "receive_buffer", "tile_inst_mem", "tile_control",
	"router", "node_link",
}

func (id ComponentID) String() string {
	if id >= 0 && id < NumComponents {
		return componentNames[id]
	}
	return fmt.Sprintf("component(%d)", int(id))
}

// Get returns the row of id.
func (c *Components) Get(id ComponentID) *Component { return c.all()[id] }

func (c *Components) all() [NumComponents]*Component {
	return [NumComponents]*Component{
		&c.Crossbar, &c.ADC, &c.DAC, &c.SampleHold, &c.ShiftAdd, &c.XbarInBuffer, &c.XbarOutBuffer,
		&c.VectorALU, &c.Transcendental, &c.DataMemory, &c.CoreInstMem, &c.CoreControl,
		&c.EDRAM, &c.EDRAMBus, &c.EDRAMController, &c.CounterBuffer, &c.ReceiveBuffer, &c.TileInstMem, &c.TileControl,
		&c.Router, &c.NodeLink,
	}
}

// Network holds the figures of the on-chip mesh and the inter-node links.
type Network struct {
	// RouterLatency is the traversal time of one router against the
	// injection rate, in increasing rate order; it is interpolated linearly
	// and clamped at both ends.
	RouterLatency []RatePoint `yaml:"router_latency" json:"router_latency"`
	// RateWindowCycles is how far back the injection rate is measured.
	RateWindowCycles int `yaml:"rate_window_cycles" json:"rate_window_cycles"`
	// PacketWords is the packet of the injection rate and of the links.
	PacketWords int `yaml:"packet_words" json:"packet_words"`
}

// RatePoint is one row of the router latency table.
type RatePoint struct {
	Rate   float64 `yaml:"rate" json:"rate"`     // packets per tile per cycle
	Cycles float64 `yaml:"cycles" json:"cycles"` // router traversal
}

// RouterCycles is the router traversal time at injection rate r, in whole
// cycles (rounded up), interpolated in the table and clamped at its ends.
func (n *Network) RouterCycles(r float64) int64 {
	t := n.RouterLatency
	c := t[len(t)-1].Cycles
	switch {
	case r <= t[0].Rate:
		c = t[0].Cycles
	case r < t[len(t)-1].Rate:
		for i := 1; i < len(t); i++ {
			if r <= t[i].Rate {
				f := (r - t[i-1].Rate) / (t[i].Rate - t[i-1].Rate)
				c = t[i-1].Cycles + f*(t[i].Cycles-t[i-1].Cycles)
				break
			}
		}
	}
	return int64(math.Ceil(c - 1e-9))
}

// UnitConfig is the xbar configuration of every matrix unit; the simulator
// sets the seed of each.
func (a *Arch) UnitConfig() xbar.UnitConfig {
	c := a.Crossbar
	return xbar.UnitConfig{
		Variant:     c.Variant,
		Size:        xbar.Size{Rows: a.Structure.CrossbarSize, Cols: a.Structure.CrossbarSize},
		InplacePlan: c.InplacePlan,
		ReadPlan:    c.ReadPlan,
		UpdatePlan:  c.UpdatePlan,
		ADC:         c.ADC,
		Device:      c.Device,
		Rounding:    c.Rounding,
		OPAMode:     c.OPAMode,
	}
}

// WeightSets is the number of crossbar sets in one matrix unit: one for the
// inplace variant, a read and an update set for accumulate, a forward, a
// backward and an update set for pipelined.
func (a *Arch) WeightSets() int { return len(a.SetPlans()) }

// SetPlans are the slice plans of a matrix unit's sets, in xbar.Unit's
// order.
func (a *Arch) SetPlans() []xbar.Plan {
	c := a.Crossbar
	switch c.Variant {
	case xbar.Inplace:
		return []xbar.Plan{c.InplacePlan}
	case xbar.Accumulate:
		return []xbar.Plan{c.ReadPlan, c.UpdatePlan}
	}
	return []xbar.Plan{c.ReadPlan, c.ReadPlan, c.UpdatePlan}
}

// HasCRS reports whether the design resolves carries with a crs
// instruction: it updates its weights, and not by a resolved (digital)
// update, which leaves nothing to resolve.
func (a *Arch) HasCRS() bool {
	return a.Ops.Update.Mechanism != UpdateNone && a.Crossbar.OPAMode != xbar.Resolved
}

// SliceArrays is the number of physical slice arrays in one matrix unit:
// the slices of every set its variant has.
func (a *Arch) SliceArrays() int {
	n := 0
	for _, p := range a.SetPlans() {
		n += len(p.Slices)
	}
	return n
}

// RecordBits is the SRAM of one matrix unit's fault records: each set's
// crossbar.device.fault_record entries of xbar.RecordEntryBits. The last
// set is the one OPA updates; the others (or the inplace set) run products.
func (a *Arch) RecordBits() int {
	size := xbar.Size{Rows: a.Structure.CrossbarSize, Cols: a.Structure.CrossbarSize}
	plans := a.SetPlans()
	n := 0
	for i, p := range plans {
		updates := i == len(plans)-1
		products := !updates || a.Crossbar.Variant == xbar.Inplace
		n += a.Crossbar.Device.FaultRecord * xbar.RecordEntryBits(size, p, products, updates)
	}
	return n
}

// Routers is the number of routers on one node.
func (a *Arch) Routers() int {
	s := a.Structure
	return (s.TilesPerNode + s.TilesPerRouter - 1) / s.TilesPerRouter
}

// Cycles converts a time in ns to whole clock cycles, rounding up (a
// fraction of a cycle still occupies the cycle).
func (a *Arch) Cycles(ns float64) int64 {
	return int64(math.Ceil(ns*a.Structure.ClockGHz - 1e-9))
}
