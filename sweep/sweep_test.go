package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fake is a kind of point for the engine's tests: metric sum = a + seed;
// b = fail fails; b = nan gives metrics that are not numbers, as a diverging
// run does.
type fake struct {
	mu    sync.Mutex
	calls map[int64]int // by a
	// blockA makes the point with a = blockA call onBlock, then wait for
	// its context to end.
	blockA  int64
	onBlock func()
}

func (f *fake) block(a int64, then func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blockA, f.onBlock = a, then
}

var fakeRunner = &fake{calls: map[int64]int{}}

func init() { Register("fake", fakeRunner) }

func (f *fake) Keys() []Key {
	return []Key{
		{Name: "a", Default: "0", Parse: func(s string) (any, error) { return strconv.ParseInt(s, 10, 64) }},
		{Name: "b", Default: "x", Parse: func(s string) (any, error) {
			switch s {
			case "x", "y", "fail", "nan":
				return s, nil
			}
			return nil, fmt.Errorf("unknown b %q: want x, y, fail or nan", s)
		}},
		{Name: "seed", Default: "1", Parse: func(s string) (any, error) { return strconv.ParseInt(s, 10, 64) }},
	}
}

func (f *fake) Check(p Params) error {
	if p["a"].(int64) < 0 {
		return errors.New("a must not be negative")
	}
	return nil
}

func (f *fake) Run(ctx context.Context, p Params) (Metrics, error) {
	f.mu.Lock()
	f.calls[p["a"].(int64)]++
	blocks, then := f.blockA == p["a"], f.onBlock
	f.mu.Unlock()
	if blocks {
		then()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	switch p["b"] {
	case "fail":
		return nil, errors.New("this point fails")
	case "nan":
		return Metrics{"sum": math.NaN(), "loss": math.Inf(1), "low": math.Inf(-1), "ok": 1}, nil
	}
	return Metrics{"sum": float64(p["a"].(int64) + p["seed"].(int64))}, nil
}

func (f *fake) reset() map[int64]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.calls
	f.calls = map[int64]int{}
	return old
}

