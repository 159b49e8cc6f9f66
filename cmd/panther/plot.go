package main

import (
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/panther-xbar/panther/report"
	"github.com/panther-xbar/panther/sweep"
)

func init() {
	var x, y, value, kind, by, out string
	cmd := &cobra.Command{
		Use:   "plot RESULTS.jsonl (--x KEY [--y KEY] [--value METRIC] | --kind pareto [--by energy|time|edp]) -o FILE.png|svg",
		Short: "Draw a heat map, line plot or Pareto front from sweep results",
		Long: `plot reads a sweep's merged results (results.jsonl, see panther sweep collect) and
draws one metric over one or two parameters: a heat map with --x as columns and --y
as rows, or a line plot with --x on the axis and one line per value of --y. Cells
shared by several records (other seeds, say) show their mean. Points without a finished
record are drawn as missing (a labelled cell, a break in the line) and named on stderr.

--kind pareto reads codesign results: test accuracy against the energy (--by energy),
time (time) or energy-delay product (edp) per epoch, one panel per model and dataset,
the points on the front joined and labelled with the settings that differ between
points. PNG or SVG by the output's extension. See docs/sweeps.md and docs/codesign.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("give the output file with -o FILE.png or FILE.svg")
			}
			recs, err := sweep.ReadResults(args[0])
			if err != nil {
				return err
			}
			switch {
			case kind == "pareto":
				return plotFronts(cmd, args[0], recs, by, out)
			case kind != "heatmap" && kind != "line":
				return fmt.Errorf("--kind %q: want heatmap, line or pareto", kind)
			case x == "":
				return fmt.Errorf("--kind %s: give the parameter along the x axis with --x KEY", kind)
			}
			t, err := sweep.Grid(recs, x, y, value)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			title := fmt.Sprintf("%s over %s", value, x)
			if y != "" {
				title += " and " + y
			}
			for i, row := range t.Missing {
				for j, missing := range row {
					if missing {
						fmt.Fprintf(cmd.ErrOrStderr(), "plot: no finished record at %s: drawn as missing\n", cellName(x, y, t.Cols[j], t.Rows[i]))
					}
				}
			}
			if kind == "heatmap" {
				p := report.Panel{Title: title, Rows: t.Rows, Cols: t.Cols, Z: t.Z, Missing: t.Missing, Format: "%.3g", XLabel: x, YLabel: y}
				err = report.Heatmaps(out, title, [][]report.Panel{{p}}, 4*vg.Inch)
			} else {
				err = report.Lines(out, title, x, value, lineSeries(t, y), categorical(t.Cols))
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "wrote", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&x, "x", "", "parameter along the x axis (columns)")
	f.StringVar(&y, "y", "", "parameter for rows (heat map) or lines (line plot); empty for one")
	f.StringVar(&value, "value", "test_accuracy", "metric to show")
	f.StringVar(&kind, "kind", "heatmap", "heatmap, line or pareto")
	f.StringVar(&by, "by", "energy", "pareto: the cost per epoch, energy, time or edp")
	f.StringVarP(&out, "out", "o", "", "output file, .png or .svg")
	root.AddCommand(cmd)
}

// plotFronts draws the Pareto fronts of codesign results against the cost
// by names.
func plotFronts(cmd *cobra.Command, path string, recs []*sweep.Record, by, out string) error {
	cost, ok := sweep.ParetoCosts[by]
	if !ok {
		return fmt.Errorf("--by %q: want energy, time or edp", by)
	}
	groups, err := sweep.Pareto(recs, cost)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var panels []report.FrontPanel
	for _, g := range groups {
		pn := report.FrontPanel{Title: g.Name}
		for i, r := range g.Recs {
			pn.Points = append(pn.Points, report.FrontPoint{Cost: g.Cost[i], Value: g.Value[i], On: g.On[i], Label: sweep.Settings(r, recs)})
		}
		panels = append(panels, pn)
	}
	units := map[string]string{"energy": "epoch_joules (J)", "time": "epoch_seconds (s)", "edp": "epoch_edp_j_s (J s)"}
	if err := report.Fronts(out, "test accuracy against "+by+" per epoch: the Pareto front in red", units[by], sweep.ParetoValue, panels); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), "wrote", out)
	return nil
}

// cellName names a cell of the plot by its parameters.
func cellName(x, y, col, row string) string {
	if y == "" {
		return x + "=" + col
	}
	return x + "=" + col + " " + y + "=" + row
}

// categorical returns the x labels when some are not finite numbers (the
// points then sit at integer positions), nil when all are.
func categorical(cols []string) []string {
	for _, c := range cols {
		if v, err := strconv.ParseFloat(c, 64); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return cols
		}
	}
	return nil
}

// lineSeries makes one line per row of the table; a cell without a value
// is a point whose y is NaN, where the line breaks.
func lineSeries(t sweep.Table, y string) []report.Series {
	ticks := categorical(t.Cols)
	var out []report.Series
	for i, r := range t.Rows {
		s := report.Series{Name: r}
		if y != "" {
			s.Name = y + " = " + r
		}
		for j, c := range t.Cols {
			xv := float64(j)
			if ticks == nil {
				xv, _ = strconv.ParseFloat(c, 64)
			}
			s.XYs = append(s.XYs, plotter.XY{X: xv, Y: t.Z[i][j]})
		}
		out = append(out, s)
	}
	return out
}
