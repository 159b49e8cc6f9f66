package train

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/panther-xbar/panther/internal/atomicfile"
)

// grid is a heat map's values, z[row][col], with NaN for points not run.
type grid struct{ z [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g grid) Z(c, r int) float64 { return g.z[r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// panel is one heat map of a figure.
type panel struct {
	title          string
	rows, cols     []string
	z              [][]float64
	format         string // cell label format; "" for none
	xLabel, yLabel string
}

// drawStudy writes, per dataset, the heat maps of accuracy, of the
// saturation rate and of the saturation rate per slice.
func drawStudy(dir string, s Study, records []StudyRecord) error {
	byKey := map[string]StudyRecord{}
	for _, r := range records {
		byKey[r.Key()] = r
	}
	cells := s.cellsLabels()
	crsLabels := make([]string, len(s.CRSIntervals))
	for i, c := range s.CRSIntervals {
		crsLabels[i] = strconv.Itoa(c)
	}
	for _, ds := range s.Datasets {
		var acc, sat, slices [][]panel
		for _, v := range s.Variants {
			for _, rd := range s.Roundings {
				var accRow, satRow, sliceRow []panel
				for _, f := range s.FractionBits {
					title := fmt.Sprintf("%s, %s, f = %d", v, rd, f)
					a := panel{title: title, rows: cells, cols: crsLabels, format: "%.1f", xLabel: "CRS interval (batches)", yLabel: "cell bits"}
					st := a
					st.format = "%.2g"
					nSlices := (16 + f) / 2
					sl := panel{title: title, cols: make([]string, nSlices), xLabel: "slice (least significant first)", yLabel: "cells / CRS"}
					for i := range sl.cols {
						sl.cols[i] = strconv.Itoa(i)
					}
					for _, c := range cells {
						var ar, sr []float64
						for _, crs := range s.CRSIntervals {
							p := StudyPoint{Dataset: ds, Variant: v.String(), Rounding: rd.String(), FractionBits: f, Cells: c, CRSInterval: crs}
							r, ok := byKey[p.Key()]
							ar, sr = append(ar, nanUnless(ok, 100*r.TestAccuracy)), append(sr, nanUnless(ok, 100*r.SatRate))
							row := make([]float64, nSlices)
							for i := range row {
								row[i] = math.NaN()
								if ok && i < len(r.SliceSatRate) {
									row[i] = math.Log10(max(r.SliceSatRate[i], 1e-6))
								}
							}
							sl.rows = append(sl.rows, c+" / "+strconv.Itoa(crs))
							sl.z = append(sl.z, row)
						}
						a.z, st.z = append(a.z, ar), append(st.z, sr)
					}
					accRow, satRow, sliceRow = append(accRow, a), append(satRow, st), append(sliceRow, sl)
				}
				acc, sat, slices = append(acc, accRow), append(sat, satRow), append(slices, sliceRow)
			}
		}
		figures := []struct {
			name, title string
			panels      [][]panel
			height      vg.Length
		}{
			{"accuracy_" + ds + ".png", ds + ": test accuracy (%)", acc, 3 * vg.Inch},
			{"saturation_" + ds + ".png", ds + ": slice saturations per 100 slice writes", sat, 3 * vg.Inch},
			{"slices_" + ds + ".png", ds + ": log10 of saturations per slice write, by slice (-6: none)", slices, 6 * vg.Inch},
		}
		for _, fig := range figures {
			if err := drawFigure(filepath.Join(dir, fig.name), fig.title, fig.panels, fig.height); err != nil {
				return err
			}
		}
	}
	return nil
}

func nanUnless(ok bool, v float64) float64 {
	if !ok {
		return math.NaN()
	}
	return v
}

// drawFigure tiles the panels, one colour scale for all.
func drawFigure(path, title string, panels [][]panel, panelHeight vg.Length) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range panels {
		for _, p := range row {
			for _, r := range p.z {
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
			p.Title.Text = pn.title
			p.X.Label.Text, p.Y.Label.Text = pn.xLabel, pn.yLabel
			hm := plotter.NewHeatMap(grid{pn.z}, pal)
			hm.Min, hm.Max = lo, hi
			hm.NaN = color.Gray{Y: 230}
			p.Add(hm)
			if pn.format != "" {
				var xys plotter.XYs
				var labels []string
				for r, vals := range pn.z {
					for c, v := range vals {
						if !math.IsNaN(v) {
							xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
							labels = append(labels, fmt.Sprintf(pn.format, v))
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
			p.X.Tick.Marker = categoryTicks(pn.cols)
			p.Y.Tick.Marker = categoryTicks(pn.rows)
			p.X.Min, p.X.Max = -0.5, float64(len(pn.cols))-0.5
			p.Y.Min, p.Y.Max = -0.5, float64(len(pn.rows))-0.5
			plots[i] = append(plots[i], p)
		}
	}
	cols := len(plots[0])
	width := vg.Length(cols) * 4.2 * vg.Inch
	height := vg.Length(len(plots))*panelHeight + 0.4*vg.Inch
	img := vgimg.New(width, height)
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
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

func categoryTicks(labels []string) plot.ConstantTicks {
	ticks := make([]plot.Tick, len(labels))
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
	}
	return ticks
}
