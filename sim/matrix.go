package sim

import (
	"runtime"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/xbar"
)

// matrixUnit is one matrix unit of a core: an xbar.Unit holding the layer
// block of its weight image, and the counters already charged.
type matrixUnit struct {
	unit       *xbar.Unit // nil once released
	rows, cols int
	eta        float64
	sets       []*xbar.Set     // the distinct sets of the unit
	seen       []xbar.Counters // each set's counters at its last charge
	busy       int64           // cycles in which some set of the unit worked
	// final holds the counters of a released unit.
	final []xbar.RoleCounters
}

// release drops the crossbars of a unit that will not run again, keeping
// the counters that the report sums.
func (m *matrixUnit) release() {
	m.final = m.unit.Counters()
	m.unit, m.sets, m.seen = nil, nil, nil
}

// collectAfter is how many cells of released units make the simulator
// collect garbage. A released cell frees 8 bytes (a read set's
// accumulator) to 36 and more once updated (the update set's accumulator
// and packed words), which the runtime would otherwise reuse only once the
// heap has doubled since its last collection: for VGG-16 that is the
// difference between 0.9 and 1.3 GB of peak memory (docs/performance.md).
var collectAfter = 1 << 22 // a variable for tests

// releaseUnits releases the units of a halted core, collecting garbage
// once collectAfter cells have been released since the last time.
func (s *Sim) releaseUnits(c *core) {
	for _, mu := range c.units {
		if mu != nil {
			mu.release()
			s.releasedCells += mu.rows * mu.cols
		}
	}
	if s.releasedCells >= collectAfter {
		s.releasedCells = 0
		runtime.GC()
	}
}

// counters returns the counters of each distinct set of the unit.
func (m *matrixUnit) counters() []xbar.RoleCounters {
	if m.unit == nil {
		return m.final
	}
	return m.unit.Counters()
}

func (m *matrixUnit) index(set *xbar.Set) int {
	for i, s := range m.sets {
		if s == set {
			return i
		}
	}
	return -1
}

// track returns set, first listing it with its counters if it is new: the
// unit's programming, which made them, is not part of the run. An update
// set is made when first used (xbar.Unit), so it is tracked just before.
func (m *matrixUnit) track(set *xbar.Set) *xbar.Set {
	if m.index(set) < 0 {
		m.sets = append(m.sets, set)
		m.seen = append(m.seen, set.Counters())
	}
	return set
}

// delta returns what set counted since the last call: the events of the
// operation that just ran on it.
func (m *matrixUnit) delta(set *xbar.Set) xbar.Counters {
	i := m.index(set)
	now := set.Counters()
	was := m.seen[i]
	m.seen[i] = now
	return xbar.Counters{
		InputBitSteps:  now.InputBitSteps - was.InputBitSteps,
		ADCConversions: now.ADCConversions - was.ADCConversions,
		OPAPhases:      now.OPAPhases - was.OPAPhases,
		SerialReads:    now.SerialReads - was.SerialReads,
		SerialWrites:   now.SerialWrites - was.SerialWrites,
		RecordOps:      now.RecordOps - was.RecordOps,
	}
}

