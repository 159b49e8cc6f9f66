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
	var x, y, value, kind, out string
	cmd := &cobra.Command{
		Use:   "plot RESULTS.jsonl --x KEY [--y KEY] [--value METRIC] -o FILE.png|svg",
		Short: "Draw a heat map or line plot from sweep results",
		Long: `plot reads a sweep's merged results (results.jsonl, see panther sweep collect) and
draws one metric over one or two parameters: a heat map with --x as columns and --y
as rows, or a line plot with --x on the axis and one line per value of --y. Cells
shared by several records (other seeds, say) show their mean. Points without a finished
record are drawn as missing (a labelled cell, a break in the line) and named on stderr.
PNG or SVG by the output's extension. See docs/sweeps.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("give the output file with -o FILE.png or FILE.svg")
			}
			if kind != "heatmap" && kind != "line" {
				return fmt.Errorf("--kind %q: want heatmap or line", kind)
			}
			recs, err := sweep.ReadResults(args[0])
			if err != nil {
				return err
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
	f.StringVar(&kind, "kind", "heatmap", "heatmap or line")
	f.StringVarP(&out, "out", "o", "", "output file, .png or .svg")
	cmd.MarkFlagRequired("x")
	root.AddCommand(cmd)
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
