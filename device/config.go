package device

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind names a device model.
type Kind string

// The device models.
const (
	KindIdeal     Kind = "ideal"
	KindNonlinear Kind = "nonlinear"
	KindTable     Kind = "table"
)

// Config selects and parameterises a device model. It is data: a run's
// configuration file sets it, and the zero value is the ideal cell.
type Config struct {
	Kind      Kind    `yaml:"kind" json:"kind"`             // "" means ideal
	Alpha     float64 `yaml:"alpha" json:"alpha"`           // nonlinear write: nonlinearity (>= 0)
	Sigma     float64 `yaml:"sigma" json:"sigma"`           // nonlinear write noise (>= 0)
	D2D       float64 `yaml:"d2d" json:"d2d"`               // device-to-device step variation: lognormal sigma (>= 0)
	C2C       float64 `yaml:"c2c" json:"c2c"`               // cycle-to-cycle write noise (>= 0)
	ReadNoise float64 `yaml:"read_noise" json:"read_noise"` // read noise per active cell, in levels (>= 0)
	StuckLow  float64 `yaml:"stuck_low" json:"stuck_low"`   // fraction of cells stuck at level 0, [0,1]
	StuckHigh float64 `yaml:"stuck_high" json:"stuck_high"` // fraction stuck at the top level, [0,1], StuckLow+StuckHigh <= 1
	TablePath string  `yaml:"table" json:"table"`           // CSV file for kind table
	Table     *Table  `yaml:"-" json:"-"`                   // loaded table (Load fills it from TablePath)
	// ReadNoiseScale says what read_noise is a fraction of: "level" (or
	// empty, one level per active cell) or "range" (the cell's conductance
	// range, levels-1 levels per active cell).
	ReadNoiseScale string `yaml:"read_noise_scale,omitempty" json:"read_noise_scale,omitempty"`
	// SigmaUpdate says what the nonlinear write noise's update is: "g/R"
	// (or empty, the normalised change: std sigma*sqrt(|g|) levels) or "g"
	// (the change in levels: std sigma*sqrt(R*|g|) levels).
	SigmaUpdate string `yaml:"sigma_update,omitempty" json:"sigma_update,omitempty"`
	// FaultMap turns on fault-aware mapping: after programming, a test read
	// finds the stuck cells, the worst lines move to SpareRows and SpareCols
	// spare lines per crossbar, and every weight is written as the nearest
	// value the stuck cells left on its line allow (docs/devices.md).
	FaultMap  bool `yaml:"fault_map,omitempty" json:"fault_map,omitempty"`
	SpareRows int  `yaml:"spare_rows,omitempty" json:"spare_rows,omitempty"`
	SpareCols int  `yaml:"spare_cols,omitempty" json:"spare_cols,omitempty"`
	// FaultRecord is the number of entries of each crossbar set's digital
	// fault record: the weights whose stuck cells harm them most, kept
	// exactly beside the crossbars and corrected digitally in every
	// product (docs/devices.md). 0 turns it off.
	FaultRecord int `yaml:"fault_record,omitempty" json:"fault_record,omitempty"`
}

// MaxSpares bounds the spare lines per crossbar; MaxFaultRecord the
// entries of a fault record.
const (
	MaxSpares      = 64
	MaxFaultRecord = 4096
)

// The readings of read_noise and of the write noise's update.
const (
	ReadNoisePerLevel = "level"
	ReadNoisePerRange = "range"
	SigmaUpdateScaled = "g/R"
	SigmaUpdateLevels = "g"
)

func (c Config) kind() Kind {
	if c.Kind == "" {
		return KindIdeal
	}
	return c.Kind
}

