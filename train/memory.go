package train

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/xbar"
)

// Memory is the estimated memory of a run, in bytes, by what holds it.
// Every layer is bounded in size on its own (model.MaxValues), but a model
// of many such layers can still need more than a machine has; a run is
// checked against a limit before anything is allocated.
type Memory struct {
	// Crossbars are the units' cells, accumulators, bit-planes, device
	// state and per-set scratch.
	Crossbars int64
	// FP32 is the reference's weights and its two gradient accumulators.
	FP32 int64
	// Workspaces are the per-example activations, errors and scratch of
	// both trainers and the convolutions' gather tables.
	Workspaces int64
	// Dataset is the training and test examples, loaded already.
	Dataset int64
	// Checkpoint is the copy of the state and its encoding that a
	// checkpoint holds while it is written or read.
	Checkpoint int64
	// Outputs is the exported weights and their JSON text at the end.
	Outputs int64
}

// Total is the sum of the parts.
func (m Memory) Total() int64 {
	return m.Crossbars + m.FP32 + m.Workspaces + m.Dataset + m.Checkpoint + m.Outputs
}

// String gives the total and the parts that hold anything.
func (m Memory) String() string {
	var parts []string
	for _, p := range []struct {
		name  string
		bytes int64
	}{{"crossbars", m.Crossbars}, {"FP32 reference", m.FP32}, {"workspaces", m.Workspaces}, {"dataset", m.Dataset},
		{"checkpoint", m.Checkpoint}, {"outputs", m.Outputs}} {
		if p.bytes > 0 {
			parts = append(parts, p.name+" "+FormatBytes(p.bytes))
		}
	}
	return fmt.Sprintf("%s: %s", FormatBytes(m.Total()), strings.Join(parts, ", "))
}

// FormatBytes writes a byte count in binary units (KiB, MiB, GiB, TiB).
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for ; v >= unit && i < 3; i++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// EstimateMemory is what a run of cfg on train and test holds at most, as
// the trainer lays it out (per crossbar set and cell: the accumulator, one
// code, each slice's cell and bit-planes, device state; per unit and cell
// the CRS buffer; see crossbar.go and xbar.Set). It errs on the high side.
func EstimateMemory(cfg Config, train, test *data.Set, checkpoint bool) Memory {
	var m Memory
	u := cfg.Unit
	type set struct {
		plan         xbar.Plan
		rowPl, colPl bool // bit-planes for MVM and for MTVM
		update       bool // the set OPA writes
	}
	var sets []set
	switch u.Variant {
	case xbar.Inplace:
		sets = []set{{u.InplacePlan, true, true, true}}
	case xbar.Accumulate:
		sets = []set{{u.ReadPlan, true, true, false}, {u.UpdatePlan, false, false, true}}
	default:
		sets = []set{{u.ReadPlan, true, false, false}, {u.ReadPlan, false, true, false}, {u.UpdatePlan, false, false, true}}
	}
	words := func(n int) int64 { return int64(n+63) / 64 }
	var cells, sliceCells, maxLayer int64 // whole model; slice cells summed over sets
	maxRows, maxTiles, maxLen := 1, 1, cfg.Model.Input.Size()
	var acts, flags, argmax int64 // per example
	for _, l := range cfg.Model.Layers {
		out := int64(l.OutShape.Size())
		maxLen = max(maxLen, int(out))
		acts += out
		switch {
		case l.Trainable():
			flags += out
			rows, cols := l.CrossbarRows(u.Size.Rows, cfg.Bias), l.CellCols()
			n := int64(rows) * int64(cols)
			cells += n
			maxLayer = max(maxLayer, n)
			maxRows = max(maxRows, rows, cols)
			rb, cb := xbar.TileBounds(rows, u.Size.Rows), xbar.TileBounds(cols, u.Size.Cols)
			maxTiles = max(maxTiles, len(rb)-1, len(cb)-1)
			if l.Kind == model.Conv2D {
				pixels := int64(l.OutShape.Size() / l.Out)
				m.Workspaces += 2 * 4 * pixels * int64(l.FanIn()) // both trainers' gather tables
			}
			for i := 1; i < len(rb); i++ {
				for j := 1; j < len(cb); j++ {
					tr, tc := rb[i]-rb[i-1], cb[j]-cb[j-1]
					tn := int64(tr) * int64(tc)
					m.Crossbars += 2 * tn // the unit's CRS buffer
					for _, s := range sets {
						m.Crossbars += (8 + 4) * tn // accumulator, code
						if s.rowPl || s.colPl {
							m.Crossbars += 2 * 4 * tn // the lines of both products in paired lanes
						}
						if s.update && u.Rounding == fixed.Stochastic {
							m.Crossbars += 4 * tn
						}
						if s.update && u.OPAMode != xbar.Chunked {
							m.Crossbars += (8 + 1) * tn // previous pulses, clip flags
						}
						for _, sl := range s.plan.Slices {
							sliceCells += tn
							m.Crossbars += 2 * tn
							if s.rowPl {
								m.Crossbars += 8 * int64(tc) * int64(sl.CellBits) * words(tr)
							}
							if s.colPl {
								m.Crossbars += 8 * int64(tr) * int64(sl.CellBits) * words(tc)
							}
							if u.Device.HasStuck() {
								m.Crossbars += 2 * tn
							}
							if u.Device.D2D > 0 {
								m.Crossbars += 8 * tn
							}
						}
					}
				}
			}
		case l.Kind == model.MaxPool:
			argmax += out
		}
	}
	readers, perReader := stageAShape(cfg)
	records := int64(readers * perReader)
	tile := int64(max(u.Size.Rows, u.Size.Cols))
	workspace := 4*int64(maxRows) + 3*tile + 3*int64(maxTiles)*tile + 8*int64(maxLen)
	workspaces := int64(readers + runtime.GOMAXPROCS(0))
	m.Workspaces += records*(2*(int64(cfg.Model.Input.Size())+acts)+3*flags+4*argmax) + workspaces*workspace
	m.Crossbars += (8 + 2 + 2) * maxLayer // a layer's initial weights while it is programmed
	if cfg.FP32 {
		m.FP32 = 3 * 4 * cells // weights and two gradient shards
		m.Workspaces += floatShards * (4*(int64(cfg.Model.Input.Size())+acts) + 4*argmax + 3*4*int64(maxRows) + 2*4*int64(maxLen))
	}
	m.Dataset = int64(len(train.Pixels) + len(train.Labels) + len(test.Pixels) + len(test.Labels))
	if checkpoint {
		// The state's copy (2 bytes per slice cell) and its gob encoding
		// (up to 3), and the same for the FP32 weights (4 and up to 5).
		m.Checkpoint = 5 * sliceCells
		if cfg.FP32 {
			m.Checkpoint += 9 * cells
		}
	}
	// The weights as float64 and as JSON text (at most 24 bytes a value).
	m.Outputs = (8 + 24) * cells
	return m
}
