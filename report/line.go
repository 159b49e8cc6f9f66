package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a line plot.
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
	for i, s := range series {
		l, pts, err := plotter.NewLinePoints(s.XYs)
		if err != nil {
			return fmt.Errorf("line plot %s: series %q: %w", path, s.Name, err)
		}
		c := plotutil.Color(i)
		l.Color, pts.Color = c, c
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(s.Name, l, pts)
	}
	if xTicks != nil {
		p.X.Tick.Marker = CategoryTicks(xTicks)
	}
	p.Add(plotter.NewGrid())
	c := newCanvas(path, 6*vg.Inch, 4*vg.Inch)
	p.Draw(draw.New(c))
	return writeCanvas(path, c)
}

// grey is the colour of cells without a value.
var grey = color.Gray{Y: 230}