func parse(t *testing.T, src string) *Sweep {
	t.Helper()
	s, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGridOrder(t *testing.T) {
	s := parse(t, "kind: fake\nbase: {seed: 7}\ngrid:\n  b: [x, y]\n  a: [1, 2, 3]\n")
	var got []string
	for _, p := range s.Points {
		got = append(got, fmt.Sprintf("%v%v%v", p["b"], p["a"], p["seed"]))
	}
	want := "x17 x27 x37 y17 y27 y37"
	if strings.Join(got, " ") != want {
		t.Errorf("points %v, want %s (last key fastest)", got, want)
	}
	if strings.Join(s.Varied, ",") != "b,a" {
		t.Errorf("varied %v", s.Varied)
	}
	if len(s.IDs) != 6 || s.IDs[0] == s.IDs[1] {
		t.Errorf("ids %v", s.IDs)
	}
	l := parse(t, "kind: fake\nlist:\n  - {a: 5}\n  - {a: 1, b: y}\n")
	if len(l.Points) != 2 || l.Points[0]["a"] != int64(5) || l.Points[0]["b"] != "x" || l.Points[1]["b"] != "y" {
		t.Errorf("list points %v", l.Points)
	}
	// The same file gives the same ids: they hold every parameter, seed included.
	if again := parse(t, "kind: fake\nbase: {seed: 7}\ngrid:\n  b: [x, y]\n  a: [1, 2, 3]\n"); again.IDs[4] != s.IDs[4] {
		t.Error("ids differ between two reads of one file")
	}
	if other := parse(t, "kind: fake\nbase: {seed: 8}\ngrid:\n  b: [x, y]\n  a: [1, 2, 3]\n"); other.IDs[4] == s.IDs[4] {
		t.Error("another seed gives the same id")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"kind: fake\ngrid:\n  a: [1]\n  zz: [1]\n", "test.yaml:4:3: unknown key \"zz\": want one of a, b, seed"},
		{"kind: fake\ngrid: {}\n", "test.yaml:2:7: empty grid"},
		{"kind: fake\ngrid:\n  a: []\n", "test.yaml:3:6: grid a: empty list"},
		{"kind: fake\ngrid:\n  a: [1, two]\n", "test.yaml:3:10: a: strconv.ParseInt: parsing \"two\""},
		{"kind: fake\ngrid:\n  b: [x, q]\n", "test.yaml:3:10: b: unknown b \"q\""},
		{"kind: fake\ngrid:\n  a: 3\n", "test.yaml:3:6: grid a: want a list"},
		{"kind: fake\nbase: {a: [1]}\ngrid: {b: [x]}\n", "test.yaml:2:11: a: want a single value"},
		{"kind: nope\ngrid: {a: [1]}\n", "test.yaml:1:7: unknown kind \"nope\""},
		{"grid: {a: [1]}\n", "no kind"},
		{"kind: fake\n", "test.yaml:1:1: no points"},
		{"kind: fake\ngrid: {a: [1]}\nlist: [{a: 1}]\n", "test.yaml:3:1: give either a grid or a list"},
		{"kind: fake\nbase: {a: 1}\ngrid: {a: [1]}\n", "test.yaml:3:8: a is set in base too"},
		{"kind: fake\ngrid: {a: [1], a: [2]}\n", "test.yaml:2:16: grid: key a given twice"},
		{"kind: fake\nextra: 1\ngrid: {a: [1]}\n", "test.yaml:2:1: unknown key \"extra\": want one of kind, base, grid, list, slurm"},
		{"kind: fake\ngrid: {a: [1, -2]}\n", "test.yaml:2:1: point 1 (a=-2): a must not be negative"},
		{"kind: fake\nlist:\n  - {a: 1}\n  - {a: -1}\n", "test.yaml:4:5: point 1 (a=-1): a must not be negative"},
		{"kind: fake\ngrid: {a: [1]}\nslurm: {cpu: 2}\n", "test.yaml:3:9: unknown slurm key \"cpu\""},
		{"kind: fake\ngrid: {a: [1]}\nslurm: {cpus: many}\n", "test.yaml:3:15: slurm cpus: want a whole number"},
		{"kind: fake\ngrid: {a: [1]}\nslurm: {options: [qos]}\n", "test.yaml:3:19: slurm options: want an sbatch option"},
		{"kind: [fake\n", "test.yaml: yaml: line 1"},
		{"", "test.yaml:1:1: empty sweep file"},
	} {
		_, err := Parse("test.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.src, err, c.want)
		}
	}
	// Every error is reported, not just the first.
	_, err := Parse("test.yaml", []byte("kind: fake\ngrid:\n  zz: [1]\n  b: [q]\n"))
	if err == nil || !strings.Contains(err.Error(), "3:3") || !strings.Contains(err.Error(), "4:7") {
		t.Errorf("two errors: got %v", err)
	}
}

// TestDuplicatePointsRefused: a point given twice would run twice; the
// file is refused at the repeat's line, naming the first.
func TestDuplicatePointsRefused(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"kind: fake\ngrid:\n  a: [1, 2, 1]\n", "test.yaml:3:13: grid a: 1 is the value at 3:7 again: give each value once"},
		{"kind: fake\ngrid:\n  a: [1, 01]\n", "test.yaml:3:10: grid a: 01 is the value at 3:7 again"},
		{"kind: fake\nlist:\n  - {a: 1}\n  - {a: 2}\n  - {b: x, a: 1}\n", "test.yaml:5:5: list point 2 is the point at 3:5 again: give each point once (vary the seed to repeat a run)"},
		{"kind: fake\nlist:\n  - {}\n  - {b: x}\n", "test.yaml:4:5: list point 1 is the point at 3:5 again"},
	} {
		_, err := Parse("test.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.src, err, c.want)
		}
	}
}

