package device

import (
	"math"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/rng"
)

const validCSV = `# a comment
depression, level ,potentiation,spread

-0.1,0,0.1,0.01
-0.2,0.5,0.3,0.02
# another comment
-0.4,1,0.2,0.03
`

func TestReadTable(t *testing.T) {
	// Columns in any order, spaces, blank and comment lines.
	csv := "\ufeff# order differs\r\ndepression, level ,Potentiation\r\n\r\n-0.1,0,0.1\r\n-0.2,0.5,0.3\r\n-0.4,1,0.2\r\n"
	tab, err := ReadTable(strings.NewReader(csv), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Spread != nil || tab.Name != "t.csv" {
		t.Errorf("Spread %v, Name %q", tab.Spread, tab.Name)
	}
	want := Table{Level: []float64{0, 0.5, 1}, Pot: []float64{0.1, 0.3, 0.2}, Dep: []float64{-0.1, -0.2, -0.4}}
	for k := range 3 {
		if tab.Level[k] != want.Level[k] || tab.Pot[k] != want.Pot[k] || tab.Dep[k] != want.Dep[k] {
			t.Fatalf("row %d: got %v %v %v", k, tab.Level[k], tab.Pot[k], tab.Dep[k])
		}
	}
}

func TestStep(t *testing.T) {
	tab, err := ReadTable(strings.NewReader("level,potentiation,depression,spread\n0,0.1,-0.1,0.01\n0.5,0.3,-0.2,0.02\n1,0.2,-0.4,0.03\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	for _, tc := range []struct {
		s              float64
		up             bool
		mean, spread   float64
		exactAtTheRows bool
	}{
		{0, true, 0.1, 0.01, true},
		{0.5, true, 0.3, 0.02, true},
		{1, false, -0.4, 0.03, true},
		{0.25, true, 0.2, 0.015, false},
		{0.75, false, -0.3, 0.025, false},
		{0.6, true, 0.28, 0.022, false},
		{-1, true, 0.1, 0.01, true},  // clamped to the first row
		{2, false, -0.4, 0.03, true}, // clamped to the last row
	} {
		m, s := tab.Step(tc.s, tc.up)
		if tc.exactAtTheRows && (m != tc.mean || s != tc.spread) || !near(m, tc.mean) || !near(s, tc.spread) {
			t.Errorf("Step(%v, %v) = %v, %v; want %v, %v", tc.s, tc.up, m, s, tc.mean, tc.spread)
		}
	}
	tab.Spread = nil
	if _, s := tab.Step(0.3, true); s != 0 {
		t.Errorf("spread without a spread column: %v", s)
	}
}

func TestReadTableErrors(t *testing.T) {
	for _, tc := range []struct {
		name, csv string
		want      []string
	}{
		{"empty", "", []string{"e.csv:1:", "no header row", "level, potentiation, depression"}},
		{"comments only", "# x\n\n# y\n", []string{"e.csv:3:", "no header row"}},
		{"missing column", "level,depression\n0,0\n1,0\n", []string{"e.csv:1:", "missing column(s) potentiation", "required: level, potentiation, depression"}},
		{"missing columns", "# c\nspread\n", []string{"e.csv:2:", "missing column(s) level, potentiation, depression"}},
		{"extra column", "level,potentiation,depression,temp,x\n", []string{"e.csv:1:", `unknown column(s) "temp", "x"`}},
		{"duplicate column", "level,potentiation,depression,level\n", []string{"e.csv:1:", "column level appears twice"}},
		{"non-numeric", "level,potentiation,depression\n0,0.1,-0.1\n0.5,abc,-0.1\n", []string{"e.csv:3:", `column potentiation: "abc" is not a number`}},
		{"field count", "level,potentiation,depression\n0,0.1\n", []string{"e.csv:2:", "2 fields, want 3"}},
		{"non-monotonic", "level,potentiation,depression\n0,0.1,-0.1\n0.6,0.1,-0.1\n\n0.4,0.1,-0.1\n", []string{"e.csv:5:", "level 0.4 does not exceed the previous row's 0.6", "strictly increasing"}},
		{"repeated level", "level,potentiation,depression\n0.5,0.1,-0.1\n0.5,0.1,-0.1\n", []string{"e.csv:3:", "level 0.5 does not exceed"}},
		{"level range", "level,potentiation,depression\n0,0.1,-0.1\n1.5,0.1,-0.1\n", []string{"e.csv:3:", "level = 1.5 is out of range [0, 1]"}},
		{"negative potentiation", "level,potentiation,depression\n0,-0.1,-0.1\n", []string{"e.csv:2:", "potentiation = -0.1 is out of range [0, 1]"}},
		{"positive depression", "level,potentiation,depression\n0,0.1,0.1\n", []string{"e.csv:2:", "depression = 0.1 is out of range [-1, 0]"}},
		{"negative spread", "level,potentiation,depression,spread\n0,0.1,-0.1,-1\n", []string{"e.csv:2:", "spread = -1 is out of range [0, 1]"}},
		{"NaN", "level,potentiation,depression\nNaN,0.1,-0.1\n", []string{"e.csv:2:", "level = NaN is out of range"}},
		{"huge", "level,potentiation,depression\n0,1e999,-0.1\n", []string{"e.csv:2:", "potentiation = +Inf is out of range"}},
		{"all steps zero", "level,potentiation,depression\n0,0,0\n1,0,0\n", []string{"e.csv:1: column potentiation is 0 on every row: a potentiation pulse would never change a cell"}},
		{"no depression", "# measured\nlevel,potentiation,depression\n0,0.1,0\n0.5,0,-0\n1,0.2,0\n", []string{"e.csv:2: column depression is 0 on every row"}},
		{"one row", "level,potentiation,depression\n0,0.1,-0.1\n# end\n", []string{"e.csv:3:", "1 data row(s); a table needs at least 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTable(strings.NewReader(tc.csv), "e.csv")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestExampleTable(t *testing.T) {
	c := Config{Kind: KindTable, TablePath: "testdata/example_table.csv"}
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	tab := c.Table
	if len(tab.Level) < 8 || len(tab.Level) > 16 || tab.Spread == nil {
		t.Fatalf("%d rows, spread %v", len(tab.Level), tab.Spread != nil)
	}
	// A saturating curve: potentiation slows as the cell fills.
	for k := 1; k < len(tab.Pot); k++ {
		if tab.Pot[k] >= tab.Pot[k-1] || tab.Dep[k] >= tab.Dep[k-1] {
			t.Fatalf("row %d does not saturate", k+1)
		}
	}
	d := NewCells(c, 64, 1, rng.New(1))
	lo, hi := d.Write(0, 0, 5), d.Write(0, 50, 5)
	if lo <= hi-50 {
		t.Errorf("5 pulses move a low cell to %d, a high one only %d levels", lo, hi-50)
	}
}

func FuzzReadTable(f *testing.F) {
	f.Add(validCSV)
	f.Add("level,potentiation,depression\n0,0.1,-0.1\n1,0.1,-0.1\n")
	f.Add("level,potentiation\n0,1\n")
	f.Add("level,potentiation,depression\n0.5,0.1,-0.1\n0.2,0.1,-0.1\n")
	f.Add("level,potentiation,depression\n0,x,-0.1\n")
	f.Add("level,potentiation,depression,spread\n0,0.1,-0.1\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, csv string) {
		tab, err := ReadTable(strings.NewReader(csv), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		n := len(tab.Level)
		if n < 2 || len(tab.Pot) != n || len(tab.Dep) != n || (tab.Spread != nil && len(tab.Spread) != n) {
			t.Fatalf("column lengths %d %d %d %d", n, len(tab.Pot), len(tab.Dep), len(tab.Spread))
		}
		for k := 1; k < n; k++ {
			if !(tab.Level[k] > tab.Level[k-1]) {
				t.Fatalf("levels not strictly increasing: %v", tab.Level)
			}
		}
		if err := tab.check(); err != nil {
			t.Fatalf("parsed table fails check: %v", err)
		}
		for _, s := range []float64{-1, 0, 0.37, 1, 2} {
			m, _ := tab.Step(s, s > 0.5)
			if math.IsNaN(m) {
				t.Fatalf("Step(%v) is NaN", s)
			}
		}
	})
}
