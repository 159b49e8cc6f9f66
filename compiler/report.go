package compiler

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/program"
)

// Report describes a compiled program: what it occupies, how long its
// programs are, and how much data it moves. It is static (counted by the
// compiler, traffic measured on its own run of the program);
// time and energy are the simulator's business.
type Report struct {
	Model    string `json:"model"`
	Mode     string `json:"mode"` // "training" or "inference"
	Variant  string `json:"variant,omitempty"`
	Examples int    `json:"examples"`
	// Loss is a training program's loss, and LossSource why it is that
	// one (the training configuration, the model's head or its default).
	Loss       string `json:"loss,omitempty"`
	LossSource string `json:"loss_source,omitempty"`
	// InFlight is the most examples of a training program a core holds
	// between its forward and backward pass, and InFlightLimit what bounds
	// them (docs/compiler.md, "Scheduling: examples in flight").
	InFlight      int    `json:"in_flight,omitempty"`
	InFlightLimit string `json:"in_flight_limit,omitempty"`

	// Occupancy. A matrix unit holds one CrossbarSize x CrossbarSize tile
	// of a layer's cell matrix.
	MatrixUnits int `json:"matrix_units"`
	Cores       int `json:"cores"`
	Tiles       int `json:"tiles"`
	Nodes       int `json:"nodes"`

	Layers []LayerReport `json:"layers"`

	// Program sizes, in instructions.
	CoreInstructions     int         `json:"core_instructions"`
	MaxCoreInstructions  int         `json:"max_core_instructions"`
	TransferInstructions int         `json:"transfer_instructions"`
	MaxTileTransferInsts int         `json:"max_tile_transfer_instructions"`
	CoresDetail          []CoreEntry `json:"per_core"`
	// MaxSharedWords is the most shared memory a tile's layout takes.
	MaxSharedWords int `json:"max_shared_words"`
	// MaxDataWords is the most data memory (registers beyond the crossbar
	// buffers) a core's program takes.
	MaxDataWords int `json:"max_data_words"`

	// Traffic of the whole program (every example).
	Traffic Traffic `json:"traffic"`

	Utilisation Utilisation `json:"utilisation"`
}

// LayerReport is one layer's share of the machine.
type LayerReport struct {
	Layer       int    `json:"layer"` // 1-based, as messages name layers
	Kind        string `json:"kind"`
	Rows        int    `json:"rows,omitempty"` // cell matrix, bias row included
	Cols        int    `json:"cols,omitempty"`
	MatrixUnits int    `json:"matrix_units"`
	// VectorBias: the bias row is held in the vector unit, on no crossbar
	// (its inputs fill whole row tiles; docs/compiler.md, "Biases").
	VectorBias bool  `json:"vector_bias,omitempty"`
	Cores      int   `json:"cores"`
	Tiles      []int `json:"tiles"`
}

// CoreEntry is one core's program.
type CoreEntry struct {
	Tile         int    `json:"tile"`
	Core         int    `json:"core"`
	Job          string `json:"job"`
	Instructions int    `json:"instructions"`
	DataWords    int    `json:"data_words"`
}

// Traffic counts words moved: by cores through shared memory, by tile
// control units between tiles (over the network) and within a tile.
type Traffic struct {
	SharedLoadWords  int64 `json:"shared_load_words"`
	SharedStoreWords int64 `json:"shared_store_words"`
	NetworkWords     int64 `json:"network_words"`
	NetworkMessages  int64 `json:"network_messages"`
	InterNodeWords   int64 `json:"inter_node_words"`
	LocalCopyWords   int64 `json:"local_copy_words"`
}

// count adds one message.
func (t *Traffic) count(a isa.Arch, m message) {
	n := int64(m.words)
	switch {
	case m.src == m.dst:
		t.LocalCopyWords += n
	default:
		t.NetworkWords += n
		t.NetworkMessages++
		if m.src/a.TilesPerNode != m.dst/a.TilesPerNode {
			t.InterNodeWords += n
		}
	}
}

// Utilisation estimates how well the program fills what it occupies.
type Utilisation struct {
	// Cells is the share of the matrix units' cells that hold weights.
	Cells float64 `json:"cells"`
	// UnitSlots is the share of the occupied cores' matrix units in use.
	UnitSlots float64 `json:"unit_slots"`
	// CoreSlots is the share of the occupied tiles' cores in use.
	CoreSlots float64 `json:"core_slots"`
	// Balance is the mean over the longest core program, a proxy for how
	// evenly the work is spread.
	Balance float64 `json:"balance"`
}

var roleNames = [...]string{"matrix units", "lead", "vector"}