func TestSlurmSection(t *testing.T) {
	s := parse(t, "kind: fake\ngrid: {a: [1]}\nslurm: {time: '1:00:00', cpus: 2, mem: 4G, partition: gpu, account: lab, chunk: 3, options: [--qos=short]}\n")
	want := Slurm{Time: "1:00:00", CPUs: 2, Mem: "4G", Partition: "gpu", Account: "lab", Chunk: 3, Options: []string{"--qos=short"}}
	if fmt.Sprint(s.Slurm) != fmt.Sprint(want) {
		t.Errorf("slurm %+v, want %+v", s.Slurm, want)
	}
}

func FuzzReadSweep(f *testing.F) {
	f.Add([]byte("kind: fake\nbase: {seed: 7}\ngrid:\n  b: [x, y]\n  a: [1, 2, 3]\n"))
	f.Add([]byte("kind: fake\nlist:\n  - {a: 5}\n  - {a: 1, b: y}\nslurm: {cpus: 2, options: [--x]}\n"))
	f.Add([]byte("kind: fake\ngrid: {a: [1], a: [2]}\n"))
	f.Add([]byte("kind: &k fake\ngrid: *k\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("fuzz.yaml", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error without the file name: %v", err)
			}
			return
		}
		if len(s.Points) == 0 || len(s.IDs) != len(s.Points) {
			t.Errorf("accepted with %d points, %d ids", len(s.Points), len(s.IDs))
		}
	})
}

func TestRecordsAndRerun(t *testing.T) {
	fakeRunner.reset()
	dir := t.TempDir()
	s := parse(t, "kind: fake\ngrid:\n  a: [1, 2, 3]\n  b: [x, fail]\n")
	err := RunLocal(context.Background(), s, dir, 2, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "3 of 6 points failed") {
		t.Fatalf("error %v, want 3 failed", err)
	}
	recs, err := ReadRecords(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		wantStatus := Done
		if i%2 == 1 {
			wantStatus = Failed
		}
		if r == nil || r.Status != wantStatus || r.Point != i {
			t.Fatalf("record %d: %+v, want status %s", i, r, wantStatus)
		}
		if r.Status == Done && r.Metrics["sum"] != float64(i/2+2) {
			t.Errorf("record %d: sum %v", i, r.Metrics["sum"])
		}
	}
	// A second run skips the done points and retries the failed ones.
	fakeRunner.reset()
	RunLocal(context.Background(), s, dir, 2, nil, nil)
	if calls := fakeRunner.reset(); fmt.Sprint(calls) != "map[1:1 2:1 3:1]" {
		t.Errorf("second run calls %v: want each failed point once", calls)
	}
	lines, _ := os.ReadFile(filepath.Join(dir, ResultsJSON))
	if n := strings.Count(string(lines), "\n"); n != 6 {
		t.Errorf("results.jsonl has %d lines, want 6", n)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, ResultsCSV))
	if !strings.HasPrefix(string(csv), "point,status,a,b,seed,sum,seconds,error\n0,done,1,x,1,2,") {
		t.Errorf("results.csv:\n%s", csv)
	}
	// Another sweep file in the same folder is refused.
	other := parse(t, "kind: fake\ngrid:\n  a: [9]\n")
	if err := RunLocal(context.Background(), other, dir, 1, nil, nil); err == nil || !strings.Contains(err.Error(), "another sweep file") {
		t.Errorf("other sweep in the folder: %v", err)
	}
}

