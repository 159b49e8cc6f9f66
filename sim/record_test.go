package sim

import (
	"math"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// TestFaultRecordCost runs testdata/xbar.s (two MVM and two MTVM on the read
// set, one OPA on the update set) with and without a fault record on the
// same stuck cells: the record's energy is its multiply-adds (one per entry
// per operation) at an entry read plus a vector multiply and add each, its
// lanes lengthen the run, and its SRAM adds to the core's area.
func TestFaultRecordCost(t *testing.T) {
	const rows, cols, entries = 128, 96, 100
	reports := map[int]*Report{}
	var unit *xbar.Unit
	var a *arch.Arch
	for _, n := range []int{0, entries} {
		a = preset(t, "panther")
		a.Crossbar.Device = device.Config{StuckLow: 0.01, StuckHigh: 0.01, FaultMap: true, FaultRecord: n}
		src := rng.New(11)
		w := codes(src, rows*cols, 1<<11)
		x, d := codes(src, 128, 1<<13), codes(src, 128, 1<<13)
		p := assemble(t, a, "xbar.s")
		addData(t, p, 0, 0, append(x, d...))
		p.Weights = []program.Weights{{Tile: 0, Core: 0, Unit: 0, Rows: rows, Cols: cols, Codes: w, Eta: -1.0 / 16}}
		s, r := simulate(t, a, p, Options{Seed: 5, KeepUnits: true})
		reports[n] = r
		unit = s.coreOf(t, 0, 0).units[0].unit
	}
	read, update := unit.Forward(), unit.Update()
	readOps, updateOps := int64(4*entries), int64(entries) // 2 MVM + 2 MTVM; 1 OPA
	if got := reports[entries].Numeric.RecordOps; got != readOps+updateOps {
		t.Fatalf("record operations %d, want %d", got, readOps+updateOps)
	}
	alu := &a.Components.VectorALU
	// A read entry holds its position and W - S (14 + 17 bits), an update
	// entry its position and W (14 + 24 bits).
	if r, u := xbar.RecordEntryBits(read.Config().Size, read.Config().Plan, true, false), xbar.RecordEntryBits(update.Config().Size, update.Config().Plan, false, true); r != 31 || u != 38 {
		t.Fatalf("entries of %d and %d bits, want 31 and 38", r, u)
	}
	perOp := func(bits float64) float64 {
		return bits*a.Ops.FaultRecord.ReadPJPerBit + alu.PJ(alu.MulMW+alu.DynamicMW)
	}
	want := float64(readOps)*perOp(31) + float64(updateOps)*perOp(38)
	if got := reports[entries].FaultRecordPJ; math.Abs(got-want) > 1e-9*want {
		t.Errorf("record energy %g pJ, want %g", got, want)
	}
	if reports[0].FaultRecordPJ != 0 || reports[0].Numeric.RecordOps != 0 {
		t.Error("a set without a record charged one")
	}
	// The first mvm runs two products on the read set, each followed by
	// 25 cycles of the 4 lanes, and the second mvm two more.
	if got, want := reports[entries].Cycles-reports[0].Cycles, int64(4*entries/4); got != want {
		t.Errorf("the record lengthened the run by %d cycles, want %d", got, want)
	}
	bits := entries * (31 + 38)
	wantArea := float64(a.Structure.MatrixUnits*bits) * a.Ops.FaultRecord.AreaMM2PerBit
	if got := reports[entries].Area.CoreMM2 - reports[0].Area.CoreMM2; math.Abs(got-wantArea) > 1e-12 {
		t.Errorf("the record added %g mm^2 to the core, want %g", got, wantArea)
	}
}
