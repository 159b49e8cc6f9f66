// Package report draws figures from data that other packages computed: heat
// maps tiled into one figure with a shared colour scale, and line plots. It
// computes nothing new and knows nothing of crossbars or training.
package report

import (
	"fmt"
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

// grid is a heat map's values, z[row][col], with NaN for points not run.
type grid struct{ z [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g grid) Z(c, r int) float64 { return g.z[r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// Panel is one heat map of a figure: Z[row][col], NaN where there is no value.
type Panel struct {
	Title          string
	Rows, Cols     []string
	Z              [][]float64
	Format         string // cell label format; "" for none
	XLabel, YLabel string
}

// Heatmaps tiles the panels into one figure with one colour scale for all
// and writes it to path, as SVG when path ends in .svg and PNG otherwise.
func Heatmaps(path, title string, panels [][]Panel, panelHeight vg.Length) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range panels {
		for _, p := range row {
			for _, r := range p.Z {
				for _, v := range r {
					if !math.IsNaN(v) {
						lo, hi = min(lo, v), max(hi, v)
					}
				}
			}
		}
	}
	if lo > hi { // nothing run yet
		lo, hi = 0, 1
	}
	if lo == hi {
		hi = lo + 1
	}
	title += fmt.Sprintf("   (colour: blue %.3g to red %.3g)", lo, hi)
	cm := moreland.SmoothBlueRed()
	cm.SetMin(lo)
	cm.SetMax(hi)
	pal := cm.Palette(255)
	plots := make([][]*plot.Plot, len(panels))
	for i, row := range panels {
		for _, pn := range row {
			p := plot.New()
			p.Title.Text = pn.Title
			p.X.Label.Text, p.Y.Label.Text = pn.XLabel, pn.YLabel
			hm := plotter.NewHeatMap(grid{pn.Z}, pal)
			hm.Min, hm.Max = lo, hi
			hm.NaN = grey
			p.Add(hm)
			if pn.Format != "" {
				var xys plotter.XYs
				var labels []string
				for r, vals := range pn.Z {
					for c, v := range vals {
						if !math.IsNaN(v) {
							xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
							labels = append(labels, fmt.Sprintf(pn.Format, v))
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