func (b *build) report(net *model.Network, p *program.Program, traffic Traffic) Report {
	a := b.a
	r := Report{Model: net.Name, Mode: "inference", Examples: b.examples, MatrixUnits: len(p.Weights), Traffic: traffic}
	if b.training {
		r.Mode, r.Variant = "training", b.cfg.Variant.String()
		r.Loss, r.LossSource = string(b.loss), b.lossFrom
		r.InFlight, r.InFlightLimit = b.inFlightNow(), b.inFlightLimit()
	}
	jobs := map[[2]int]string{}
	data := map[[2]int]int{}
	unitCores := map[[2]int]bool{}
	for _, c := range b.cores {
		jobs[[2]int{c.tile, c.num}] = fmt.Sprintf("%s of %s", roleNames[c.role], c.st.name())
		data[[2]int{c.tile, c.num}] = c.p.next
	}
	cells := 0
	for _, w := range p.Weights {
		cells += w.Rows * w.Cols
		unitCores[[2]int{w.Tile, w.Core}] = true
	}
	nodes := map[int]bool{}
	for _, t := range p.Code.Tiles {
		r.Tiles++
		nodes[t.Tile/a.TilesPerNode] = true
		r.TransferInstructions += len(t.Insts)
		r.MaxTileTransferInsts = max(r.MaxTileTransferInsts, len(t.Insts))
		if m := b.mem[t.Tile]; m != nil {
			r.MaxSharedWords = max(r.MaxSharedWords, m.next)
		}
		for _, c := range t.Cores {
			r.Cores++
			r.CoreInstructions += len(c.Insts)
			r.MaxCoreInstructions = max(r.MaxCoreInstructions, len(c.Insts))
			k := [2]int{t.Tile, c.Core}
			r.MaxDataWords = max(r.MaxDataWords, data[k])
			r.CoresDetail = append(r.CoresDetail, CoreEntry{Tile: t.Tile, Core: c.Core, Job: jobs[k], Instructions: len(c.Insts), DataWords: data[k]})
		}
	}
	r.Nodes = len(nodes)
	for _, s := range b.stages {
		if s.layer < 0 {
			continue
		}
		lr := LayerReport{Layer: s.layer + 1, Kind: string(s.spec.Kind)}
		if s.kind == stMatrix {
			lr.Rows, lr.Cols, lr.MatrixUnits, lr.VectorBias = s.rows, s.cols, s.rowTiles()*s.colTiles(), s.vecBias != nil
		}
		for _, c := range b.cores {
			if c.st == s {
				lr.Cores++
				if !slices.Contains(lr.Tiles, c.tile) {
					lr.Tiles = append(lr.Tiles, c.tile)
				}
			}
		}
		r.Layers = append(r.Layers, lr)
	}
	if r.MatrixUnits > 0 {
		r.Utilisation.Cells = float64(cells) / float64(r.MatrixUnits*a.CrossbarSize*a.CrossbarSize)
		r.Utilisation.UnitSlots = float64(r.MatrixUnits) / float64(len(unitCores)*a.MatrixUnits)
	}
	if r.Tiles > 0 {
		r.Utilisation.CoreSlots = float64(r.Cores) / float64(r.Tiles*a.CoresPerTile)
	}
	if r.MaxCoreInstructions > 0 {
		r.Utilisation.Balance = float64(r.CoreInstructions) / float64(r.Cores) / float64(r.MaxCoreInstructions)
	}
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: a summary and a line per layer.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mode := r.Mode
	if r.Variant != "" {
		mode += " (" + r.Variant + ")"
	}
	fmt.Fprintf(tw, "model\t%s, %s, %d examples\n", r.Model, mode, r.Examples)
	if r.Loss != "" {
		fmt.Fprintf(tw, "loss\t%s (%s)\n", r.Loss, r.LossSource)
	}
	if r.InFlight > 0 {
		fmt.Fprintf(tw, "in flight\t%d example(s) at once (%s)\n", r.InFlight, r.InFlightLimit)
	}
	fmt.Fprintf(tw, "occupies\t%d matrix units, %d cores, %d tiles, %d node(s)\n", r.MatrixUnits, r.Cores, r.Tiles, r.Nodes)
	fmt.Fprintf(tw, "core programs\t%d instructions, longest %d; fullest core data memory %d words\n", r.CoreInstructions, r.MaxCoreInstructions, r.MaxDataWords)
	fmt.Fprintf(tw, "tile transfers\t%d instructions, longest %d\n", r.TransferInstructions, r.MaxTileTransferInsts)
	t := r.Traffic
	fmt.Fprintf(tw, "shared memory\t%d words loaded, %d stored; fullest tile uses %d words\n", t.SharedLoadWords, t.SharedStoreWords, r.MaxSharedWords)
	fmt.Fprintf(tw, "network\t%d words in %d messages (%d between nodes), %d words copied within tiles\n", t.NetworkWords, t.NetworkMessages, t.InterNodeWords, t.LocalCopyWords)
	u := r.Utilisation
	fmt.Fprintf(tw, "utilisation\tcells %.1f%%, unit slots %.1f%%, core slots %.1f%%, balance %.1f%%\n", 100*u.Cells, 100*u.UnitSlots, 100*u.CoreSlots, 100*u.Balance)
	fmt.Fprintf(tw, "\nlayer\tkind\tmatrix\tunits\tcores\ttiles\n")
	for _, l := range r.Layers {
		m := "-"
		if l.Rows > 0 {
			m = fmt.Sprintf("%d x %d", l.Rows, l.Cols)
		}
		if l.VectorBias {
			m += ", bias in the vector unit"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\n", l.Layer, l.Kind, m, l.MatrixUnits, l.Cores, tileRange(l.Tiles))
	}
	return tw.Flush()
}

// tileRange writes sorted tile numbers compactly: 3-5, 9.
func tileRange(ts []int) string {
	ts = slices.Sorted(slices.Values(ts))
	out := ""
	for i := 0; i < len(ts); {
		j := i
		for j+1 < len(ts) && ts[j+1] == ts[j]+1 {
			j++
		}
		if out != "" {
			out += ", "
		}
		if j > i {
			out += fmt.Sprintf("%d-%d", ts[i], ts[j])
		} else {
			out += fmt.Sprint(ts[i])
		}
		i = j + 1
	}
	return out
}
