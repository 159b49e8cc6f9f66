package arch

import (
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/panther-xbar/panther/xbar"
)

// Count is how many of component id one core, tile or node (its scope's
// Level) holds.
func (a *Arch) Count(id ComponentID) int {
	c := a.Components.Get(id)
	s := a.Structure
	switch c.Per {
	case PerMatrixUnit:
		return c.Count * s.MatrixUnits
	case PerMatrixUnitLine:
		return c.Count * s.MatrixUnits * s.CrossbarSize
	case PerSliceArray:
		return c.Count * s.MatrixUnits * a.SliceArrays()
	case PerRouter:
		return c.Count * a.Routers()
	}
	return c.Count
}

// AreaItem is one component's share of an area.
type AreaItem struct {
	Component string  `json:"component"`
	Count     int     `json:"count"`
	AreaMM2   float64 `json:"area_mm2"`
}

// Area is the area model: the sum of component areas at each level (no
// layout overhead), as the reference simulator computes it.
type Area struct {
	CoreMM2   float64    `json:"core_mm2"`
	TileMM2   float64    `json:"tile_mm2"`
	NodeMM2   float64    `json:"node_mm2"`
	SystemMM2 float64    `json:"system_mm2"` // all nodes
	Core      []AreaItem `json:"core"`       // per core
	Tile      []AreaItem `json:"tile"`       // per tile, cores excluded
	Node      []AreaItem `json:"node"`       // per node, tiles excluded
}

// spareAreaFactor is how much the spare lines of fault-aware mapping
// (docs/devices.md) enlarge a crossbar array: (n+spare_rows)(n+spare_cols)/n^2.
func (a *Arch) spareAreaFactor() float64 {
	n, d := float64(a.Structure.CrossbarSize), a.Crossbar.Device
	return (n + float64(d.SpareRows)) * (n + float64(d.SpareCols)) / (n * n)
}

// Area computes the area of a core, a tile, a node and the system, the
// ADC's at its resolution (Costed); crossbar arrays include their spare
// lines.
func (a *Arch) Area() Area {
	a = a.Costed()
	var ar Area
	for id := range NumComponents {
		c := a.Components.Get(id)
		n := a.Count(id)
		item := AreaItem{Component: id.String(), Count: n, AreaMM2: float64(n) * c.AreaMM2}
		if id == CompCrossbar {
			item.AreaMM2 *= a.spareAreaFactor()
		}
		switch c.Per.Level() {
		case PerCore:
			ar.Core = append(ar.Core, item)
			ar.CoreMM2 += item.AreaMM2
		case PerTile:
			ar.Tile = append(ar.Tile, item)
			ar.TileMM2 += item.AreaMM2
		default:
			ar.Node = append(ar.Node, item)
			ar.NodeMM2 += item.AreaMM2
		}
	}
	s := a.Structure
	if bits := a.RecordBits(); bits > 0 {
		item := AreaItem{Component: "fault_record", Count: s.MatrixUnits,
			AreaMM2: float64(s.MatrixUnits*bits) * a.Ops.FaultRecord.AreaMM2PerBit}
		ar.Core = append(ar.Core, item)
		ar.CoreMM2 += item.AreaMM2
	}
	ar.TileMM2 += float64(s.CoresPerTile) * ar.CoreMM2
	ar.NodeMM2 += float64(s.TilesPerNode) * ar.TileMM2
	ar.SystemMM2 = float64(s.Nodes) * ar.NodeMM2
	return ar
}

// WriteYAML writes a as a file that Parse reads back, followed by the
// derived areas as comments.
func (a *Arch) WriteYAML(w io.Writer) error {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(a); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	ar := a.Area()
	s := a.Structure
	fmt.Fprintf(&b, "# derived (not read back):\n")
	fmt.Fprintf(&b, "#   weight sets per matrix unit: %d (%s variant)\n", a.WeightSets(), a.Crossbar.Variant)
	if a.Ops.MVM.Mechanism == MVMDigital {
		fmt.Fprintf(&b, "#   slice arrays per matrix unit: none (a digital matrix unit, weights in SRAM)\n")
	} else {
		fmt.Fprintf(&b, "#   slice arrays per matrix unit: %d\n", a.SliceArrays())
	}
	crs := "yes (crs resolves the update set)"
	switch {
	case a.Ops.Update.Mechanism == UpdateNone:
		crs = "none (no weight update)"
	case a.Crossbar.OPAMode == xbar.Resolved:
		crs = "none (" + a.Ops.Update.Mechanism + " update, resolved at once)"
	}
	fmt.Fprintf(&b, "#   CRS: %s\n", crs)
	fmt.Fprintf(&b, "#   routers per node: %d\n", a.Routers())
	fmt.Fprintf(&b, "#   core area: %.6f mm^2\n", ar.CoreMM2)
	fmt.Fprintf(&b, "#   tile area: %.6f mm^2 (%d cores)\n", ar.TileMM2, s.CoresPerTile)
	fmt.Fprintf(&b, "#   node area: %.4f mm^2 (%d tiles)\n", ar.NodeMM2, s.TilesPerNode)
	fmt.Fprintf(&b, "#   system area: %.4f mm^2 (%d nodes)\n", ar.SystemMM2, s.Nodes)
	_, err := io.WriteString(w, b.String())
	return err
}
