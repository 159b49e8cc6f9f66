package report

import (
	"cmp"
	"fmt"
	"image/color"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// FrontPoint is one design point of a Pareto plot.
type FrontPoint struct {
	Cost, Value float64
	// On marks a point of the front; only those are labelled.
	On    bool
	Label string
}

// FrontPanel is one panel: a model and dataset's points.
type FrontPanel struct {
	Title  string
	Points []FrontPoint
}

// Fronts draws one panel per FrontPanel, side by side in rows of two:
// every point as a grey dot, the front's points joined in order of cost,
// marked and numbered, the legend giving each number's settings. Points without a finite cost and
// value are left out and counted in the panel's title. SVG for .svg, PNG
// otherwise.
func Fronts(path, title, costLabel, valueLabel string, panels []FrontPanel) error {
	if len(panels) == 0 {
		return fmt.Errorf("pareto plot %s: no data", path)
	}
	const cols = 2
	rows := (len(panels) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.Title
		p.X.Label.Text, p.Y.Label.Text = costLabel, valueLabel
		var all, front plotter.XYs
		var labels []string
		left := 0
		for _, pt := range pn.Points {
			if !finite(pt.Cost) || !finite(pt.Value) {
				left++
				continue
			}
			xy := plotter.XY{X: pt.Cost, Y: pt.Value}
			all = append(all, xy)
			if pt.On {
				front, labels = append(front, xy), append(labels, pt.Label)
			}
		}
		var xs, ys []float64
		for _, xy := range all {
			xs, ys = append(xs, xy.X), append(ys, xy.Y)
		}
		if len(all) == 0 { // an empty panel still needs a range
			p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		}
		setAxis(&p.X, xs, 1)
		setAxis(&p.Y, ys, 1)
		if left > 0 {
			p.Title.Text += fmt.Sprintf(" (%d point(s) without a finite cost and value)", left)
		}
		if len(all) > 0 {
			dots, err := plotter.NewScatter(all)
			if err != nil {
				return fmt.Errorf("pareto plot %s: %w", path, err)
			}
			dots.Color = color.Gray{Y: 150}
			p.Add(dots)
		}
		if len(front) > 0 {
			order := make([]int, len(front))
			for k := range order {
				order[k] = k
			}
			slices.SortStableFunc(order, func(a, b int) int {
				return cmp.Or(cmp.Compare(front[a].X, front[b].X), cmp.Compare(front[a].Y, front[b].Y))
			})
			var line plotter.XYs
			var text []string
			for _, k := range order {
				line, text = append(line, front[k]), append(text, labels[k])
			}
			l, pts, err := plotter.NewLinePoints(line)
			if err != nil {
				return fmt.Errorf("pareto plot %s: %w", path, err)
			}
			l.Color, pts.Color = color.RGBA{R: 200, A: 255}, color.RGBA{R: 200, A: 255}
			p.Add(l, pts)
			// The front's points carry numbers; the legend gives each
			// number's settings (long labels beside the points would
			// squeeze the panel).
			nums := make([]string, len(text))
			for k, t := range text {
				nums[k] = strconv.Itoa(k + 1)
				p.Legend.Add(nums[k] + ": " + t)
			}
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: line, Labels: nums})
			if err != nil {
				return fmt.Errorf("pareto plot %s: %w", path, err)
			}
			for k := range lb.TextStyle {
				lb.TextStyle[k].XAlign, lb.TextStyle[k].YAlign = draw.XRight, draw.YBottom
			}
			lb.Offset = vg.Point{X: -3, Y: 2}
			p.Add(lb)
			p.Legend.TextStyle.Font.Size = vg.Points(7)
		}
		p.Add(plotter.NewGrid())
		plots[i/cols] = append(plots[i/cols], p)
	}
	for len(plots[rows-1]) < min(cols, len(panels)) {
		plots[rows-1] = append(plots[rows-1], plot.New())
	}
	width := vg.Length(min(cols, len(panels))) * 6 * vg.Inch
	height := vg.Length(rows)*4.5*vg.Inch + 0.4*vg.Inch
	img := newCanvas(path, width, height)
	dc := draw.New(img)
	titleStyle := plot.New().Title.TextStyle
	titleStyle.XAlign, titleStyle.YAlign = draw.XCenter, draw.YTop
	dc.FillText(titleStyle, vg.Point{X: width / 2, Y: height - 0.08*vg.Inch}, title)
	top := draw.Crop(dc, 0, 0, 0, -0.4*vg.Inch)
	tiles := draw.Tiles{Rows: rows, Cols: min(cols, len(panels)), PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 6}
	canvases := plot.Align(plots, tiles, top)
	for i := range plots {
		for j := range plots[i] {
			if i*cols+j < len(panels) { // not the blank filler of a last row
				plots[i][j].Draw(canvases[i][j])
			}
		}
	}
	return writeCanvas(path, img)
}
