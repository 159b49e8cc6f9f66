package trainkind

import (
	"fmt"
	"testing"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/sweep"
	"github.com/panther-xbar/panther/train"
)

// FuzzKeyParsers feeds one text to the parser of every key (but model, whose
// text may name a file: FuzzReadYAML in package model fuzzes those): none
// panics, and a value accepted is canonical, reading back as itself.
func FuzzKeyParsers(f *testing.F) {
	for _, k := range Keys() {
		f.Add(k.Default)
	}
	for _, s := range []string{"8>>2", "4+4", "2,2,4", "NaN", "-Inf", "1e309", "9223372036854775807", "2147483648", "-1", "csv:a,b", "idx:", "TRUE", "pipelined"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, k := range Keys() {
			if k.Name == "model" {
				continue
			}
			v, err := k.Parse(text)
			if err != nil {
				continue
			}
			again, err := k.Parse(fmt.Sprint(v))
			if err != nil || again != v {
				t.Fatalf("%s: %q parsed as %#v, whose text %q parses as %#v (%v)", k.Name, text, v, fmt.Sprint(v), again, err)
			}
		}
	})
}

// TestBiasKey: a point's bias reaches the trainer's configuration, and the
// default is the trainer's.
func TestBiasKey(t *testing.T) {
	for text, want := range map[string]model.BiasPlacement{"": train.DefaultConfig().Bias, "crossbar": model.BiasCrossbar, "auto": model.BiasAuto} {
		p := sweep.Params{}
		for _, k := range Keys() {
			s := k.Default
			if k.Name == "bias" && text != "" {
				s = text
			}
			v, err := k.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			p[k.Name] = v
		}
		c, err := Config(p)
		if err != nil || c.Bias != want {
			t.Errorf("bias %q: %v, %v; want %v", text, c.Bias, err, want)
		}
	}
}
