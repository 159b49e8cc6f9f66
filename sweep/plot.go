package sweep

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// ReadResults reads a merged results.jsonl (one record per line).
func ReadResults(path string) ([]*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readResults(path, f)
}

// readResults reads records one per line from r; name is used in messages.
func readResults(name string, r io.Reader) ([]*Record, error) {
	var out []*Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: not a sweep record: %v", name, line, err)
		}
		out = append(out, &r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// Table is one metric of a sweep's records over two parameters.
type Table struct {
	// Cols are the values of x, Rows those of y, each in the order they
	// first appear (the sweep's order).
	Cols, Rows []string
	// Z[row][col] is the mean over the finished records that share the
	// cell (several seeds, say): NaN where one of them is NaN, or where
	// there is none.
	Z [][]float64
	// Missing marks the cells without a finished record (a point failed,
	// not run yet, or not in the sweep).
	Missing [][]bool
}

// Grid arranges one metric of the records over two parameters: columns are
// the values of x, rows those of y. y may be empty for a single row. Failed
// records place their values, so a failed point shows as missing.
func Grid(recs []*Record, x, y, metric string) (Table, error) {
	type cell struct {
		sum float64
		n   int
	}
	var t Table
	cells := map[[2]string]*cell{}
	for _, r := range recs {
		xv, ok := r.Params[x]
		if !ok {
			return t, fmt.Errorf("parameter %q is not in the records; they have %s", x, strings.Join(paramNames(recs), ", "))
		}
		yv := ""
		if y != "" {
			v, ok := r.Params[y]
			if !ok {
				return t, fmt.Errorf("parameter %q is not in the records; they have %s", y, strings.Join(paramNames(recs), ", "))
			}
			yv = fmt.Sprint(v)
		}
		key := [2]string{fmt.Sprint(xv), yv}
		if !slices.Contains(t.Cols, key[0]) {
			t.Cols = append(t.Cols, key[0])
		}
		if !slices.Contains(t.Rows, key[1]) {
			t.Rows = append(t.Rows, key[1])
		}
		if r.Status != Done {
			continue
		}
		m, ok := r.Metrics[metric]
		if !ok {
			return t, fmt.Errorf("metric %q is not in the records; they have %s", metric, strings.Join(metricNames(recs), ", "))
		}
		c := cells[key]
		if c == nil {
			c = &cell{}
			cells[key] = c
		}
		c.sum += m
		c.n++
	}
	if len(cells) == 0 {
		return t, fmt.Errorf("no finished records to plot")
	}
	t.Z, t.Missing = make([][]float64, len(t.Rows)), make([][]bool, len(t.Rows))
	for i, yv := range t.Rows {
		t.Z[i], t.Missing[i] = make([]float64, len(t.Cols)), make([]bool, len(t.Cols))
		for j, xv := range t.Cols {
			t.Z[i][j] = math.NaN()
			if c := cells[[2]string{xv, yv}]; c != nil {
				t.Z[i][j] = c.sum / float64(c.n)
			} else {
				t.Missing[i][j] = true
			}
		}
	}
	return t, nil
}

func paramNames(recs []*Record) []string {
	return recordKeys(recs, func(r *Record) map[string]any { return r.Params })
}

func metricNames(recs []*Record) []string {
	return recordKeys(recs, func(r *Record) map[string]float64 { return r.Metrics })
}

// recordKeys lists, sorted, the keys that any record's map holds.
func recordKeys[V any](recs []*Record, of func(*Record) map[string]V) []string {
	var names []string
	for _, r := range recs {
		for k := range of(r) {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return names
}
