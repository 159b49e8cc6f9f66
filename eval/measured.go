package eval

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// MeasuredDesign names the rows read from a measured-GPU CSV.
const MeasuredDesign = "gpu-measured"

// GPUMeasurement is one measured GPU training step: a workload at a batch
// size, its time and energy, and how it was measured.
type GPUMeasurement struct {
	Workload    string  `json:"workload"`
	Batch       int     `json:"batch"`
	StepSeconds float64 `json:"step_seconds"`
	// StepJoules is the board energy of one step: the CSV gives it, or
	// power_watts, which is multiplied by the step time.
	StepJoules float64 `json:"step_joules"`
	Card       string  `json:"card,omitempty"`
	Date       string  `json:"date,omitempty"`
	Method     string  `json:"method,omitempty"`
}

// measuredColumns are the columns a measured-GPU CSV may have; the first
// three are required, and one of energy_joules and power_watts.
var measuredColumns = []string{"workload", "batch", "step_seconds", "energy_joules", "power_watts", "card", "date", "method"}

// ReadGPUMeasurements reads a measured-GPU CSV file (see
// docs/reproduction.md for its columns).
func ReadGPUMeasurements(path string) ([]GPUMeasurement, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseGPUMeasurements(path, data)
}

// ParseGPUMeasurements reads a measured-GPU CSV; name is the file name for
// messages, which give its line and column.
func ParseGPUMeasurements(name string, data []byte) ([]GPUMeasurement, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))) // spreadsheets write a BOM
	r.Comment = '#'
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty: want a header line with %s", name, strings.Join(measuredColumns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	headerLine, _ := r.FieldPos(0)
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		_, at := r.FieldPos(i)
		if !slices.Contains(measuredColumns, h) {
			return nil, fmt.Errorf("%s:%d:%d: unknown column %q: want %s", name, headerLine, at, h, strings.Join(measuredColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s:%d:%d: column %q given twice", name, headerLine, at, h)
		}
		col[h] = i
	}
	for _, need := range measuredColumns[:3] {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:%d: no %q column: want at least workload, batch, step_seconds and energy_joules or power_watts", name, headerLine, need)
		}
	}
	_, hasE := col["energy_joules"]
	_, hasP := col["power_watts"]
	if hasE == hasP {
		return nil, fmt.Errorf("%s:%d: give exactly one of energy_joules and power_watts", name, headerLine)
	}
	var out []GPUMeasurement
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		field := func(c string) string {
			if i, ok := col[c]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		positive := func(c string) (float64, error) {
			v, err := strconv.ParseFloat(field(c), 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) { // NaN too
				i := col[c]
				_, at := r.FieldPos(i)
				return 0, fmt.Errorf("%s:%d:%d: %s %q: want a positive number", name, line, at, c, field(c))
			}
			return v, nil
		}
		m := GPUMeasurement{Workload: field("workload"), Card: field("card"), Date: field("date"), Method: field("method")}
		if m.Workload == "" {
			return nil, fmt.Errorf("%s:%d: no workload named", name, line)
		}
		b, err := strconv.Atoi(field("batch"))
		if err != nil || b < 1 {
			_, at := r.FieldPos(col["batch"])
			return nil, fmt.Errorf("%s:%d:%d: batch %q: want a positive integer", name, line, at, field("batch"))
		}
		m.Batch = b
		if m.StepSeconds, err = positive("step_seconds"); err != nil {
			return nil, err
		}
		if hasE {
			m.StepJoules, err = positive("energy_joules")
		} else {
			var w float64
			w, err = positive("power_watts")
			m.StepJoules = w * m.StepSeconds
			if err == nil && math.IsInf(m.StepJoules, 0) {
				err = fmt.Errorf("%s:%d: power_watts x step_seconds overflows", name, line)
			}
		}
		if err != nil {
			return nil, err
		}
		key := fmt.Sprintf("%s@%d", m.Workload, m.Batch)
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s:%d: %s at batch %d was already measured on line %d", name, line, m.Workload, m.Batch, first)
		}
		seen[key] = line
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no measurements after the header", name)
	}
	return out, nil
}

// lookupMeasured returns the measurement of workload at batch.
func lookupMeasured(ms []GPUMeasurement, workload string, batch int) (GPUMeasurement, bool) {
	for _, m := range ms {
		if m.Workload == workload && m.Batch == batch {
			return m, true
		}
	}
	return GPUMeasurement{}, false
}

// source describes how the measurement was made, for the report.
func (m GPUMeasurement) source() string {
	parts := []string{"measured"}
	for _, p := range []string{m.Card, m.Date, m.Method} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ": ")
}
