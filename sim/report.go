package sim

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
)

// Report is the outcome of a run: time, energy by class and component,
// area, power, utilisation, instruction counts, traffic and the crossbars'
// numeric events.
type Report struct {
	Model   string `json:"model"` // the program's, from its metadata
	Arch    string `json:"arch"`
	Seed    uint64 `json:"seed"`
	Partial bool   `json:"partial"`
	// Stopped says why a partial run stopped.
	Stopped   string `json:"stopped,omitempty"`
	OPATiming string `json:"opa_timing"`

	Cycles       int64   `json:"cycles"`
	TimeNS       float64 `json:"time_ns"`
	Instructions int64   `json:"instructions"`

	EnergyPJ     float64 `json:"energy_pj"`
	DynamicPJ    float64 `json:"dynamic_pj"`
	LeakagePJ    float64 `json:"leakage_pj"`
	AvgPowerMW   float64 `json:"average_power_mw"`
	PeakPowerMW  float64 `json:"peak_power_mw"`
	PeakWindowNS float64 `json:"peak_window_ns"`
	ByClass      []Share `json:"energy_by_class"`
	ByComponent  []Share `json:"energy_by_component"`
	// ByOperation is the energy by the lines of Operations.
	ByOperation []Share `json:"energy_by_operation"`
	// TestRead is the test read of fault-aware mapping, done once at
	// programming; nil without fault_map.
	TestRead *TestRead `json:"test_read,omitempty"`

	Area              AreaReport   `json:"area"`
	InstructionCounts []Count      `json:"instruction_counts"`
	Cores             []ProcReport `json:"cores"`
	Tiles             []ProcReport `json:"tile_control_units"`
	MatrixUnits       []UnitBusy   `json:"matrix_units,omitempty"`
	Network           NetworkStats `json:"network"`
	Numeric           Numeric      `json:"numeric"`
	// FaultRecordPJ is the energy of the fault records' multiply-adds
	// (Numeric.RecordOps), booked with the vector ALU in the classes of
	// the operations they correct.
	FaultRecordPJ float64   `json:"fault_record_pj,omitempty"`
	Blocked       []Blocked `json:"blocked,omitempty"` // after a deadlock or the cycle limit: every unit not halted
}

// TestRead is the test read that finds the stuck cells for fault-aware
// mapping (docs/devices.md): one serial read of every slice array of every
// programmed matrix unit, spare lines included, all at once, as CRS reads
// them. It happens once, when the weights are programmed, so the run's
// time and energy above leave it out. A serial read takes one step per row
// and draws current through every cell it reads: with spares it takes
// (n + spare_rows)/n times the preset's time and (n + spare_rows)(n +
// spare_cols)/n^2 times its energy.
type TestRead struct {
	Arrays   int     `json:"arrays"`
	TimeNS   float64 `json:"time_ns"`
	EnergyPJ float64 `json:"energy_pj"`
}

// testRead is the run's test read, nil without fault-aware mapping or
// without programmed units.
func (s *Sim) testRead() *TestRead {
	a := s.arch
	if !a.Crossbar.Device.FaultMap {
		return nil
	}
	tr := &TestRead{}
	for _, t := range s.tiles {
		for _, c := range t.cores {
			for _, mu := range c.units {
				if mu == nil {
					continue
				}
				for _, rc := range mu.counters() { // what a released unit keeps
					tr.Arrays += len(rc.Counters.SliceSat)
				}
			}
		}
	}
	if tr.Arrays == 0 {
		return nil
	}
	row, col := spareLines(a)
	read := a.Ops.SerialRead
	tr.TimeNS = read.LatencyNS * col
	tr.EnergyPJ = float64(tr.Arrays) * read.EnergyPJ * row * col
	return tr
}

// Share is one line of an energy breakdown.
type Share struct {
	Name    string  `json:"name"`
	PJ      float64 `json:"pj"`
	Percent float64 `json:"percent"`
}

// Count is the number of executed instructions of one mnemonic.
type Count struct {
	Op    string `json:"op"`
	Count int64  `json:"count"`
}

// AreaReport is the architecture's area and the part the program uses.
type AreaReport struct {
	arch.Area
	TilesUsed int     `json:"tiles_used"`
	UsedMM2   float64 `json:"used_mm2"` // tiles with code, their routers and the links of their nodes
}

