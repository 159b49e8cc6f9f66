// Command panther is the command line of the panther toolchain: each
// subcommand lives in its own file, reads flags, calls the library and prints.
// No model logic lives here.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// root is the top command; each subcommand file adds itself in init.
var root = &cobra.Command{
	Use:           "panther",
	Short:         "Toolchain for PANTHER, a ReRAM-crossbar training accelerator",
	Long:          "panther models bit-sliced ReRAM crossbars exactly and builds, simulates and evaluates\ntraining programs for the PANTHER accelerator.",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "panther:", err)
		os.Exit(1)
	}
}
