package sweep

import (
	"bytes"
	"encoding/csv"
	"math"
	"testing"

	"pgregory.net/rapid"
)

// No point on the front is dominated by any point; every point off it (with
// finite figures) is dominated by one on it.
func TestFrontProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 30).Draw(t, "n")
		// Few distinct values, so that ties are common.
		small := rapid.Map(rapid.IntRange(0, 5), func(i int) float64 { return float64(i) })
		cost := rapid.SliceOfN(small, n, n).Draw(t, "cost")
		value := rapid.SliceOfN(small, n, n).Draw(t, "value")
		if n > 0 && rapid.Bool().Draw(t, "nan") {
			value[rapid.IntRange(0, n-1).Draw(t, "at")] = math.NaN()
		}
		on := Front(cost, value)
		for i := range n {
			finite := !math.IsNaN(value[i])
			if !finite {
				if on[i] {
					t.Fatalf("point %d with a NaN value is on the front", i)
				}
				continue
			}
			dominatedByFront := false
			for j := range n {
				if j == i || math.IsNaN(value[j]) || !Dominates(cost[j], value[j], cost[i], value[i]) {
					continue
				}
				if on[i] {
					t.Fatalf("point %d (%g, %g) is on the front but %d (%g, %g) dominates it", i, cost[i], value[i], j, cost[j], value[j])
				}
				dominatedByFront = dominatedByFront || on[j]
			}
			if !on[i] && !dominatedByFront {
				t.Fatalf("point %d (%g, %g) is off the front and no point on it dominates it", i, cost[i], value[i])
			}
		}
	})
}

// A small case by hand: equal points are both on the front.
func TestFrontExample(t *testing.T) {
	cost := []float64{1, 2, 2, 3, 1}
	value := []float64{0.5, 0.9, 0.8, 0.9, 0.5}
	want := []bool{true, true, false, false, true}
	got := Front(cost, value)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("front %v, want %v", got, want)
		}
	}
}

// collect's CSV has a pareto column for records with an energy per epoch
// and an accuracy, per model and dataset; none for other records.
func TestParetoColumn(t *testing.T) {
	rec := func(point int, model string, joules, acc float64) *Record {
		return &Record{Point: point, Status: Done, Params: Params{"model": model, "dataset": "mnist", "adc": "8"},
			Metrics: Metrics{"epoch_joules": joules, "test_accuracy": acc}}
	}
	recs := []*Record{rec(0, "mlp", 1, 0.5), rec(1, "mlp", 2, 0.4), rec(2, "lenet", 2, 0.4), {Point: 3, Status: Failed, Params: Params{"model": "mlp"}}}
	var b bytes.Buffer
	if err := writeCSV(&b, []string{"model", "dataset", "adc"}, recs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := len(rows[0]) - 1
	if rows[0][col] != ParetoColumn {
		t.Fatalf("header %q", rows[0])
	}
	for i, want := range []string{"true", "false", "true", ""} {
		if got := rows[i+1][col]; got != want {
			t.Errorf("point %d: pareto %q, want %q", i, got, want)
		}
	}
	b.Reset()
	recs = []*Record{{Point: 0, Status: Done, Params: Params{}, Metrics: Metrics{"test_accuracy": 1}}}
	if err := writeCSV(&b, nil, recs); err != nil || bytes.Contains(b.Bytes(), []byte(ParetoColumn)) {
		t.Errorf("train records got a pareto column: %q %v", b.String(), err)
	}
}