// ProcReport is the time of one core or tile control unit.
type ProcReport struct {
	Tile         int     `json:"tile"`
	Core         int     `json:"core"` // -1 for a control unit
	Instructions int64   `json:"instructions"`
	BusyCycles   int64   `json:"busy_cycles"`
	StallCycles  int64   `json:"stall_cycles"`
	Powered      int64   `json:"powered_cycles"`
	Utilisation  float64 `json:"utilisation"` // busy cycles over the run's cycles
	Halted       bool    `json:"halted"`
}

// UnitBusy is how long one matrix unit worked: the cycles in which some
// set of it ran an MVM, MTVM, OPA or CRS, and their share of the run.
type UnitBusy struct {
	Tile       int     `json:"tile"`
	Core       int     `json:"core"`
	Unit       int     `json:"unit"`
	BusyCycles int64   `json:"busy_cycles"`
	Busy       float64 `json:"busy"`
}

// Numeric sums the numeric events of the crossbars and the vector unit.
type Numeric struct {
	ADCConversions int64 `json:"adc_conversions"`
	ADCClips       int64 `json:"adc_clips"`
	OutputSat      int64 `json:"output_sat"`
	VectorSat      int64 `json:"vector_sat"`
	OPAPulses      int64 `json:"opa_pulses"`
	Vanished       int64 `json:"vanished"`
	GClips         int64 `json:"g_clips"`
	SliceSat       int64 `json:"slice_saturations"`
	QSat           int64 `json:"q_sat"`
	WeightSat      int64 `json:"weight_sat"`
	RecordOps      int64 `json:"fault_record_ops,omitempty"`
}

// report assembles the report, charging leakage and the per-cycle control
// power for the cycles each part was powered.
func (s *Sim) report() *Report {
	a := s.arch
	r := &Report{
		Model: s.model, Arch: a.Name, Seed: s.opt.Seed, Cycles: s.end, TimeNS: s.ns(s.end), Instructions: s.executed,
		Network: s.net,
	}
	u := a.Ops.Update
	switch u.Mechanism {
	case arch.UpdateCrossbar:
		r.OPATiming = fmt.Sprintf("in-crossbar, %d phases x %g ns per slice crossbar", u.Phases, u.LatencyNS)
		if u.PerBit {
			r.OPATiming += fmt.Sprintf(", per bit (x%d input-bit steps per phase)", perBitSteps(u))
		}
	case arch.UpdateNone:
		r.OPATiming = "none"
	default:
		r.OPATiming = fmt.Sprintf("%s, %g ns per update", u.Mechanism, u.LatencyNS)
	}
	if s.err != nil {
		// The first line: the units a deadlock or the cycle limit left
		// unhalted are listed in Blocked.
		r.Partial, r.Stopped = true, strings.SplitN(s.err.Error(), "\n", 2)[0]
		switch e := s.err.(type) {
		case *DeadlockError:
			r.Blocked = e.Blocked
		case *LimitError:
			r.Blocked = e.Unhalted
		}
	}
	s.chargePowered(r)

	var byComp [arch.NumComponents]float64
	for c := range numClasses {
		var sum float64
		for id, pj := range s.book.pj[c] {
			sum += pj
			byComp[id] += pj
		}
		r.ByClass = append(r.ByClass, Share{Name: c.String(), PJ: sum})
		r.EnergyPJ += sum
		if c == ClassLeakage {
			r.LeakagePJ = sum
		}
	}
	r.DynamicPJ = r.EnergyPJ - r.LeakagePJ
	for id, pj := range byComp {
		r.ByComponent = append(r.ByComponent, Share{Name: arch.ComponentID(id).String(), PJ: pj})
	}
	r.ByOperation = s.book.byOperation()
	r.TestRead = s.testRead()
	for _, list := range [][]Share{r.ByClass, r.ByComponent, r.ByOperation} {
		for i := range list {
			if r.EnergyPJ > 0 {
				list[i].Percent = 100 * list[i].PJ / r.EnergyPJ
			}
		}
	}
	if r.TimeNS > 0 {
		r.AvgPowerMW = r.EnergyPJ / r.TimeNS
	}
	for i, pj := range s.book.bins {
		width := min(s.book.width, max(1, s.end-int64(i)*s.book.width))
		if p := pj / s.ns(width); p > r.PeakPowerMW {
			r.PeakPowerMW, r.PeakWindowNS = p, s.ns(width)
		}
	}

	ar := a.Area()
	r.Area = AreaReport{Area: ar, TilesUsed: len(s.tiles), UsedMM2: float64(len(s.tiles)) * ar.TileMM2}
	for _, n := range s.nodes {
		if n.tiles > 0 {
			r.Area.UsedMM2 += float64(len(n.routersUsed)*a.Components.Router.Count)*a.Components.Router.AreaMM2 +
				float64(a.Components.NodeLink.Count)*a.Components.NodeLink.AreaMM2
		}
	}

	for op, n := range s.counts {
		if n > 0 {
			r.InstructionCounts = append(r.InstructionCounts, Count{Op: isa.Opcode(op).String(), Count: n})
		}
	}
	for _, t := range s.tiles {
		r.Tiles = append(r.Tiles, s.procReport(t.ctl))
		for _, c := range t.cores {
			r.Cores = append(r.Cores, s.procReport(c.proc))
			for u, mu := range c.units {
				if mu != nil {
					ub := UnitBusy{Tile: t.id, Core: c.proc.core, Unit: u, BusyCycles: mu.busy}
					if s.end > 0 {
						ub.Busy = float64(mu.busy) / float64(s.end)
					}
					r.MatrixUnits = append(r.MatrixUnits, ub)
				}
			}
		}
	}
	r.Numeric.VectorSat = s.vecSat
	r.FaultRecordPJ = s.recordPJ
	for _, t := range s.tiles {
		for _, c := range t.cores {
			for _, mu := range c.units {
				if mu == nil {
					continue
				}
				for _, rc := range mu.counters() {
					k := rc.Counters
					n := &r.Numeric
					n.ADCConversions += k.ADCConversions
					n.ADCClips += k.ADCClips
					n.OutputSat += k.OutputSat
					n.OPAPulses += k.OPAPulses
					n.Vanished += k.Vanished
					n.GClips += k.GClips
					n.SliceSat += k.Saturations()
					n.QSat += k.QSat
					n.WeightSat += k.WeightSat
					n.RecordOps += k.RecordOps
				}
			}
		}
	}
	return r
}

