package main

import (
	"strings"
	"testing"
)

// The parallelism flags refuse what cannot be a number of jobs or a size,
// naming the flag.
func TestEvalParallelFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--jobs", "-1"}, "-1 jobs: want 0 (one per processor) or more"},
		{[]string{"--max-memory", "-0.5"}, "--max-memory -0.5: want a size in GiB, or 0 for no bound"},
		{[]string{"--max-memory", "NaN"}, "--max-memory NaN: want a size in GiB"},
	} {
		args := append([]string{"eval", "--workloads", "vgg-f", "--batches", "1", "--out", t.TempDir()}, c.args...)
		if _, err := runPanther(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.args, err, c.want)
		}
	}
}