// TestResumeAfterKill stops a run while one point is in progress: that
// point leaves no record, and the next run runs it and the points never
// started, once each, without touching finished records.
func TestResumeAfterKill(t *testing.T) {
	fakeRunner.reset()
	dir := t.TempDir()
	s := parse(t, "kind: fake\nlist:\n  - {a: 1}\n  - {a: 2}\n  - {a: 3}\n  - {a: 4}\n")
	ctx, cancel := context.WithCancel(context.Background())
	fakeRunner.block(3, cancel) // point 2 is running when the run is killed
	if err := RunLocal(ctx, s, dir, 1, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want canceled", err)
	}
	fakeRunner.block(0, nil)
	recs, _ := ReadRecords(s, dir)
	if recs[0] == nil || recs[1] == nil || recs[2] != nil || recs[3] != nil {
		t.Fatalf("after the kill: records %v, want points 0 and 1 only", recs)
	}
	before, _ := os.ReadFile(recordPath(dir, 0))
	fakeRunner.reset()
	if err := RunLocal(context.Background(), s, dir, 2, nil, nil); err != nil {
		t.Fatal(err)
	}
	if calls := fakeRunner.reset(); fmt.Sprint(calls) != "map[3:1 4:1]" {
		t.Errorf("resume ran %v, want points a=3 and a=4 once each", calls)
	}
	after, _ := os.ReadFile(recordPath(dir, 0))
	if string(after) != string(before) {
		t.Error("a finished record was rewritten")
	}
	files, _ := filepath.Glob(filepath.Join(dir, PointsDir, "*"))
	lines, _ := os.ReadFile(filepath.Join(dir, ResultsJSON))
	if len(files) != 4 || strings.Count(string(lines), "\n") != 4 {
		t.Errorf("%d files in points/ (%v) and %d merged records, want 4 and 4", len(files), files, strings.Count(string(lines), "\n"))
	}
	// RunPoint, as a Slurm task runs it, leaves a done point alone.
	if r, err := RunPoint(context.Background(), s, dir, 0); err != nil || r.Status != Done {
		t.Fatal(r, err)
	}
	if calls := fakeRunner.reset(); len(calls) != 0 {
		t.Errorf("RunPoint re-ran a done point: %v", calls)
	}
	if _, err := RunPoint(context.Background(), s, dir, 4); err == nil {
		t.Error("RunPoint out of range: no error")
	}
}

func TestGridAveragesSharedCells(t *testing.T) {
	recs := []*Record{
		{Status: Done, Params: Params{"variant": "inplace", "crs_interval": 1, "seed": 1}, Metrics: Metrics{"test_accuracy": 0.8}},
		{Status: Done, Params: Params{"variant": "inplace", "crs_interval": 1, "seed": 2}, Metrics: Metrics{"test_accuracy": 0.6}},
		{Status: Done, Params: Params{"variant": "inplace", "crs_interval": 4, "seed": 1}, Metrics: Metrics{"test_accuracy": 0.5}},
		{Status: Done, Params: Params{"variant": "accumulate", "crs_interval": 1, "seed": 1}, Metrics: Metrics{"test_accuracy": 0.9}},
		{Status: "failed", Params: Params{"variant": "accumulate", "crs_interval": 4, "seed": 1}},
	}
	tab, err := Grid(recs, "crs_interval", "variant", "test_accuracy")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Cols, []string{"1", "4"}) || !slices.Equal(tab.Rows, []string{"inplace", "accumulate"}) {
		t.Fatalf("cols %v rows %v", tab.Cols, tab.Rows)
	}
	z := tab.Z
	if math.Abs(z[0][0]-0.7) > 1e-12 || z[0][1] != 0.5 || z[1][0] != 0.9 || !math.IsNaN(z[1][1]) {
		t.Fatalf("grid %v; want [[0.7 0.5] [0.9 NaN]]", z)
	}
	if fmt.Sprint(tab.Missing) != "[[false false] [false true]]" {
		t.Errorf("missing %v: want only the failed point's cell", tab.Missing)
	}
	if _, err := Grid(recs, "cells", "variant", "test_accuracy"); err == nil || !strings.Contains(err.Error(), "crs_interval, seed, variant") {
		t.Fatalf("unknown parameter: %v", err)
	}
}
