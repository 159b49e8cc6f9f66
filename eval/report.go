package eval

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/sim"
)

// WriteTable writes the rows as a readable table grouped by workload and
// batch, then the paper's figures beside ours.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, g := range r.groups("  ") {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, g.title)
		fmt.Fprintln(tw, "design\ttime/step\tenergy/step\tEDP (pJ*ns)\ttime x\tenergy x\tEDP x\ttime/epoch\tenergy/epoch\t")
		for _, row := range g.rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.4g\t%s\t%s\t%s\t%s\t%s\t\n", row.Design, FormatTime(row.TimeNS), FormatEnergy(row.EnergyPJ),
				row.EDPPJNS, ratioText(row.TimeRatio), ratioText(row.EnergyRatio), ratioText(row.EDPRatio),
				FormatTime(row.EpochSeconds*1e9), FormatEnergy(row.EpochJoules*1e12))
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "ratios: baseline / panther (how many times lower PANTHER's time, energy, EDP are)")
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "paper's headline figures beside ours (PANTHER is this many times lower)")
	fmt.Fprintln(tw, "metric\tvs\tscope\tpaper\tours\t")
	for _, c := range r.Paper {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", c.Metric, c.Baseline, c.ScopeText(r.Rows), c.Paper, c.OursText(r.Rows))
	}
	return tw.Flush()
}