// mvm runs, on every unit in the mask, its MVM, then its MTVM, then its OPA
// (so products read the weights from before the update). Operations on
// different sets run at once; operations sharing a set run one after the
// other. The instruction lasts as long as its busiest set.
func (c *core) mvm(now int64, in *isa.Inst) (int64, status) {
	s := c.s
	a := s.isa
	longest := int64(1)
	for u, mu := range c.units {
		if mu == nil {
			continue // no weights here; checkCore refuses a mask that runs it
		}
		var busy [3]int64 // per set; a unit has at most 3
		if in.Mask.Runs(u, isa.XbarMVM) {
			x := c.regs[a.XbarIn(u, isa.XbarMVM):][:mu.rows]
			y := c.regs[a.XbarOut(u, isa.XbarMVM):][:mu.cols]
			if err := mu.unit.MVM(x, y, nil); err != nil {
				return c.fail(now, "matrix unit %d: %v", u, err)
			}
			set := mu.unit.Forward()
			k := mu.delta(set)
			s.chargeProduct(ClassMVM, k, mu.rows, mu.cols, now)
			busy[mu.index(set)] += s.t.product + s.chargeRecord(ClassMVM, mu, set, k, now+s.t.product)
		}
		if in.Mask.Runs(u, isa.XbarMTVM) {
			d := c.regs[a.XbarIn(u, isa.XbarMTVM):][:mu.cols]
			y := c.regs[a.XbarOut(u, isa.XbarMTVM):][:mu.rows]
			if err := mu.unit.MTVM(d, y, nil); err != nil {
				return c.fail(now, "matrix unit %d: %v", u, err)
			}
			set := mu.unit.Backward()
			k := mu.delta(set)
			s.chargeProduct(ClassMTVM, k, mu.cols, mu.rows, now)
			busy[mu.index(set)] += s.t.product + s.chargeRecord(ClassMTVM, mu, set, k, now+s.t.product)
		}
		if in.Mask.Runs(u, isa.XbarOPA) {
			x := c.regs[a.XbarIn(u, isa.XbarOPA):][:mu.rows]
			d := c.regs[a.XbarOut(u, isa.XbarOPA):][:mu.cols]
			set := mu.track(mu.unit.Update())
			if err := mu.unit.OPA(x, d, mu.eta); err != nil {
				return c.fail(now, "matrix unit %d: %v", u, err)
			}
			k := mu.delta(set)
			s.chargeUpdate(mu, k, now)
			busy[mu.index(set)] += s.t.update + s.chargeRecord(ClassOPA, mu, set, k, now+s.t.update)
		}
		unitBusy := int64(0)
		for _, b := range busy {
			unitBusy = max(unitBusy, b)
		}
		mu.busy += unitBusy
		longest = max(longest, unitBusy)
	}
	if in.Shift > 0 {
		c.slide(in)
	}
	c.pc++
	return now + longest, done
}

// crs resolves carries on every unit in the mask; the units work at once.
// Each reads and writes every slice array serially, as xbar counts them.
func (c *core) crs(now int64, in *isa.Inst) (int64, status) {
	s := c.s
	ops := s.arch.Ops
	end := now + s.t.crs
	for u, mu := range c.units {
		if !in.Mask.Resolves(u) {
			continue
		}
		mu.track(mu.unit.Update())
		mu.unit.CRS()
		mu.busy += s.t.crs
		row, _ := spareLines(s.arch)
		for _, set := range mu.sets {
			d := mu.delta(set)
			pj := float64(d.SerialReads)*ops.SerialRead.EnergyPJ + float64(d.SerialWrites)*ops.SerialWrite.EnergyPJ
			s.book.add(ClassCRS, arch.CompCrossbar, pj*row, now, end)
		}
	}
	c.pc++
	return end, done
}

// slide moves every seg-word segment of each used MVM and MTVM input buffer
// down by shift words, for the next convolution window.
func (c *core) slide(in *isa.Inst) {
	a := c.s.isa
	for u := range c.units {
		for _, k := range []isa.XbarOp{isa.XbarMVM, isa.XbarMTVM} {
			if !in.Mask.Runs(u, k) {
				continue
			}
			buf := c.regs[a.XbarIn(u, k):][:a.CrossbarSize]
			for lo := 0; lo+in.Seg <= len(buf); lo += in.Seg {
				seg := buf[lo : lo+in.Seg]
				copy(seg, seg[in.Shift:])
			}
		}
	}
}

// chargeProduct books an MVM or MTVM of set with the given input and output
// lines. Analog: the crossbar per slice per input-bit step and the ADC, the
// sample-and-hold and the shift-and-add per conversion, as counted by xbar;
// a DAC per input line and a read of the input buffer per step; a write of
// the output buffer per output. Digital: one product per matrix unit. The
// crossbar pays for the spare cells on the lines it drives (spareLines):
// MVM drives rows, MTVM columns.
func (s *Sim) chargeProduct(c Class, d xbar.Counters, inputs, outputs int, now int64) {
	comp := &s.arch.Components
	op := s.arch.Ops.MVM
	end := now + s.t.product
	steps := float64(fixed.Width)
	if op.Mechanism == arch.MVMAnalog {
		lines, cols := spareLines(s.arch)
		if c == ClassMTVM {
			lines = cols
		}
		s.book.add(c, arch.CompCrossbar, float64(d.InputBitSteps)*op.PowerMW*op.LatencyNS*lines, now, end)
		conv := float64(d.ADCConversions)
		s.book.add(c, arch.CompADC, conv*comp.ADC.AccessPJ(), now, end)
		s.book.add(c, arch.CompSampleHold, conv*comp.SampleHold.AccessPJ(), now, end)
		s.book.add(c, arch.CompShiftAdd, conv*comp.ShiftAdd.AccessPJ(), now, end)
		s.book.add(c, arch.CompDAC, float64(inputs)*steps*comp.DAC.AccessPJ(), now, end)
	} else {
		s.book.add(c, arch.CompCrossbar, op.PowerMW*op.LatencyNS, now, end)
		steps = 1
	}
	s.book.add(c, arch.CompXbarInBuffer, steps*comp.XbarInBuffer.AccessPJ(), now, end)
	s.book.add(c, arch.CompXbarOutBuffer, float64(outputs)*comp.XbarOutBuffer.WritePJ(), now, end)
}

