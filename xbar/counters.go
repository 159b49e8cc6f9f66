package xbar

import "math/bits"

// Counters are the events of one set that time and energy are charged for,
// and the numeric events a study reports.
type Counters struct {
	MVMs, MTVMs, OPAs, CRSs int64

	// InputBitSteps counts slice crossbars times input-bit steps of MVM and
	// MTVM (a 16-bit product on 8 slices is 128).
	InputBitSteps int64
	// ADCConversions counts partial sums converted; ADCClips those the ADC
	// range clamped.
	ADCConversions, ADCClips int64
	// OutputSat counts MVM/MTVM outputs that saturated to 16 bits.
	OutputSat int64

	// OPAPhases counts sign phases that drove at least one cell.
	OPAPhases int64
	// OPAPulses counts slice-cell writes with a non-zero chunk.
	OPAPulses int64
	// Vanished counts cell updates that were non-zero exactly but rounded
	// to zero; GClips those whose magnitude was clipped to 2^(16+f)-1.
	Vanished, GClips int64
	// SliceSat counts, per slice, writes whose clamp removed something;
	// Lost is the signed amount removed, in accumulator units.
	SliceSat []int64
	Lost     int64

	// QSat counts accumulators saturated by CRS; WeightSat weights that
	// saturated to 16 bits when handed to read sets.
	QSat, WeightSat int64

	// SerialReads and SerialWrites count whole slice arrays read or written
	// serially (CRS and programming).
	SerialReads, SerialWrites int64

	// RecordOps counts the fault record's digital multiply-adds: one per
	// entry on every MVM, MTVM and OPA (docs/devices.md).
	RecordOps int64
}

// Saturations is the total of SliceSat.
func (c Counters) Saturations() int64 {
	var n int64
	for _, v := range c.SliceSat {
		n += v
	}
	return n
}

// add adds o's events to c's.
func (c *Counters) add(o Counters) {
	c.MVMs += o.MVMs
	c.MTVMs += o.MTVMs
	c.OPAs += o.OPAs
	c.CRSs += o.CRSs
	c.InputBitSteps += o.InputBitSteps
	c.ADCConversions += o.ADCConversions
	c.ADCClips += o.ADCClips
	c.OutputSat += o.OutputSat
	c.OPAPhases += o.OPAPhases
	c.OPAPulses += o.OPAPulses
	c.Vanished += o.Vanished
	c.GClips += o.GClips
	for i, v := range o.SliceSat {
		c.SliceSat[i] += v
	}
	c.Lost += o.Lost
	c.QSat += o.QSat
	c.WeightSat += o.WeightSat
	c.SerialReads += o.SerialReads
	c.SerialWrites += o.SerialWrites
	c.RecordOps += o.RecordOps
}

func (c Counters) clone() Counters {
	c.SliceSat = append([]int64(nil), c.SliceSat...)
	return c
}

func trailingZeros32(x uint32) int { return bits.TrailingZeros32(x) }
