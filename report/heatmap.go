// Package report draws figures from data that other packages computed: heat
// maps tiled into one figure with a shared colour scale, and line plots. It
// computes nothing new and knows nothing of crossbars or training.
package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/panther-xbar/panther/internal/atomicfile"
)

// grid is a heat map's values, z[row][col], seen through the colour scale
// from lo (0) to hi (1): NaN stays NaN (noValue), values beyond the scale
// (±Inf) take its ends.
type grid struct {
	z      [][]float64
	lo, hi float64
}

func (g grid) Dims() (c, r int) { return len(g.z[0]), len(g.z) }
func (g grid) Z(c, r int) float64 {
	v := g.z[r][c]
	switch {
	case math.IsNaN(v):
		return v
	case g.lo == g.hi: // one value: the middle colour
		return 0.5
	case v <= g.lo:
		return 0
	case v >= g.hi:
		return 1
	}
	// Halves, so that a range of ±1e308 does not overflow.
	return (v/2 - g.lo/2) / (g.hi/2 - g.lo/2)
}
func (g grid) X(c int) float64 { return float64(c) }
func (g grid) Y(r int) float64 { return float64(r) }
func (g grid) Min() float64    { return 0 }
func (g grid) Max() float64    { return 1 }

// Panel is one heat map of a figure: Z[row][col]. Missing, when given,
// marks the cells that have no value (labelled "missing"); the other cells
// that are NaN or ±Inf are labelled so. Without Missing, NaN cells are the
// ones without a value. Both are pale yellow, a colour the blue-to-red
// scale lacks (its middle is a light grey); ±Inf take the ends of the scale.
type Panel struct {
	Title          string
	Rows, Cols     []string
	Z              [][]float64
	Missing        [][]bool
	Format         string // cell label format; "" for none
	XLabel, YLabel string
}

// label is the text of cell (r, c), "" for none.
func (pn Panel) label(r, c int) string {
	v := pn.Z[r][c]
	switch {
	case pn.Format == "":
		return ""
	case pn.Missing != nil && pn.Missing[r][c]:
		return "missing"
	case pn.Missing == nil && math.IsNaN(v):
		return ""
	}
	return fmt.Sprintf(pn.Format, v)
}

// Heatmaps tiles the panels into one figure with one colour scale for all
// and writes it to path, as SVG when path ends in .svg and PNG otherwise.
func Heatmaps(path, title string, panels [][]Panel, panelHeight vg.Length) error {
	// One colour scale over the finite values of every panel.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range panels {
		for _, p := range row {
			for _, r := range p.Z {
				for _, v := range r {
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						lo, hi = min(lo, v), max(hi, v)
					}
				}
			}
		}
	}
	switch {
	case lo > hi:
		lo, hi = 0, 0
		title += "   (no finite values)"
	case lo == hi:
		title += fmt.Sprintf("   (every finite value %.3g)", lo)
	default:
		title += fmt.Sprintf("   (colour: blue %.3g to red %.3g)", lo, hi)
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(1)
	pal := cm.Palette(255)
	plots := make([][]*plot.Plot, len(panels))
	for i, row := range panels {
		for _, pn := range row {
			p := plot.New()
			p.Title.Text = pn.Title
			p.X.Label.Text, p.Y.Label.Text = pn.XLabel, pn.YLabel
			hm := plotter.NewHeatMap(grid{pn.Z, lo, hi}, pal)
			hm.NaN = noValue
			p.Add(hm)
			if pn.Format != "" {
				var xys plotter.XYs
				var labels []string
				for r, vals := range pn.Z {
					for c := range vals {
						if l := pn.label(r, c); l != "" {
							xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
							labels = append(labels, l)
						}
					}
				}
				if len(xys) > 0 {
					l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
					if err != nil {
						return err
					}
					for k := range l.TextStyle {
						l.TextStyle[k].XAlign, l.TextStyle[k].YAlign = draw.XCenter, draw.YCenter
					}
					p.Add(l)
				}
			}
			p.X.Tick.Marker = CategoryTicks(pn.Cols)
			p.Y.Tick.Marker = CategoryTicks(pn.Rows)
			p.X.Min, p.X.Max = -0.5, float64(len(pn.Cols))-0.5
			p.Y.Min, p.Y.Max = -0.5, float64(len(pn.Rows))-0.5
			plots[i] = append(plots[i], p)
		}
	}
	cols := len(plots[0])
	width := vg.Length(cols) * 4.2 * vg.Inch
	height := vg.Length(len(plots))*panelHeight + 0.4*vg.Inch
	img := newCanvas(path, width, height)
	dc := draw.New(img)
	titleStyle := plot.New().Title.TextStyle // the figure's title, above the panels
	titleStyle.XAlign, titleStyle.YAlign = draw.XCenter, draw.YTop
	dc.FillText(titleStyle, vg.Point{X: width / 2, Y: height - 0.08*vg.Inch}, title)
	top := draw.Crop(dc, 0, 0, 0, -0.4*vg.Inch)
	tiles := draw.Tiles{Rows: len(plots), Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, top)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	return writeCanvas(path, img)
}

// noValue is the colour of cells without a finite value.
var noValue = color.RGBA{R: 255, G: 245, B: 190, A: 255}

// CategoryTicks puts one label at each integer position.
func CategoryTicks(labels []string) plot.ConstantTicks {
	ticks := make([]plot.Tick, len(labels))
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
	}
	return ticks
}

// canvas is a drawing surface that can also write itself out.
type canvas interface {
	vg.CanvasSizer
	io.WriterTo
}

func newCanvas(path string, w, h vg.Length) canvas {
	if strings.EqualFold(filepath.Ext(path), ".svg") {
		return vgsvg.New(w, h)
	}
	return vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
}

func writeCanvas(path string, c canvas) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}
