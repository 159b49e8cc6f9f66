package xbar

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/internal/enum"
)

// Size is the physical size of one crossbar array.
type Size struct{ Rows, Cols int }

// Limits of a crossbar's size.
const (
	MinSize = 32
	MaxSize = 512
)

// DefaultSize is PANTHER's 128 x 128 crossbar.
var DefaultSize = Size{Rows: 128, Cols: 128}

// Validate checks the size against the supported range.
func (s Size) Validate() error {
	if s.Rows < MinSize || s.Rows > MaxSize || s.Cols < MinSize || s.Cols > MaxSize {
		return fmt.Errorf("crossbar size %dx%d is out of range: rows and columns must lie in [%d, %d]", s.Rows, s.Cols, MinSize, MaxSize)
	}
	return nil
}

// ADC models the converter that digitises each partial sum (docs/numeric-model.md).
type ADC struct {
	// Ideal passes every partial sum through unchanged.
	Ideal bool
	// Bits of a finite ADC; its range is [0, 2^Bits-1] for a set of unsigned
	// cells and [-2^(Bits-1), 2^(Bits-1)-1] for a set with headroom.
	Bits int
	// Shift coarsens the step to 2^Shift, widening the range by as much.
	Shift int
}

// Limits of a finite ADC.
const (
	MaxADCBits  = 24
	MaxADCShift = 16
)

// DefaultADC is the 8-bit converter that runs use unless told otherwise.
var DefaultADC = ADC{Bits: 8}

// Validate checks a finite ADC's parameters.
func (a ADC) Validate() error {
	if a.Ideal {
		return nil
	}
	if a.Bits < 1 || a.Bits > MaxADCBits {
		return fmt.Errorf("adc_bits = %d is out of range [1, %d] (use adc: ideal for no converter limits)", a.Bits, MaxADCBits)
	}
	if a.Shift < 0 || a.Shift > MaxADCShift {
		return fmt.Errorf("adc_shift = %d is out of range [0, %d]", a.Shift, MaxADCShift)
	}
	return nil
}

// String gives the form ParseADC reads: "ideal", "8" or "8>>2".
func (a ADC) String() string {
	switch {
	case a.Ideal:
		return "ideal"
	case a.Shift > 0:
		return fmt.Sprintf("%d>>%d", a.Bits, a.Shift)
	}
	return strconv.Itoa(a.Bits)
}

// ParseADC reads "ideal", a bit count ("8", "8bit") or bits with a shift ("8>>2").
func ParseADC(s string) (ADC, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "ideal" {
		return ADC{Ideal: true}, nil
	}
	bits, shift, hasShift := strings.Cut(s, ">>")
	bits = strings.TrimSuffix(strings.TrimSuffix(bits, "bit"), "-")
	var a ADC
	var err error
	if a.Bits, err = strconv.Atoi(bits); err != nil {
		return ADC{}, fmt.Errorf("adc %q: want ideal, a bit count such as 8, or bits>>shift such as 8>>2", s)
	}
	if hasShift {
		if a.Shift, err = strconv.Atoi(shift); err != nil {
			return ADC{}, fmt.Errorf("adc %q: shift %q is not a number", s, shift)
		}
	}
	return a, a.Validate()
}

func (a ADC) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *ADC) UnmarshalText(b []byte) error {
	v, err := ParseADC(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// OPAMode selects how an outer product reaches the cells (docs/numeric-model.md).
type OPAMode uint8

const (
	// Chunked adds each cell's rounded update, cut at slice boundaries, at once.
	Chunked OPAMode = iota
	// Bitstream follows the hardware's pulses: the row input's magnitude bits
	// LSB first, each step adding the growth of the rounded partial update.
	Bitstream
	// PerStep is Bitstream with each step's own product rounded.
	PerStep
	// Resolved adds each cell's rounded update to its accumulator exactly
	// and rewrites the set in nominal form at once, as a design whose update
	// is digital does (read out, add, write back): no slice clamps, and the
	// accumulator saturates as a CRS saturates it. Such a set never needs a
	// CRS.
	Resolved
)

var opaModeNames = enum.Names[OPAMode]{Chunked: "chunked", Bitstream: "bitstream", PerStep: "per_step", Resolved: "resolved"}

func (m OPAMode) String() string { return opaModeNames.String("opa_mode", m) }

// ParseOPAMode reads an OPA mode name.
func ParseOPAMode(s string) (OPAMode, error) { return opaModeNames.Parse("opa mode", s) }

func (m OPAMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (m *OPAMode) UnmarshalText(b []byte) error {
	v, err := ParseOPAMode(string(b))
	*m = v
	return err
}

// SetConfig describes one sliced set of crossbars.
type SetConfig struct {
	Plan     Plan
	Size     Size
	ADC      ADC
	Device   device.Config
	Rounding fixed.Rounding
	OPAMode  OPAMode
	// Seed feeds the set's random streams (stochastic rounding, device).
	Seed uint64
	// RowOrder, if set, says which row of the cell matrix each crossbar row
	// holds: row k holds the matrix's row RowOrder[k]. The devices are
	// drawn by matrix row, so a placement that orders a matrix's rows its
	// own way meets the stuck cells, d2d multipliers and spare lines the
	// matrix meets in matrix order (docs/devices.md). Nil is matrix order.
	RowOrder []int
}

// Validate checks every parameter and names the one that is wrong.
func (c SetConfig) Validate() error {
	if len(c.Plan.Slices) == 0 {
		return fmt.Errorf("slice plan is empty: give one, e.g. %s", DefaultInplacePlan)
	}
	if err := c.Size.Validate(); err != nil {
		return err
	}
	if err := c.ADC.Validate(); err != nil {
		return err
	}
	if c.Rounding > fixed.Stochastic {
		return fmt.Errorf("rounding %v is not a rounding mode", c.Rounding)
	}
	if c.OPAMode > Resolved {
		return fmt.Errorf("%v is not an OPA mode", c.OPAMode)
	}
	if err := c.Device.Validate(); err != nil {
		return err
	}
	if c.Device.Kind == device.KindTable && c.Device.Table == nil {
		return fmt.Errorf("device table %q is not loaded: call device.Config.Load first", c.Device.TablePath)
	}
	return nil
}
