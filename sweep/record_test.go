package sweep

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNonFiniteMetricsRecorded: a point whose metrics are NaN or ±Inf (a
// diverging run) is recorded as done, with "NaN", "+Inf" or "-Inf" in its
// record as train writes a loss, so that a second run does not run it
// again; they read back as written, and results.csv has the same text.
func TestNonFiniteMetricsRecorded(t *testing.T) {
	fakeRunner.reset()
	dir := t.TempDir()
	s := parse(t, "kind: fake\ngrid:\n  a: [1]\n  b: [nan]\n")
	if err := RunLocal(context.Background(), s, dir, 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(recordPath(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"status": "done"`, `"sum": "NaN"`, `"loss": "+Inf"`, `"low": "-Inf"`, `"ok": 1`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("record lacks %s:\n%s", want, raw)
		}
	}
	fakeRunner.reset()
	if err := RunLocal(context.Background(), s, dir, 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	if calls := fakeRunner.reset(); len(calls) != 0 {
		t.Errorf("the second run ran %v again", calls)
	}
	recs, err := ReadRecords(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := recs[0].Metrics; !math.IsNaN(m["sum"]) || !math.IsInf(m["loss"], 1) || !math.IsInf(m["low"], -1) || m["ok"] != 1 {
		t.Errorf("metrics read back %v, want sum NaN, loss +Inf, low -Inf, ok 1", m)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, ResultsCSV))
	if want := "point,status,a,b,seed,loss,low,ok,sum,seconds,error\n0,done,1,nan,1,+Inf,-Inf,1,NaN,"; !strings.HasPrefix(string(csv), want) {
		t.Errorf("results.csv:\n%s\nwant it to start %q", csv, want)
	}
	got, err := ReadResults(filepath.Join(dir, ResultsJSON))
	if err != nil || len(got) != 1 || !math.IsNaN(got[0].Metrics["sum"]) || !math.IsInf(got[0].Metrics["low"], -1) {
		t.Errorf("results.jsonl read back %v, %v", got, err)
	}
}

// TestMetricsJSON reads the forms of non-finite metrics, null from records
// of earlier versions among them, and refuses what is not a number.
func TestMetricsJSON(t *testing.T) {
	var m Metrics
	if err := m.UnmarshalJSON([]byte(`{"a": null, "b": "NaN", "c": "+Inf", "d": "-Inf", "f": 2.5}`)); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(m["a"]) || !math.IsNaN(m["b"]) || !math.IsInf(m["c"], 1) || !math.IsInf(m["d"], -1) || m["f"] != 2.5 {
		t.Errorf("read %v", m)
	}
	for _, c := range []struct{ in, want string }{
		{`{"a": "fast"}`, `metric "a": "fast": want a number or "NaN", "+Inf", "-Inf" (or null)`},
		{`{"a": "1.5"}`, `metric "a": "1.5": want a number`},
		{`{"a": "Inf"}`, `metric "a": "Inf": want a number`},
		{`{"a": true}`, `metric "a": true: want a number or "NaN", "+Inf", "-Inf" (or null)`},
		{`{"a": 1e999}`, `metric "a"`},
		{`[1]`, `cannot unmarshal array`},
	} {
		var m Metrics
		if err := m.UnmarshalJSON([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.in, err, c.want)
		}
	}
}
