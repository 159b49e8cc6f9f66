package main

import (
	"fmt"
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
shared by several records (other seeds, say) show their mean. PNG or SVG by the
output's extension.`,
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
			cols, rows, z, err := sweep.Grid(recs, x, y, value)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			title := fmt.Sprintf("%s over %s", value, x)
			if y != "" {
				title += " and " + y
			}
			if kind == "heatmap" {
				p := report.Panel{Title: title, Rows: rows, Cols: cols, Z: z, Format: "%.3g", XLabel: x, YLabel: y}
				err = report.Heatmaps(out, title, [][]report.Panel{{p}}, 4*vg.Inch)
			} else {
				err = report.Lines(out, title, x, value, lineSeries(cols, rows, z, y), categorical(cols))
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

// categorical returns the x labels when some are not numbers (the points
// then sit at integer positions), nil when all are.
func categorical(cols []string) []string {
	for _, c := range cols {
		if _, err := strconv.ParseFloat(c, 64); err != nil {
			return cols
		}
	}
	return nil
}

// lineSeries makes one line per row of the grid.
func lineSeries(cols, rows []string, z [][]float64, y string) []report.Series {
	ticks := categorical(cols)
	var out []report.Series
	for i, r := range rows {
		s := report.Series{Name: r}
		if y != "" {
			s.Name = y + " = " + r
		}
		for j, c := range cols {
			xv := float64(j)
			if ticks == nil {
				xv, _ = strconv.ParseFloat(c, 64)
			}
			s.XYs = append(s.XYs, plotter.XY{X: xv, Y: z[i][j]})
		}
		out = append(out, s)
	}
	return out
}
