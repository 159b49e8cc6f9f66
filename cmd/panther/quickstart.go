package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/internal/quickstart"
	"github.com/spf13/cobra"
)

func init() {
	o := quickstart.DefaultOptions()
	var jsonPath string
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run MVM, MTVM, OPA and CRS on one crossbar matrix and check them against exact arithmetic",
		Long: `quickstart programs a random matrix into PANTHER's crossbar sets (the 2-bit read set
and the inplace set with headroom), runs MVM and MTVM through an ideal, an 8-bit and
a 9-bit ADC, then an OPA and a CRS, and compares every result with the exact integer
arithmetic it stands for. It prints the errors, ADC clip rates, saturation counts and
the time of each kernel.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := quickstart.Run(o)
			if err != nil {
				return err
			}
			printQuickstart(cmd.OutOrStdout(), res)
			if jsonPath == "" {
				return nil
			}
			return atomicfile.Write(jsonPath, func(w io.Writer) error {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			})
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the random matrix and inputs")
	f.IntVar(&o.Size, "size", o.Size, "rows and columns of the matrix (1..128)")
	f.Float64Var(&o.Eta, "eta", o.Eta, "OPA learning-rate factor, a power of two (negative for descent)")
	f.IntVar(&o.Repeats, "repeats", o.Repeats, "how often each kernel is timed")
	f.StringVar(&jsonPath, "json", "", "also write the results as JSON to this file")
	root.AddCommand(cmd)
}

func printQuickstart(out io.Writer, r *quickstart.Result) {
	o := r.Options
	fmt.Fprintf(out, "panther quickstart: one %d x %d matrix on 128 x 128 crossbars, seed %d\n\n", o.Size, o.Size, o.Seed)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tset\tadc\twrong outputs\tmax error (LSB)\tADC clips\ttime (us)\t")
	for _, p := range r.Products {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d / %d\t%d\t%.2f%%\t%.1f\t\n",
			p.Operation, p.Set, p.ADC, p.WrongOut, p.Outputs, p.MaxErrorLSB, 100*p.ClipRate, p.Microsec)
	}
	tw.Flush()
	u := r.Update
	sat := make([]string, len(u.SliceSat))
	for i, v := range u.SliceSat {
		sat[i] = fmt.Sprint(v)
	}
	fmt.Fprintf(out, "\nOPA (eta %g, round %s) then CRS on the inplace set %s:\n", u.Eta, u.Rounding, u.Plan)
	fmt.Fprintf(out, "  weights differing from exact W + eta x d^T: %d / %d\n", u.WrongWeights, u.Weights)
	fmt.Fprintf(out, "  opa_pulses %d, vanished %d, slice_sat (per slice, LSB first) %s\n",
		u.Pulses, u.Vanished, strings.Join(sat, " "))
	fmt.Fprintf(out, "  bitstream OPA gives the same weights as chunked: %v\n", u.BitstreamSame)
	fmt.Fprintf(out, "  time: OPA %.1f us, CRS %.1f us\n\n", u.OPAMicrosec, u.CRSMicrosec)
	for _, n := range r.Notes {
		fmt.Fprintln(out, "note:", n)
	}
}
