package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/model"
)

// Flags that several commands define alike.

// archNameFlag defines --arch, which compile, infer and run share.
func archNameFlag(f *pflag.FlagSet, name *string) {
	f.StringVar(name, "arch", "panther", "architecture: a preset ("+strings.Join(arch.Presets(), ", ")+") or a YAML file")
}

// biasFlag defines --bias, which train, study and infer share
// (docs/training.md, "Biases"); its default is *b.
func biasFlag(f *pflag.FlagSet, b *model.BiasPlacement) {
	f.TextVar(b, "bias", *b, "where biases lie: auto (in the vector unit where a layer's inputs fill their last crossbar row tile) or crossbar (every bias a crossbar row)")
}
