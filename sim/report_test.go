package sim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./sim -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended, rerun with -update\n got:\n%s", name, got)
	}
}

// networkProgram is testdata/network.s on two nodes with deterministic data.
func networkProgram(t testing.TB) (*arch.Arch, *program.Program) {
	a := archFile(t, "two-nodes.yaml")
	p := assemble(t, a, "network.s")
	addData(t, p, 0, 0, codes(rng.New(1), 128, 1<<15))
	return a, p
}

func reportBytes(t *testing.T, r *Report) (table, js []byte) {
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), append(j, '\n')
}

func TestReportGolden(t *testing.T) {
	a, p := networkProgram(t)
	_, r := simulate(t, a, p, Options{Seed: 1})
	table, js := reportBytes(t, r)
	golden(t, "network.report.golden", table)
	golden(t, "network.report.json.golden", js)
}

// The same program and seed give the same report at any GOMAXPROCS.
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first []byte
	for _, procs := range []int{1, 2, 1, 2} {
		runtime.GOMAXPROCS(procs)
		var all []byte
		for _, build := range []func(testing.TB) (*arch.Arch, *program.Program){networkProgram, mlpProgram} {
			a, p := build(t)
			_, r := simulate(t, a, p, Options{Seed: 3})
			_, js := reportBytes(t, r)
			all = append(all, js...)
		}
		if first == nil {
			first = all
		} else if !bytes.Equal(first, all) {
			t.Fatalf("GOMAXPROCS=%d changed the report", procs)
		}
	}
}

// --trace writes one line per executed instruction: cycle, unit, pc,
// cycles taken and the instruction.
func TestTrace(t *testing.T) {
	a := preset(t, "panther")
	var b bytes.Buffer
	simulate(t, a, assemble(t, a, "timing.s"), Options{Trace: &b})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"2\ttile 0 control unit\tpc 0\t1 cycles\thalt",
		"2\ttile 0 core 0\tpc 0\t1 cycles\tset r0, 0, 1",
		"3\ttile 0 core 0\tpc 1\t1 cycles\tset r1, 3, 1",
	}
	if len(lines) != 15 || !slices.Equal(lines[:3], want) {
		t.Errorf("trace of %d lines starts\n%s", len(lines), strings.Join(lines[:min(3, len(lines))], "\n"))
	}
	if last := lines[len(lines)-1]; last != "28\ttile 0 core 0\tpc 8\t1 cycles\thlt" {
		t.Errorf("last line %q", last)
	}
}
