package report

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var nan, inf = math.NaN(), math.Inf(1)

// drawHeatmap draws one panel as SVG and returns the file's text.
func drawHeatmap(t *testing.T, p Panel) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.svg")
	if err := Heatmaps(path, "t", [][]Panel{{p}}, 3*vg.Inch); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHeatmapExtremes draws the values that made the heat map panic:
// ±1e308 (palette: NaN), all equal beyond the reach of +1 (color map max ==
// min), NaN and ±Inf; missing cells are labelled so.
func TestHeatmapExtremes(t *testing.T) {
	for _, c := range []struct {
		name    string
		z       [][]float64
		missing [][]bool
		want    []string
	}{
		{"huge range", [][]float64{{1e308, -1e308}, {1e308, -1e308}}, nil, []string{"blue -1e+308 to red 1e+308"}},
		{"all equal", [][]float64{{1e20, 1e20}, {1e20, 1e20}}, nil, []string{"(every finite value 1e+20)"}},
		{"not numbers", [][]float64{{0.5, nan}, {-inf, inf}}, [][]bool{{false, false}, {false, false}}, []string{">NaN<", ">+Inf<", ">-Inf<", "(every finite value 0.5)"}},
		{"all NaN", [][]float64{{nan}}, [][]bool{{false}}, []string{"(no finite values)", ">NaN<"}},
		{"missing", [][]float64{{0.1, nan}, {0.3, 0.2}}, [][]bool{{false, true}, {false, false}}, []string{">missing<", "blue 0.1 to red 0.3"}},
	} {
		svg := drawHeatmap(t, Panel{Rows: []string{"a", "b"}[:len(c.z)], Cols: []string{"x", "y"}[:len(c.z[0])], Z: c.z, Missing: c.missing, Format: "%.3g"})
		for _, w := range c.want {
			if !strings.Contains(svg, w) {
				t.Errorf("%s: the figure lacks %q", c.name, w)
			}
		}
	}
}

// TestColourScale: cells map onto the colour scale without overflow; NaN
// has no colour; ±Inf take the ends; one value takes the middle.
func TestColourScale(t *testing.T) {
	g := grid{z: [][]float64{{-1e308, 0, 1e308, nan, inf, -inf}}, lo: -1e308, hi: 1e308}
	want := []float64{0, 0.5, 1, nan, 1, 0}
	for c, w := range want {
		if got := g.Z(c, 0); got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
			t.Errorf("cell %d (%g): %g, want %g", c, g.z[0][c], got, w)
		}
	}
	if got := (grid{z: [][]float64{{1e20}}, lo: 1e20, hi: 1e20}).Z(0, 0); got != 0.5 {
		t.Errorf("one value: %g, want 0.5", got)
	}
}

// drawLines draws series as SVG and returns the file's text.
func drawLines(t *testing.T, series []Series, ticks []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "l.svg")
	if err := Lines(path, "t", "a", "m", series, ticks); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLinesExtremes draws what hung or failed: values spanning ±1e308 (the
// ticks were computed forever), values all equal to 1e20 (illegal range),
// and a missing point (plotter: NaN data point), which is left out and named
// in the legend.
func TestLinesExtremes(t *testing.T) {
	huge := drawLines(t, []Series{{Name: "b = 0", XYs: plotter.XYs{{X: 0, Y: 1e308}, {X: 1, Y: -1e308}}}}, nil)
	if !strings.Contains(huge, ">1e+308<") || !strings.Contains(huge, ">-1e+308<") {
		t.Error("±1e308: the y axis does not reach the values")
	}
	equal := drawLines(t, []Series{{Name: "b = 0", XYs: plotter.XYs{{X: 0, Y: 1e20}, {X: 1, Y: 1e20}}}}, nil)
	if !strings.Contains(equal, ">1e+20<") {
		t.Error("all 1e20: no tick at the value")
	}
	gap := drawLines(t, []Series{
		{Name: "b = 0", XYs: plotter.XYs{{X: 0, Y: 0.1}, {X: 1, Y: 0.2}}},
		{Name: "b = 1", XYs: plotter.XYs{{X: 0, Y: 0.3}, {X: 1, Y: nan}}},
	}, []string{"inplace", "accumulate"})
	if !strings.Contains(gap, "b = 1 (no value at a = accumulate)") || strings.Contains(gap, "b = 0 (") {
		t.Error("the legend does not name the missing point alone")
	}
	none := drawLines(t, []Series{{Name: "b = 0", XYs: plotter.XYs{{X: 4, Y: nan}, {X: 8, Y: inf}}}}, nil)
	if !strings.Contains(none, "b = 0 (no value at a = 4, 8)") {
		t.Error("a series without values is not named as such")
	}
}

// Fronts labels the points on the front only, draws every panel, and counts
// the points it cannot place.
func TestFronts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.svg")
	panels := []FrontPanel{
		{Title: "mlp", Points: []FrontPoint{{Cost: 1, Value: 0.5, On: true, Label: "cheap"}, {Cost: 2, Value: 0.4, Label: "worse"},
			{Cost: 3, Value: 0.9, On: true, Label: "best"}, {Cost: nan, Value: 0.1}}},
		{Title: "lenet", Points: []FrontPoint{{Cost: 1e20, Value: 1, On: true, Label: "only"}}},
		{Title: "cnn", Points: []FrontPoint{{Cost: inf, Value: 1}}},
	}
	if err := Fronts(path, "t", "J", "acc", panels); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	for _, want := range []string{"cheap", "best", "only", "mlp (1 point(s) without", "lenet", "cnn (1 point(s) without"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the plot lacks %q", want)
		}
	}
	if strings.Contains(svg, "worse") {
		t.Error("a point off the front is labelled")
	}
	if err := Fronts(path, "t", "J", "acc", nil); err == nil {
		t.Error("no panels drew")
	}
}