// ns converts cycles to nanoseconds.
func (s *Sim) ns(cycles int64) float64 { return float64(cycles) / s.arch.Structure.ClockGHz }

func (s *Sim) procReport(p *proc) ProcReport {
	pr := ProcReport{Tile: p.tile.id, Core: p.core, Instructions: p.executed, BusyCycles: p.busy, StallCycles: p.stall,
		Halted: p.state == halted}
	if len(p.insts) > 0 {
		pr.Powered = p.haltAt
	}
	if s.end > 0 {
		pr.Utilisation = float64(p.busy) / float64(s.end)
	}
	return pr
}

// chargePowered books leakage, and the control units' power per running
// cycle, for the cycles each part was powered: a core from cycle 0 until it
// halts, a tile's own components until its control unit and every core of
// it have halted, a node's routers and links while a message is in flight.
// Parts without code are power-gated throughout.
func (s *Sim) chargePowered(r *Report) {
	a := s.arch
	comps := &a.Components
	charge := func(c Class, id arch.ComponentID, mw float64, count int, cycles int64) {
		s.book.add(c, id, mw*float64(count)*s.ns(cycles), 0, cycles)
	}
	for _, t := range s.tiles {
		var tileEnd int64
		if len(t.ctl.insts) > 0 {
			tileEnd = t.ctl.haltAt
		}
		for _, c := range t.cores {
			if len(c.insts) == 0 {
				continue
			}
			on := c.haltAt
			tileEnd = max(tileEnd, on)
			for id := range arch.NumComponents {
				if comps.Get(id).Per.Level() == arch.PerCore {
					charge(ClassLeakage, id, comps.Get(id).LeakMW, a.Count(id), on)
				}
			}
			charge(ClassControl, arch.CompCoreControl, comps.CoreControl.DynamicMW, a.Count(arch.CompCoreControl), on)
		}
		for id := range arch.NumComponents {
			if comps.Get(id).Per == arch.PerTile {
				charge(ClassLeakage, id, comps.Get(id).LeakMW, a.Count(id), tileEnd)
			}
		}
		charge(ClassControl, arch.CompTileControl, comps.TileControl.DynamicMW, a.Count(arch.CompTileControl), tileEnd)
	}
	for _, n := range s.nodes {
		for id := range arch.NumComponents {
			comp := comps.Get(id)
			switch comp.Per {
			case arch.PerRouter:
				charge(ClassLeakage, id, comp.LeakMW, comp.Count*len(n.routersUsed), n.busy)
			case arch.PerNode:
				charge(ClassLeakage, id, comp.LeakMW, comp.Count, n.busy)
			}
		}
	}
}