// Validate reports every rule the configuration breaks, each naming the
// parameter and its allowed range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("device: "+format, args...)) }
	k := c.kind()
	if k != KindIdeal && k != KindNonlinear && k != KindTable {
		bad("unknown kind %q (allowed: %s, %s, %s)", c.Kind, KindIdeal, KindNonlinear, KindTable)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"alpha", c.Alpha}, {"sigma", c.Sigma}, {"d2d", c.D2D}, {"c2c", c.C2C}, {"read_noise", c.ReadNoise}} {
		if !(p.v >= 0) || math.IsInf(p.v, 1) {
			bad("%s = %v is out of range [0, +inf)", p.name, p.v)
		}
	}
	stuckOK := true
	for _, p := range []struct {
		name string
		v    float64
	}{{"stuck_low", c.StuckLow}, {"stuck_high", c.StuckHigh}} {
		if !(p.v >= 0 && p.v <= 1) {
			bad("%s = %v is out of range [0, 1]", p.name, p.v)
			stuckOK = false
		}
	}
	if stuckOK && c.StuckLow+c.StuckHigh > 1 {
		bad("stuck_low + stuck_high = %v exceeds 1", c.StuckLow+c.StuckHigh)
	}
	if c.ReadNoiseScale != "" && c.ReadNoiseScale != ReadNoisePerLevel && c.ReadNoiseScale != ReadNoisePerRange {
		bad("read_noise_scale %q: want %s (read_noise in levels per active cell) or %s (a fraction of the cell's range per active cell)",
			c.ReadNoiseScale, ReadNoisePerLevel, ReadNoisePerRange)
	}
	if c.SigmaUpdate != "" && c.SigmaUpdate != SigmaUpdateScaled && c.SigmaUpdate != SigmaUpdateLevels {
		bad("sigma_update %q: want %s (write noise sigma*sqrt(|g|) levels) or %s (sigma*sqrt(R*|g|) levels)",
			c.SigmaUpdate, SigmaUpdateScaled, SigmaUpdateLevels)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"spare_rows", c.SpareRows}, {"spare_cols", c.SpareCols}} {
		if p.v < 0 || p.v > MaxSpares {
			bad("%s = %d is out of range [0, %d]", p.name, p.v, MaxSpares)
		}
	}
	if !c.FaultMap && (c.SpareRows != 0 || c.SpareCols != 0) {
		bad("spare_rows and spare_cols need fault_map: true (spare lines are used only by the fault-aware mapper)")
	}
	if c.FaultRecord < 0 || c.FaultRecord > MaxFaultRecord {
		bad("fault_record = %d is out of range [0, %d]", c.FaultRecord, MaxFaultRecord)
	}
	if !c.FaultMap && c.FaultRecord != 0 {
		bad("fault_record needs fault_map: true (the record is filled from the mapper's test read)")
	}
	// Parameters of another model are an error rather than silently ignored.
	if k != KindNonlinear {
		if c.Alpha != 0 {
			bad("alpha = %v applies only to kind %s", c.Alpha, KindNonlinear)
		}
		if c.Sigma != 0 {
			bad("sigma = %v applies only to kind %s", c.Sigma, KindNonlinear)
		}
		if c.SigmaUpdate != "" {
			bad("sigma_update applies only to kind %s", KindNonlinear)
		}
	}
	switch {
	case k == KindTable && c.TablePath == "" && c.Table == nil:
		bad("kind %s needs pulse-response data: set table to a CSV file (columns level, potentiation, depression, optional spread)", KindTable)
	case k != KindTable && (c.TablePath != "" || c.Table != nil):
		bad("table applies only to kind %s", KindTable)
	case c.Table != nil:
		if err := c.Table.check(); err != nil {
			bad("table %s: %v", c.Table.Name, err)
		}
	}
	return errors.Join(errs...)
}

// Load validates c and, for kind table, reads TablePath unless Table is
// already set.
func (c *Config) Load() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.kind() != KindTable || c.Table != nil {
		return nil
	}
	t, err := ReadTableFile(c.TablePath)
	if err != nil {
		return err
	}
	c.Table = t
	return nil
}

// IdealWrites reports whether every write moves a cell by exactly the
// requested number of levels (stuck cells aside, see HasStuck).
func (c Config) IdealWrites() bool {
	return c.kind() == KindIdeal && c.D2D == 0 && c.C2C == 0
}

// HasStuck reports whether any cell can be stuck.
func (c Config) HasStuck() bool { return c.StuckLow+c.StuckHigh > 0 }

// String describes c on one line, e.g. "ideal" or
// "nonlinear(alpha=1,sigma=0.1) d2d=0.05 stuck=0.01/0.01".
func (c Config) String() string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	var b strings.Builder
	switch k := c.kind(); k {
	case KindNonlinear:
		fmt.Fprintf(&b, "nonlinear(alpha=%s,sigma=%s)", g(c.Alpha), g(c.Sigma))
		if c.SigmaUpdate == SigmaUpdateLevels {
			b.WriteString(" sigma_update=g")
		}
	case KindTable:
		name := c.TablePath
		if name == "" && c.Table != nil {
			name = c.Table.Name
		}
		fmt.Fprintf(&b, "table(%s)", name)
	default:
		b.WriteString(string(k))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"d2d", c.D2D}, {"c2c", c.C2C}, {"read_noise", c.ReadNoise}} {
		if p.v != 0 {
			fmt.Fprintf(&b, " %s=%s", p.name, g(p.v))
		}
	}
	if c.ReadNoise != 0 && c.ReadNoiseScale == ReadNoisePerRange {
		b.WriteString(" read_noise_scale=range")
	}
	if c.HasStuck() {
		fmt.Fprintf(&b, " stuck=%s/%s", g(c.StuckLow), g(c.StuckHigh))
	}
	if c.FaultMap {
		fmt.Fprintf(&b, " fault_map(spares=%d/%d", c.SpareRows, c.SpareCols)
		if c.FaultRecord > 0 {
			fmt.Fprintf(&b, " record=%d", c.FaultRecord)
		}
		b.WriteString(")")
	}
	return b.String()
}
