package device

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Table is measured pulse-response data: at normalised state Level[k] (0 is
// the lowest level, 1 the highest) one potentiation pulse changes the state
// by Pot[k] >= 0 and one depression pulse by Dep[k] <= 0, with standard
// deviation Spread[k] (Spread is nil when the data has no spread column).
// Level is strictly increasing within [0, 1].
type Table struct {
	Level, Pot, Dep, Spread []float64
	Name                    string // where the data came from, for messages
}

// The CSV columns, in the order of a row's values in parseRow.
var columns = [...]string{"level", "potentiation", "depression", "spread"}

const (
	colLevel = iota
	colPot
	colDep
	colSpread
)

const wantColumns = "required: level, potentiation, depression; optional: spread"

// ReadTableFile reads a pulse-response CSV file (see ReadTable).
func ReadTableFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("device: pulse-response table: %w", err)
	}
	defer f.Close()
	return ReadTable(f, path)
}

// ReadTable reads pulse-response data in CSV form: a header row naming the
// columns level, potentiation, depression and optionally spread, in any
// order (case-insensitive), then at least two data rows of plain
// comma-separated numbers (no quoting), with a non-zero step somewhere in
// each step column. Blank lines and lines starting with '#' are skipped.
// Errors read "name:line: problem".
func ReadTable(r io.Reader, name string) (*Table, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	t := &Table{Name: name}
	var pos []int // pos[col] = field index of column col, -1 when absent
	line, headerLine := 0, 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // spreadsheet byte-order mark
		}
		text = strings.TrimSpace(text)
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Split(text, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		var err error
		if pos == nil {
			pos, err = parseHeader(fields)
			headerLine = line
			if pos != nil && pos[colSpread] >= 0 {
				t.Spread = []float64{}
			}
		} else {
			err = t.parseRow(fields, pos)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	line = max(line, 1) // an empty file's error points at its first line
	if pos == nil {
		return nil, fmt.Errorf("%s:%d: no header row; want columns (%s)", name, line, wantColumns)
	}
	if n := len(t.Level); n < 2 {
		return nil, fmt.Errorf("%s:%d: %d data row(s); a table needs at least 2", name, line, n)
	}
	if err := t.checkSteps(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, headerLine, err)
	}
	return t, nil
}

// checkSteps refuses a column of steps that are all 0: pulses in that
// direction would never change a cell, and training would silently learn
// nothing.
func (t *Table) checkSteps() error {
	for _, c := range []struct {
		name  string
		steps []float64
	}{{"potentiation", t.Pot}, {"depression", t.Dep}} {
		if !slices.ContainsFunc(c.steps, func(x float64) bool { return x != 0 }) {
			return fmt.Errorf("column %s is 0 on every row: a %s pulse would never change a cell; give the measured steps", c.name, c.name)
		}
	}
	return nil
}

// parseHeader maps column names to field positions.
func parseHeader(fields []string) ([]int, error) {
	pos := []int{-1, -1, -1, -1}
	var unknown, missing []string
	for i, f := range fields {
		c := columnIndex(strings.ToLower(f))
		switch {
		case c < 0:
			unknown = append(unknown, strconv.Quote(f))
		case pos[c] >= 0:
			return nil, fmt.Errorf("column %s appears twice", columns[c])
		default:
			pos[c] = i
		}
	}
	if unknown != nil {
		return nil, fmt.Errorf("unknown column(s) %s (%s)", strings.Join(unknown, ", "), wantColumns)
	}
	for c := range colSpread {
		if pos[c] < 0 {
			missing = append(missing, columns[c])
		}
	}
	if missing != nil {
		return nil, fmt.Errorf("missing column(s) %s in the header row (%s)", strings.Join(missing, ", "), wantColumns)
	}
	return pos, nil
}

func columnIndex(name string) int {
	for c, n := range columns {
		if n == name {
			return c
		}
	}
	return -1
}

// parseRow appends one data row and checks it against the previous one.
func (t *Table) parseRow(fields []string, pos []int) error {
	want := 3
	if pos[colSpread] >= 0 {
		want = 4
	}
	if len(fields) != want {
		return fmt.Errorf("%d fields, want %d as in the header row", len(fields), want)
	}
	var v [len(columns)]float64
	for c, i := range pos {
		if i < 0 {
			continue
		}
		x, err := strconv.ParseFloat(fields[i], 64)
		// Out-of-range numbers parse as ±Inf and fail the range checks.
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("column %s: %q is not a number", columns[c], fields[i])
		}
		v[c] = x
	}
	t.Level = append(t.Level, v[colLevel])
	t.Pot = append(t.Pot, v[colPot])
	t.Dep = append(t.Dep, v[colDep])
	if t.Spread != nil {
		t.Spread = append(t.Spread, v[colSpread])
	}
	return t.checkRow(len(t.Level) - 1)
}

// checkRow checks row k's ranges and that its level exceeds row k-1's.
func (t *Table) checkRow(k int) error {
	type bound struct {
		col       string
		v, lo, hi float64
	}
	bounds := []bound{{"level", t.Level[k], 0, 1}, {"potentiation", t.Pot[k], 0, 1}, {"depression", t.Dep[k], -1, 0}}
	if t.Spread != nil {
		bounds = append(bounds, bound{"spread", t.Spread[k], 0, 1})
	}
	for _, b := range bounds {
		if !(b.v >= b.lo && b.v <= b.hi) { // true for NaN
			return fmt.Errorf("%s = %v is out of range [%v, %v]", b.col, b.v, b.lo, b.hi)
		}
	}
	if k > 0 && !(t.Level[k] > t.Level[k-1]) {
		return fmt.Errorf("level %v does not exceed the previous row's %v; levels must be strictly increasing", t.Level[k], t.Level[k-1])
	}
	return nil
}

// check validates a Table built in code rather than read by ReadTable.
func (t *Table) check() error {
	n := len(t.Level)
	if n < 2 || len(t.Pot) != n || len(t.Dep) != n || (t.Spread != nil && len(t.Spread) != n) {
		return fmt.Errorf("need at least 2 rows and equal column lengths (level %d, potentiation %d, depression %d, spread %d)",
			n, len(t.Pot), len(t.Dep), len(t.Spread))
	}
	for k := range n {
		if err := t.checkRow(k); err != nil {
			return fmt.Errorf("row %d: %w", k+1, err)
		}
	}
	return t.checkSteps()
}

// Step returns the mean change of normalised state for one potentiation
// (up) or depression pulse at state s, and its spread (0 without a spread
// column), interpolated linearly between rows and clamped to the first and
// last rows outside them.
func (t *Table) Step(s float64, up bool) (mean, spread float64) {
	col := t.Dep
	if up {
		col = t.Pot
	}
	n := len(t.Level)
	k := sort.SearchFloat64s(t.Level, s) // the first row with Level[k] >= s
	if k == 0 || k == n || t.Level[k] == s {
		k = min(k, n-1)
		if t.Spread != nil {
			spread = t.Spread[k]
		}
		return col[k], spread
	}
	f := (s - t.Level[k-1]) / (t.Level[k] - t.Level[k-1])
	if t.Spread != nil {
		spread = lerp(t.Spread[k-1], t.Spread[k], f)
	}
	return lerp(col[k-1], col[k], f), spread
}

// lerp is exact when a == b, so constant columns give constant steps.
func lerp(a, b, f float64) float64 { return a + (b-a)*f }