func ratioText(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

// csvHeader is the CSV's first line.
var csvHeader = []string{"workload", "batch", "design", "vary", "source", "time_ns", "energy_pj", "edp_pj_ns",
	"time_ratio", "energy_ratio", "edp_ratio", "epoch_examples", "epoch_seconds", "epoch_joules"}

// WriteCSV writes one line per row; energy by class is in the JSON.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, row := range r.Rows {
		rec := []string{row.Workload, strconv.Itoa(row.Batch), row.Design, row.Variant, row.Source,
			g(row.TimeNS), g(row.EnergyPJ), g(row.EDPPJNS), g(row.TimeRatio), g(row.EnergyRatio), g(row.EDPRatio),
			strconv.Itoa(row.EpochExamples), g(row.EpochSeconds), g(row.EpochJoules)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the whole result.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Files are the report's files in dir.
func Files(dir string) []string {
	return []string{filepath.Join(dir, "eval.txt"), filepath.Join(dir, "eval.csv"),
		filepath.Join(dir, "eval.json"), filepath.Join(dir, "eval.html")}
}

// WriteFiles writes the table, CSV, JSON and HTML report into dir, each
// atomically (a reader never sees a half-written file).
func (r *Result) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fs := Files(dir)
	for i, fill := range []func(io.Writer) error{r.WriteTable, r.WriteCSV, r.WriteJSON, r.WriteHTML} {
		if err := atomicfile.Write(fs[i], fill); err != nil {
			return err
		}
	}
	return nil
}

// WriteHTML writes a static report: the table, the energy breakdown by
// operation class, inline SVG bar charts and the paper's figures; it needs
// nothing from the network.
func (r *Result) WriteHTML(w io.Writer) error {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>PANTHER evaluation</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}svg{margin-right:2em}</style>
</head><body>
<h1>PANTHER against its baselines</h1>
`)
	b.WriteString("<ul>")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "<li>%s</li>", e(n))
	}
	if r.GPU != nil {
		fmt.Fprintf(&b, "<li>GPU model: %s (%s); compute efficiency %g, memory efficiency %g, launch overhead %g s.</li>",
			e(r.GPU.Name), e(r.GPU.Source), r.GPU.ComputeEfficiency, r.GPU.MemoryEfficiency, r.GPU.LaunchOverhead)
	}
	b.WriteString("</ul>\n<h2>Paper's headline figures beside ours</h2>\n<table><tr><th class=l>metric</th><th class=l>vs</th><th class=l>scope</th><th>paper</th><th>ours</th></tr>\n")
	for _, c := range r.Paper {
		fmt.Fprintf(&b, "<tr><td class=l>%s</td><td class=l>%s</td><td class=l>%s</td><td>%s</td><td>%s</td></tr>\n",
			e(c.Metric), e(c.Baseline), e(c.ScopeText(r.Rows)), e(c.Paper), e(c.OursText(r.Rows)))
	}
	b.WriteString("</table>\n")
	for _, g := range r.groups(", ") {
		fmt.Fprintf(&b, "<h2>%s</h2>\n", e(g.title))
		b.WriteString(barChart("time per step (us)", g.rows, func(x Row) float64 { return x.TimeNS / 1e3 }, false))
		// The GPU spends hundreds of times PANTHER's energy: on a linear
		// scale every crossbar design would be a sliver.
		b.WriteString(barChart("energy per step (uJ, log scale)", g.rows, func(x Row) float64 { return x.EnergyPJ / 1e6 }, true))
		b.WriteString(classChart(g.rows))
		b.WriteString("\n<table><tr><th class=l>design</th><th>time/step</th><th>energy/step</th><th>EDP (pJ*ns)</th><th>time x</th><th>energy x</th><th>EDP x</th><th>time/epoch</th><th>energy/epoch</th><th class=l>energy by class</th></tr>\n")
		for _, x := range g.rows {
			fmt.Fprintf(&b, "<tr><td class=l>%s</td><td>%s</td><td>%s</td><td>%.4g</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=l>%s</td></tr>\n",
				e(x.Design), e(FormatTime(x.TimeNS)), e(FormatEnergy(x.EnergyPJ)), x.EDPPJNS,
				ratioText(x.TimeRatio), ratioText(x.EnergyRatio), ratioText(x.EDPRatio),
				e(FormatTime(x.EpochSeconds*1e9)), e(FormatEnergy(x.EpochJoules*1e12)), e(classText(x)))
		}
		b.WriteString("</table>\n")
		b.WriteString(operationTable(g.rows))
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func classText(x Row) string {
	var parts []string
	for _, s := range x.ByClass {
		if s.PJ > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", s.Name, s.Percent))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// operationTable gives each simulated design's energy per step by
// operation, each with its ratio to panther's, so that a reader sees which
// operations make a design's energy ratio.
func operationTable(rows []Row) string {
	var ref *Row
	for i := range rows {
		if rows[i].Design == Reference {
			ref = &rows[i]
		}
	}
	var b strings.Builder
	b.WriteString("\n<table><tr><th class=l>energy per step by operation (x panther's)</th>")
	for _, n := range sim.Operations {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(n))
	}
	b.WriteString("<th>total</th></tr>\n")
	cell := func(pj, refPJ float64) string {
		s := FormatEnergy(pj)
		if ref != nil && refPJ > 0 {
			s += fmt.Sprintf(" (%.2fx)", pj/refPJ)
		}
		return html.EscapeString(s)
	}
	for _, x := range rows {
		if len(x.ByOperation) != len(sim.Operations) {
			continue
		}
		fmt.Fprintf(&b, "<tr><td class=l>%s</td>", html.EscapeString(x.Design))
		for i, op := range x.ByOperation {
			var refPJ float64
			if ref != nil && len(ref.ByOperation) == len(sim.Operations) {
				refPJ = ref.ByOperation[i].PJ
			}
			fmt.Fprintf(&b, "<td>%s</td>", cell(op.PJ, refPJ))
		}
		var refTotal float64
		if ref != nil {
			refTotal = ref.EnergyPJ
		}
		fmt.Fprintf(&b, "<td>%s</td></tr>\n", cell(x.EnergyPJ, refTotal))
	}
	b.WriteString("</table>\n")
	return b.String()
}

type group struct {
	title string
	rows  []Row
}

// groups splits the rows into runs of one workload, batch and varied
// value, titled with sep between the parts.
func (r *Result) groups(sep string) []group {
	var gs []group
	for _, row := range r.Rows {
		parts := []string{row.Workload, fmt.Sprintf("batch %d", row.Batch), fmt.Sprintf("epoch of %d examples", row.EpochExamples)}
		if row.Variant != "" {
			parts = append(parts, row.Variant)
		}
		t := strings.Join(parts, sep)
		if len(gs) == 0 || gs[len(gs)-1].title != t {
			gs = append(gs, group{title: t})
		}
		gs[len(gs)-1].rows = append(gs[len(gs)-1].rows, row)
	}
	return gs
}

// Chart geometry: the bars' full width, the design labels' column, a
// bar's height and the room right of the longest bar for its value.
const chartWidth, chartLabel, chartBar, chartValue = 420.0, 130.0, 18.0, 80.0

// barChart draws one horizontal bar per row: on a linear scale, or with
// log on a log10 scale from the decade below the smallest value to the
// decade above the largest, with a tick per decade.
func barChart(title string, rows []Row, v func(Row) float64, log bool) string {
	var top float64
	bottom := math.Inf(1)
	for _, x := range rows {
		top = max(top, v(x))
		if v(x) > 0 {
			bottom = min(bottom, v(x))
		}
	}
	lo, hi := 0.0, 0.0 // decades of the log scale
	if log && top > 0 {
		lo, hi = math.Floor(math.Log10(bottom)), math.Ceil(math.Log10(top))
		if hi == lo {
			hi++
		}
	}
	length := func(val float64) float64 {
		switch {
		case val <= 0 || top <= 0:
			return 0
		case log:
			return chartWidth * (math.Log10(val) - lo) / (hi - lo)
		}
		return chartWidth * val / top
	}
	h := 24 + chartBar*float64(len(rows))
	axis := h
	if log && top > 0 {
		h += 16 // the decade labels
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="11">`, chartLabel+chartWidth+chartValue, h)
	fmt.Fprintf(&b, `<text x="0" y="14" font-weight="bold">%s</text>`, html.EscapeString(title))
	if log && top > 0 {
		for d := lo; d <= hi; d++ {
			x := chartLabel + chartWidth*(d-lo)/(hi-lo)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="20" x2="%.1f" y2="%g" stroke="#ddd"/><text x="%.1f" y="%g" text-anchor="middle">%s</text>`,
				x, x, axis, x, axis+12, chartNumber(math.Pow(10, d)))
		}
	}
	for i, x := range rows {
		y := 22 + chartBar*float64(i)
		bw := length(v(x))
		fill := "#7f8c8d"
		if x.Design == Reference {
			fill = "#c0392b"
		}
		fmt.Fprintf(&b, `<text x="0" y="%g">%s</text><rect x="%g" y="%g" width="%.1f" height="%g" fill="%s"/><text x="%.1f" y="%g">%s</text>`,
			y+12, html.EscapeString(x.Design), chartLabel, y+2, bw, chartBar-4, fill, chartLabel+bw+4, y+12, chartNumber(v(x)))
	}
	b.WriteString("</svg>")
	return b.String()
}

// chartNumber writes a chart's value with four significant digits, whole
// numbers from 10,000 up (no exponents).
func chartNumber(v float64) string {
	if math.Abs(v) >= 1e4 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// classColors colour the operation classes of the energy breakdown, in
// the simulator's class order.
var classColors = []string{"#2e86c1", "#5dade2", "#c0392b", "#e67e22", "#27ae60", "#8e44ad", "#f1c40f", "#7f8c8d", "#bdc3c7"}

// classChart draws each simulated design's energy per step as one bar
// split by operation class (the GPU has no breakdown), with a legend.
func classChart(rows []Row) string {
	var top float64
	var names []string
	var shown []Row
	for _, x := range rows {
		if len(x.ByClass) == 0 {
			continue
		}
		shown = append(shown, x)
		top = max(top, x.EnergyPJ)
		for _, c := range x.ByClass {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	if len(shown) == 0 || top <= 0 {
		return ""
	}
	// The legend wraps to the chart's width: an entry is a swatch and its
	// name (about 6.5 px a character at 11 px), then a gap.
	type entry struct{ x, y float64 }
	legend := make([]entry, len(names))
	x, y := chartLabel, 30+chartBar*float64(len(shown))
	for i, n := range names {
		w := 13 + 6.5*float64(len(n)) + 12
		if x > chartLabel && x+w > chartLabel+chartWidth+chartValue {
			x, y = chartLabel, y+16
		}
		legend[i] = entry{x, y}
		x += w
	}
	h := y + 14
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="11">`, chartLabel+chartWidth+chartValue, h)
	b.WriteString(`<text x="0" y="14" font-weight="bold">energy per step by operation class</text>`)
	for i, x := range shown {
		y := 22 + chartBar*float64(i)
		fmt.Fprintf(&b, `<text x="0" y="%g">%s</text>`, y+12, html.EscapeString(x.Design))
		at := chartLabel
		for _, c := range x.ByClass {
			w := chartWidth * c.PJ / top
			if w <= 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%g" width="%.1f" height="%g" fill="%s"><title>%s %.1f%%</title></rect>`,
				at, y+2, w, chartBar-4, classColors[slices.Index(names, c.Name)%len(classColors)], html.EscapeString(c.Name), c.Percent)
			at += w
		}
	}
	for i, n := range names {
		at := legend[i]
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="10" height="10" fill="%s"/><text x="%g" y="%g">%s</text>`,
			at.x, at.y, classColors[i%len(classColors)], at.x+13, at.y+9, html.EscapeString(n))
	}
	b.WriteString("</svg>")
	return b.String()
}
