package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/arch"
)

var archCmd = &cobra.Command{
	Use:   "arch",
	Short: "List and print architecture presets (structure, crossbars, time, energy, area)",
}

var archListCmd = &cobra.Command{
	Use:   "list",
	Short: "List the embedded architecture presets",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tNODE AREA (mm^2)\tDESCRIPTION")
		for _, name := range arch.Presets() {
			a, err := arch.Preset(name)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\t%.2f\t%s\n", name, a.Area().NodeMM2, a.Description)
		}
		return w.Flush()
	},
}

var archShowJSON bool

var archShowCmd = &cobra.Command{
	Use:   "show NAME|FILE [--json]",
	Short: "Print a preset or an architecture file, resolved, with its derived areas",
	Long: "show prints the architecture as YAML that --arch accepts back (the weight sets, whether it\n" +
		"has a CRS and the derived areas follow as comments), or as JSON with the area breakdown under\n" +
		"\"derived\". docs/constants.md gives every figure's source.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		a, err := arch.Load(args[0])
		if err != nil {
			return err
		}
		if !archShowJSON {
			return a.WriteYAML(cmd.OutOrStdout())
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*arch.Arch
			Derived arch.Area `json:"derived"`
		}{a, a.Area()})
	},
}

func init() {
	archShowCmd.Flags().BoolVar(&archShowJSON, "json", false, "print JSON instead of YAML")
	archCmd.AddCommand(archListCmd, archShowCmd)
	archCmd.Long = "arch prints the architecture data the simulator uses. Presets: " + strings.Join(arch.Presets(), ", ") + "."
	root.AddCommand(archCmd)
}
