package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/panther-xbar/panther/internal/atomicfile"
)

// Files and folders of a results folder.
const (
	SweepFile   = "sweep.yaml"    // the sweep file, as first run
	PointsDir   = "points"        // one record per point: NNNN.json
	ResultsJSON = "results.jsonl" // the merged records
	ResultsCSV  = "results.csv"
)

// Point statuses.
const (
	Done   = "done"
	Failed = "failed"
)

// Record is the outcome of one point.
type Record struct {
	Point int `json:"point"`
	// ID is a hash of the kind and the parameters.
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	Status  string  `json:"status"`
	Params  Params  `json:"params"`
	Metrics Metrics `json:"metrics,omitempty"`
	Error   string  `json:"error,omitempty"`
	Seconds float64 `json:"seconds"`
}

func recordPath(dir string, i int) string {
	return filepath.Join(dir, PointsDir, fmt.Sprintf("%04d.json", i))
}

// Prepare makes dir the results folder of s: it creates it and keeps a copy
// of the sweep file there, which status, resume, collect and Slurm tasks
// read. A folder holding another sweep file is an error.
func Prepare(s *Sweep, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, PointsDir), 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	path := filepath.Join(dir, SweepFile)
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return atomicfile.WriteFile(path, s.Source)
	case err != nil:
		return fmt.Errorf("results folder: %w", err)
	case !bytes.Equal(old, s.Source):
		return fmt.Errorf("%s holds the records of another sweep file (%s differs from %s): use another --out folder", dir, path, s.Path)
	}
	return nil
}

// Open reads the sweep of a results folder.
func Open(dir string) (*Sweep, error) {
	s, err := ReadFile(filepath.Join(dir, SweepFile))
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a sweep results folder (no %s)", dir, SweepFile)
	}
	return s, err
}

// ReadRecords reads the records of dir, indexed by point (nil: none yet).
// A record whose ID does not match its point is an error: it belongs to
// another sweep.
func ReadRecords(s *Sweep, dir string) ([]*Record, error) {
	out := make([]*Record, len(s.Points))
	for i := range s.Points {
		r, err := readRecord(s, dir, i)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// readRecord reads the record of point i (nil: none yet).
func readRecord(s *Sweep, dir string, i int) (*Record, error) {
	b, err := os.ReadFile(recordPath(dir, i))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", recordPath(dir, i), err)
	}
	if r.Point != i || r.ID != s.IDs[i] {
		return nil, fmt.Errorf("%s: a record of another sweep (point %d, id %s; want point %d, id %s): use another --out folder", recordPath(dir, i), r.Point, r.ID, i, s.IDs[i])
	}
	return &r, nil
}

func writeRecord(dir string, r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("record of point %d: %w", r.Point, err)
	}
	return atomicfile.WriteFile(recordPath(dir, r.Point), append(b, '\n'))
}

// Collect merges the records of dir, in point order, into results.jsonl
// and results.csv. It returns the number of records merged.
func Collect(s *Sweep, dir string) (int, error) {
	recs, err := ReadRecords(s, dir)
	if err != nil {
		return 0, err
	}
	var have []*Record
	for _, r := range recs {
		if r != nil {
			have = append(have, r)
		}
	}
	err = atomicfile.Write(filepath.Join(dir, ResultsJSON), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range have {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(have), atomicfile.Write(filepath.Join(dir, ResultsCSV), func(w io.Writer) error {
		return writeCSV(w, keyNames(s.Runner.Keys()), have)
	})
}

// writeCSV writes one row per record: point, status, every parameter,
// every metric any record has (sorted), seconds and error, and, where the
// records have an energy per epoch and a test accuracy (codesign points),
// pareto: whether the point is on its model and dataset's front.
func writeCSV(w io.Writer, keys []string, recs []*Record) error {
	front := paretoColumn(recs)
	metricSet := map[string]bool{}
	for _, r := range recs {
		for m := range r.Metrics {
			metricSet[m] = true
		}
	}
	metrics := slices.Sorted(maps.Keys(metricSet))
	cw := csv.NewWriter(w)
	tail := []string{"seconds", "error"}
	if front != nil {
		tail = append(tail, ParetoColumn)
	}
	cw.Write(slices.Concat([]string{"point", "status"}, keys, metrics, tail))
	for _, r := range recs {
		row := []string{strconv.Itoa(r.Point), r.Status}
		for _, k := range keys {
			row = append(row, formatValue(r.Params[k]))
		}
		for _, m := range metrics {
			v, ok := r.Metrics[m]
			cell := ""
			if ok {
				cell = strconv.FormatFloat(v, 'g', -1, 64)
			}
			row = append(row, cell)
		}
		row = append(row, strconv.FormatFloat(r.Seconds, 'f', 3, 64), r.Error)
		if front != nil {
			row = append(row, front[r])
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// formatValue writes a parameter as text; numbers in their shortest form.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