// WriteTable writes the report as readable text.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	status := "completed"
	if r.Partial {
		status = "PARTIAL: " + r.Stopped
	}
	fmt.Fprintf(&b, "program %q on architecture %s, seed %d: %s\n", r.Model, r.Arch, r.Seed, status)
	fmt.Fprintf(&b, "time          %d cycles = %.3f us, %d instructions\n", r.Cycles, r.TimeNS/1e3, r.Instructions)
	fmt.Fprintf(&b, "energy        %.4f uJ (dynamic %.4f uJ, leakage %.4f uJ)\n", r.EnergyPJ/1e6, r.DynamicPJ/1e6, r.LeakagePJ/1e6)
	fmt.Fprintf(&b, "power         average %.3f mW, peak %.3f mW (over %g ns)\n", r.AvgPowerMW, r.PeakPowerMW, r.PeakWindowNS)
	fmt.Fprintf(&b, "OPA timing    %s\n", r.OPATiming)
	if tr := r.TestRead; tr != nil {
		fmt.Fprintf(&b, "test read     %d slice arrays at programming, once: %.3f us, %.4f uJ (not in the time and energy above)\n", tr.Arrays, tr.TimeNS/1e3, tr.EnergyPJ/1e6)
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	section := func(title string, rows []Share) {
		fmt.Fprintf(tw, "\n%s\tenergy (pJ)\tshare\t\n", title)
		for _, s := range rows {
			if s.PJ != 0 {
				fmt.Fprintf(tw, "%s\t%.3f\t%.2f%%\t\n", s.Name, s.PJ, s.Percent)
			}
		}
	}
	section("class", r.ByClass)
	section("component", r.ByComponent)
	tw.Flush()
	ar := r.Area
	fmt.Fprintf(&b, "\narea          core %.6f mm^2, tile %.6f mm^2, node %.4f mm^2, system %.4f mm^2\n", ar.CoreMM2, ar.TileMM2, ar.NodeMM2, ar.SystemMM2)
	fmt.Fprintf(&b, "              used by the program: %d tiles, %.4f mm^2\n", ar.TilesUsed, ar.UsedMM2)
	fmt.Fprintf(tw, "\nunit\tinstructions\tbusy\tstalled\tpowered\tutilisation\thalted\t\n")
	for _, list := range [][]ProcReport{r.Tiles, r.Cores} {
		for _, p := range list {
			if p.Instructions == 0 && p.Powered == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f%%\t%v\t\n", where(p.Tile, p.Core), p.Instructions, p.BusyCycles, p.StallCycles, p.Powered, 100*p.Utilisation, p.Halted)
		}
	}
	tw.Flush()
	if n := len(r.MatrixUnits); n > 0 {
		lo, hi, sum := r.MatrixUnits[0].Busy, r.MatrixUnits[0].Busy, 0.0
		for _, u := range r.MatrixUnits {
			lo, hi, sum = min(lo, u.Busy), max(hi, u.Busy), sum+u.Busy
		}
		fmt.Fprintf(&b, "\nmatrix units  %d busy (some set working) %.1f%% to %.1f%% of the run, mean %.1f%% (each unit in the JSON report)\n", n, 100*lo, 100*hi, 100*sum/float64(n))
	}
	var counts []string
	for _, c := range r.InstructionCounts {
		counts = append(counts, fmt.Sprintf("%s %d", c.Op, c.Count))
	}
	fmt.Fprintf(&b, "\ninstructions  %s\n", strings.Join(counts, ", "))
	n := r.Network
	fmt.Fprintf(&b, "network       %d messages (%d between nodes), %d words, %d flits, %d router traversals, peak rate %.4f, router latency up to %d cycles\n",
		n.Messages, n.InterNode, n.Words, n.Flits, n.RouterTraversals, n.MaxRate, n.MaxRouterCycles)
	m := r.Numeric
	fmt.Fprintf(&b, "numeric       adc_clips %d of %d adc_conversions, output_sat %d, vector_sat %d,\n", m.ADCClips, m.ADCConversions, m.OutputSat, m.VectorSat)
	fmt.Fprintf(&b, "              opa_pulses %d, vanished %d, g_clips %d, slice_saturations %d, q_sat %d, weight_sat %d\n",
		m.OPAPulses, m.Vanished, m.GClips, m.SliceSat, m.QSat, m.WeightSat)
	if m.RecordOps > 0 {
		fmt.Fprintf(&b, "fault record  %d multiply-adds, %.3f pJ (with the vector ALU)\n", m.RecordOps, r.FaultRecordPJ)
	}
	for _, bl := range r.Blocked {
		fmt.Fprintf(&b, "not halted    %s\n", bl)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