// chargeRecord books the fault record's multiply-adds of one operation on
// set, a set of mu, counted by xbar (docs/devices.md): each reads its entry
// from the record's SRAM and does a multiply and an add in a vector lane.
// The lanes work through the entries after the crossbar operation, from
// start; it returns their cycles.
func (s *Sim) chargeRecord(c Class, mu *matrixUnit, set *xbar.Set, d xbar.Counters, start int64) int64 {
	if d.RecordOps == 0 {
		return 0
	}
	alu := &s.arch.Components.VectorALU
	cfg, u := set.Config(), mu.unit
	bits := float64(xbar.RecordEntryBits(cfg.Size, cfg.Plan, set == u.Forward() || set == u.Backward(), set == u.Update()))
	pj := float64(d.RecordOps) * (bits*s.arch.Ops.FaultRecord.ReadPJPerBit + alu.PJ(alu.MulMW+alu.DynamicMW))
	cycles := (d.RecordOps + int64(s.t.lanes) - 1) / int64(s.t.lanes)
	s.book.add(c, arch.CompVectorALU, pj, start, start+cycles)
	s.recordPJ += pj
	return cycles
}

// chargeUpdate books an OPA by the architecture's update mechanism.
// Crossbar: every slice crossbar per driven sign phase (as counted by xbar),
// with the row and column DACs, and one read of each input buffer per phase;
// digital: the CMOS outer product once per unit, then a serial write of
// every slice array; sram: the CMOS outer product, then the write of the
// unit's SRAM; serial: one serial access of every slice array. The
// crossbar pays for the spare cells on the lines it drives (spareLines): an
// OPA phase drives rows and columns, a serial access rows.
func (s *Sim) chargeUpdate(mu *matrixUnit, d xbar.Counters, now int64) {
	comp := &s.arch.Components
	ops := s.arch.Ops
	u := ops.Update
	end := now + s.t.update
	slices := float64(len(mu.unit.Update().Config().Plan.Slices))
	row, col := spareLines(s.arch)
	reads := 1.0
	switch u.Mechanism {
	case arch.UpdateCrossbar:
		phases := float64(d.OPAPhases * int64(perBitSteps(u)))
		s.book.add(ClassOPA, arch.CompCrossbar, phases*slices*u.PowerMW*u.LatencyNS*(row+col)/2, now, end)
		s.book.add(ClassOPA, arch.CompDAC, phases*float64(mu.rows+mu.cols)*comp.DAC.AccessPJ(), now, end)
		reads = float64(d.OPAPhases)
	case arch.UpdateDigital:
		s.book.add(ClassOPA, arch.CompVectorALU, u.PowerMW*u.LatencyNS, now, end)
		s.book.add(ClassOPA, arch.CompCrossbar, slices*ops.SerialWrite.EnergyPJ*row, now, end)
	case arch.UpdateSRAM:
		s.book.add(ClassOPA, arch.CompVectorALU, u.PowerMW*u.LatencyNS, now, end)
		s.book.add(ClassOPA, arch.CompCrossbar, ops.SRAMWrite.EnergyPJ, now, end)
	case arch.UpdateSerial:
		s.book.add(ClassOPA, arch.CompCrossbar, slices*u.PowerMW*u.LatencyNS*row, now, end)
	}
	s.book.add(ClassOPA, arch.CompXbarInBuffer, reads*comp.XbarInBuffer.AccessPJ(), now, end)
	s.book.add(ClassOPA, arch.CompXbarOutBuffer, reads*comp.XbarOutBuffer.AccessPJ(), now, end)
}
