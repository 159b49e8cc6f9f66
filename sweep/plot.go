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

// Grid arranges one metric of the finished records over two parameters:
// columns are the values of x, rows those of y, each in the order they first
// appear (the sweep's order); a cell is the mean over the records that share
// it (several seeds, say) and NaN where none does. y may be empty for a
// single row.
func Grid(recs []*Record, x, y, metric string) (cols, rows []string, z [][]float64, err error) {
	type cell struct {
		sum float64
		n   int
	}
	cells := map[[2]string]*cell{}
	for _, r := range recs {
		if r.Status != Done {
			continue
		}
		xv, ok := r.Params[x]
		if !ok {
			return nil, nil, nil, fmt.Errorf("parameter %q is not in the records; they have %s", x, strings.Join(paramNames(recs), ", "))
		}
		yv := ""
		if y != "" {
			v, ok := r.Params[y]
			if !ok {
				return nil, nil, nil, fmt.Errorf("parameter %q is not in the records; they have %s", y, strings.Join(paramNames(recs), ", "))
			}
			yv = fmt.Sprint(v)
		}
		m, ok := r.Metrics[metric]
		if !ok {
			return nil, nil, nil, fmt.Errorf("metric %q is not in the records; they have %s", metric, strings.Join(metricNames(recs), ", "))
		}
		key := [2]string{fmt.Sprint(xv), yv}
		if !slices.Contains(cols, key[0]) {
			cols = append(cols, key[0])
		}
		if !slices.Contains(rows, key[1]) {
			rows = append(rows, key[1])
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
		return nil, nil, nil, fmt.Errorf("no finished records to plot")
	}
	z = make([][]float64, len(rows))
	for i, yv := range rows {
		z[i] = make([]float64, len(cols))
		for j, xv := range cols {
			z[i][j] = math.NaN()
			if c := cells[[2]string{xv, yv}]; c != nil {
				z[i][j] = c.sum / float64(c.n)
			}
		}
	}
	return cols, rows, z, nil
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
