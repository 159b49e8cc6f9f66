package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
)

var inspectJSON bool

var inspectCmd = &cobra.Command{
	Use:   "inspect PROG [--json]",
	Short: "Summarise a program container: tiles, cores, instruction counts, weights, metadata",
	Args:  cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		p, err := program.ReadFile(args[0])
		if err != nil {
			return err
		}
		s := p.Summarize()
		if inspectJSON {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(s)
		}
		return printSummary(cmd.OutOrStdout(), args[0], s)
	},
}

func printSummary(w io.Writer, path string, s program.Summary) error {
	var b strings.Builder
	a := s.Arch
	fmt.Fprintf(&b, "%s: model %q, format version %d\n", path, s.Model, s.FormatVersion)
	for _, k := range slices.Sorted(maps.Keys(s.Options)) {
		fmt.Fprintf(&b, "  option %s = %s\n", k, s.Options[k])
	}
	fmt.Fprintf(&b, "arch: %d node(s) x %d tiles, %d cores/tile, %d matrix units/core, %dx%d crossbars, %d data words, %d shared words\n",
		a.Nodes, a.TilesPerNode, a.CoresPerTile, a.MatrixUnits, a.CrossbarSize, a.CrossbarSize, a.RegisterWords, a.SharedWords)
	cores := 0
	for _, t := range s.Tiles {
		cores += len(t.Cores)
	}
	fmt.Fprintf(&b, "%d tiles, %d cores, %d instructions (%s)\n", len(s.Tiles), cores, s.Insts.Total(), unitCounts(s.Insts))
	for _, t := range s.Tiles {
		fmt.Fprintf(&b, "tile %d (node %d): %d instructions (%s), %d data words in %d segments\n",
			t.Tile, t.Node, t.Insts.Total(), unitCounts(t.Insts), t.DataWords, t.Segments)
		for _, c := range t.Cores {
			fmt.Fprintf(&b, "  core %d: %d instructions (%s)\n", c.Core, c.Insts.Total(), unitCounts(c.Insts))
		}
	}
	fmt.Fprintf(&b, "%d weight images\n", len(s.Weights))
	for _, wt := range s.Weights {
		fmt.Fprintf(&b, "  tile %d core %d unit %d: %dx%d, eta %g\n", wt.Tile, wt.Core, wt.Unit, wt.Rows, wt.Cols, wt.Eta)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// unitCounts writes counts in the order of isa.Units, leaving out zeros.
func unitCounts(c program.UnitCounts) string {
	var parts []string
	for _, u := range isa.Units() {
		if n := c[u.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", u, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func init() {
	inspectCmd.Flags().BoolVar(&inspectJSON, "json", false, "print the summary as JSON")
	root.AddCommand(inspectCmd)
}
