package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// results writes a results.jsonl of four points a (0, 1) by b (0, 1) with
// the metric m values given (JSON text), fewer for points missing.
func results(t *testing.T, dir string, values ...string) string {
	t.Helper()
	var b strings.Builder
	for i, v := range values {
		fmt.Fprintf(&b, `{"point":%d,"id":"x","kind":"train","status":"done","params":{"a":%d,"b":"%d"},"metrics":{"m":%s},"seconds":0}`+"\n", i, i%2, i/2, v)
	}
	path := filepath.Join(dir, strings.Join(values, "_")+".jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlotExtremes runs plot on the results that hung it (±1e308), made it
// panic (all equal to 1e20, NaN) or fail (a point missing): each draws, and
// a missing point is named.
func TestPlotExtremes(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		values []string
		note   string
	}{
		{[]string{"1e308", "-1e308", "1e308", "-1e308"}, ""},
		{[]string{"1e20", "1e20", "1e20", "1e20"}, ""},
		{[]string{"0.5", "null", "0.7", "0.1"}, ""},
		{[]string{`"+Inf"`, `"-Inf"`, "null", "0"}, ""},
		{[]string{"0.1", "0.2", "0.3"}, "plot: no finished record at a=1 b=1: drawn as missing\n"},
	} {
		in := results(t, dir, c.values...)
		for _, kind := range []string{"heatmap", "line"} {
			out := filepath.Join(dir, kind+".svg")
			msg, err := runPanther(t, "plot", in, "--x", "a", "--y", "b", "--value", "m", "--kind", kind, "-o", out)
			if err != nil {
				t.Errorf("%v %s: %v", c.values, kind, err)
				continue
			}
			if want := c.note + "wrote " + out + "\n"; msg != want {
				t.Errorf("%v %s: said %q, want %q", c.values, kind, msg, want)
			}
		}
	}
}

// plot --kind pareto draws codesign results and refuses train results and
// an unknown cost.
func TestPlotPareto(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i, m := range []string{`"epoch_joules":1,"epoch_seconds":2,"epoch_edp_j_s":2,"test_accuracy":0.5`, `"epoch_joules":2,"epoch_seconds":1,"epoch_edp_j_s":2,"test_accuracy":0.7`} {
		fmt.Fprintf(&b, `{"point":%d,"id":"x","kind":"codesign","status":"done","params":{"model":"mlp","dataset":"mnist","adc":"%d"},"metrics":{%s},"seconds":0}`+"\n", i, 6+2*i, m)
	}
	in := filepath.Join(dir, "results.jsonl")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, by := range []string{"energy", "time", "edp"} {
		out := filepath.Join(dir, by+".png")
		if msg, err := runPanther(t, "plot", in, "--kind", "pareto", "--by", by, "-o", out); err != nil || msg != "wrote "+out+"\n" {
			t.Errorf("--by %s: %q %v", by, msg, err)
		}
	}
	if _, err := runPanther(t, "plot", in, "--kind", "pareto", "--by", "area", "-o", filepath.Join(dir, "x.png")); err == nil || !strings.Contains(err.Error(), `--by "area"`) {
		t.Errorf("--by area: %v", err)
	}
	train := results(t, dir, "0.1", "0.2")
	if _, err := runPanther(t, "plot", train, "--kind", "pareto", "--by", "energy", "-o", filepath.Join(dir, "y.png")); err == nil || !strings.Contains(err.Error(), "codesign points have them") {
		t.Errorf("train results: %v", err)
	}
}
