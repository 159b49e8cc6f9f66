package device

import (
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tab := &Table{Level: []float64{0, 1}, Pot: []float64{0.1, 0.1}, Dep: []float64{-0.1, -0.1}}
	for _, tc := range []struct {
		name string
		c    Config
		want []string // substrings of the error; none means valid
	}{
		{"zero is ideal", Config{}, nil},
		{"full nonlinear", Config{Kind: KindNonlinear, Alpha: 2, Sigma: 0.1, D2D: 0.1, C2C: 0.1, ReadNoise: 1, StuckLow: 0.5, StuckHigh: 0.5}, nil},
		{"table given in code", Config{Kind: KindTable, Table: tab}, nil},
		{"table file", Config{Kind: KindTable, TablePath: "x.csv"}, nil},
		{"unknown kind", Config{Kind: "memristor"}, []string{`unknown kind "memristor"`, "ideal, nonlinear, table"}},
		{"alpha", Config{Kind: KindNonlinear, Alpha: -1}, []string{"alpha = -1 is out of range [0, +inf)"}},
		{"sigma", Config{Kind: KindNonlinear, Sigma: math.NaN()}, []string{"sigma = NaN is out of range [0, +inf)"}},
		{"d2d", Config{D2D: math.Inf(1)}, []string{"d2d = +Inf is out of range [0, +inf)"}},
		{"c2c", Config{C2C: -0.5}, []string{"c2c = -0.5 is out of range [0, +inf)"}},
		{"read_noise", Config{ReadNoise: -2}, []string{"read_noise = -2 is out of range [0, +inf)"}},
		{"stuck_low", Config{StuckLow: 1.5}, []string{"device: stuck_low = 1.5 is out of range [0, 1]"}},
		{"stuck_high", Config{StuckHigh: -0.1}, []string{"stuck_high = -0.1 is out of range [0, 1]"}},
		{"stuck sum", Config{StuckLow: 0.6, StuckHigh: 0.5}, []string{"stuck_low + stuck_high = 1.1 exceeds 1"}},
		{"table missing", Config{Kind: KindTable}, []string{"kind table", "set table"}},
		{"table on ideal", Config{TablePath: "x.csv"}, []string{"table applies only to kind table"}},
		{"alpha on ideal", Config{Alpha: 1}, []string{"alpha = 1 applies only to kind nonlinear"}},
		{"bad table in code", Config{Kind: KindTable, Table: &Table{Name: "mine", Level: []float64{0, 0}, Pot: []float64{0, 0}, Dep: []float64{0, 0}}},
			[]string{"table mine: row 2: level 0 does not exceed the previous row's 0"}},
		{"short table in code", Config{Kind: KindTable, Table: &Table{Level: []float64{0, 1}, Pot: []float64{0}, Dep: []float64{0, 0}}},
			[]string{"equal column lengths"}},
		{"readings", Config{Kind: KindNonlinear, Sigma: 1, SigmaUpdate: "g", ReadNoise: 0.1, ReadNoiseScale: "range"}, nil},
		{"read_noise_scale", Config{ReadNoiseScale: "volts"}, []string{`read_noise_scale "volts": want level`, "or range"}},
		{"sigma_update", Config{Kind: KindNonlinear, SigmaUpdate: "delta"}, []string{`sigma_update "delta": want g/R`}},
		{"sigma_update on ideal", Config{SigmaUpdate: "g"}, []string{"sigma_update applies only to kind nonlinear"}},
		{"fault map", Config{StuckLow: 0.01, FaultMap: true, SpareRows: 2, SpareCols: 3}, nil},
		{"spares", Config{FaultMap: true, SpareRows: -1, SpareCols: 65}, []string{"spare_rows = -1 is out of range [0, 64]", "spare_cols = 65 is out of range [0, 64]"}},
		{"spares without map", Config{SpareRows: 1}, []string{"spare_rows and spare_cols need fault_map: true"}},
		{"fault record", Config{StuckHigh: 0.01, FaultMap: true, FaultRecord: 64}, nil},
		{"fault record range", Config{FaultMap: true, FaultRecord: 4097}, []string{"fault_record = 4097 is out of range [0, 4096]"}},
		{"fault record without map", Config{FaultRecord: 8}, []string{"fault_record needs fault_map: true"}},
		{"every rule", Config{Alpha: -1, C2C: -1, StuckLow: 2}, []string{"alpha = -1", "c2c = -1", "stuck_low = 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	c := Config{Kind: KindTable, TablePath: "testdata/example_table.csv"}
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	if c.Table == nil || c.Table.Name != c.TablePath {
		t.Fatalf("Load did not fill Table: %+v", c.Table)
	}
	c = Config{Kind: KindTable, TablePath: "testdata/no_such.csv"}
	if err := c.Load(); err == nil || !strings.Contains(err.Error(), "no_such.csv") {
		t.Errorf("missing file: %v", err)
	}
	c = Config{StuckLow: 3}
	if err := c.Load(); err == nil {
		t.Error("Load did not validate")
	}
}

func TestConfigPredicatesAndString(t *testing.T) {
	for _, tc := range []struct {
		c           Config
		ideal, hasS bool
		s           string
	}{
		{Config{}, true, false, "ideal"},
		{Config{Kind: KindIdeal, ReadNoise: 0.5}, true, false, "ideal read_noise=0.5"},
		{Config{StuckLow: 0.01}, true, true, "ideal stuck=0.01/0"},
		{Config{D2D: 0.1}, false, false, "ideal d2d=0.1"},
		{Config{Kind: KindNonlinear, Alpha: 1, Sigma: 0.1, D2D: 0.05, StuckLow: 0.01, StuckHigh: 0.01}, false, true,
			"nonlinear(alpha=1,sigma=0.1) d2d=0.05 stuck=0.01/0.01"},
		{Config{Kind: KindNonlinear}, false, false, "nonlinear(alpha=0,sigma=0)"},
		{Config{Kind: KindTable, TablePath: "a.csv", C2C: 0.2}, false, false, "table(a.csv) c2c=0.2"},
	} {
		if got := tc.c.IdealWrites(); got != tc.ideal {
			t.Errorf("%v: IdealWrites = %v", tc.c, got)
		}
		if got := tc.c.HasStuck(); got != tc.hasS {
			t.Errorf("%v: HasStuck = %v", tc.c, got)
		}
		if got := tc.c.String(); got != tc.s {
			t.Errorf("String = %q, want %q", got, tc.s)
		}
	}
}
