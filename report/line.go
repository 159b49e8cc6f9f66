package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a line plot. A point whose Y is NaN or ±Inf has no
// value: the line breaks there and the legend names its x.
type Series struct {
	Name string
	XYs  plotter.XYs
}

// Lines draws the series into one plot and writes it to path (SVG for
// .svg, PNG otherwise). xTicks, when not nil, labels integer x positions
// (for categorical x values).
func Lines(path, title, xLabel, yLabel string, series []Series, xTicks []string) error {
	if len(series) == 0 {
		return fmt.Errorf("line plot %s: no data", path)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Legend.Top = true
	var xs, ys []float64
	for _, s := range series {
		for _, xy := range s.XYs {
			if finite(xy.X) && finite(xy.Y) {
				xs, ys = append(xs, xy.X), append(ys, xy.Y)
			}
		}
	}
	xScale, yScale := axisScale(xs), axisScale(ys)
	xText := func(x float64) string {
		if i := int(x); xTicks != nil && float64(i) == x && i >= 0 && i < len(xTicks) {
			return xTicks[i]
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	for i, s := range series {
		style := plotter.DefaultLineStyle
		style.Color = plotutil.Color(i)
		var have plotter.XYs
		var segment plotter.XYs
		var gaps []string
		drawSegment := func() error {
			if len(segment) > 1 {
				l, err := plotter.NewLine(segment)
				if err != nil {
					return fmt.Errorf("line plot %s: series %q: %w", path, s.Name, err)
				}
				l.LineStyle = style
				p.Add(l)
			}
			segment = nil
			return nil
		}
		for _, xy := range s.XYs {
			if !finite(xy.X) || !finite(xy.Y) {
				gaps = append(gaps, xText(xy.X))
				if err := drawSegment(); err != nil {
					return err
				}
				continue
			}
			xy = plotter.XY{X: xy.X / xScale, Y: xy.Y / yScale}
			segment, have = append(segment, xy), append(have, xy)
		}
		if err := drawSegment(); err != nil {
			return err
		}
		pts, err := plotter.NewScatter(have)
		if err != nil {
			return fmt.Errorf("line plot %s: series %q: %w", path, s.Name, err)
		}
		pts.Color, pts.Shape = style.Color, plotutil.Shape(i)
		p.Add(pts)
		name := s.Name
		if len(gaps) > 0 {
			name += fmt.Sprintf(" (no value at %s = %s)", xLabel, strings.Join(gaps, ", "))
		}
		p.Legend.Add(name, &plotter.Line{LineStyle: style}, pts)
	}
	if xTicks != nil {
		p.X.Tick.Marker = CategoryTicks(xTicks)
	} else {
		setAxis(&p.X, xs, xScale)
	}
	setAxis(&p.Y, ys, yScale)
	p.Add(plotter.NewGrid())
	c := newCanvas(path, 6*vg.Inch, 4*vg.Inch)
	p.Draw(draw.New(c))
	return writeCanvas(path, c)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// axisScale is what an axis's values are divided by to be drawn: 1, or 4
// when they come so near ±MaxFloat64 that their range, padded, would
// overflow (the ticks would then be computed forever).
func axisScale(vals []float64) float64 {
	for _, v := range vals {
		if math.Abs(v) > math.MaxFloat64/4 {
			return 4
		}
	}
	return 1
}

// setAxis gives an axis of values all equal a range around them (the
// default of ±1 vanishes beside values such as 1e20), and labels the ticks
// of a scaled axis with the values they stand for.
func setAxis(a *plot.Axis, vals []float64, scale float64) {
	if len(vals) > 0 && slices.Min(vals) == slices.Max(vals) {
		v := vals[0] / scale
		d := max(math.Abs(v)/10, 1)
		a.Min, a.Max = v-d, v+d
	}
	if scale != 1 {
		a.Tick.Marker = scaledTicks{scale}
	}
}

// scaledTicks are the default ticks of an axis drawn divided by scale,
// labelled with the values they stand for.
type scaledTicks struct{ scale float64 }

func (s scaledTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value*s.scale, 'g', 3, 64)
		}
	}
	return ticks
}
