package xbar

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/panther-xbar/panther/fixed"
)

// Limits of a slice plan.
const (
	MaxCellBits     = 8  // levels per cell stay within what ReRAM devices offer
	MaxFractionBits = 16 // extra fraction bits below the weight LSB
)

// Slice is one crossbar of a sliced set: its nominal bits, the bits its cells
// can hold (the excess is headroom for un-propagated carries) and its offset
// in the accumulator.
type Slice struct {
	NominalBits int
	CellBits    int
	Offset      int
}

// Signed reports whether the slice has headroom, and so holds a signed value.
func (s Slice) Signed() bool { return s.CellBits > s.NominalBits }

// Range is the interval of values v a cell of this slice holds.
func (s Slice) Range() (lo, hi int32) {
	if s.Signed() {
		return -(1 << (s.CellBits - 1)), 1<<(s.CellBits-1) - 1
	}
	return 0, 1<<s.NominalBits - 1
}

// Bias maps a value to its physical level: level = v + Bias.
func (s Slice) Bias() int32 {
	if s.Signed() {
		return 1 << (s.CellBits - 1)
	}
	return 0
}

// Plan is a slice plan (docs/numeric-model.md): slices least significant first, and the
// extra fraction bits below the weight LSB. The nominal bits add up to
// 16 + FractionBits.
type Plan struct {
	Slices        []Slice
	FractionBits  int
	nominalString string // canonical text form, kept for cheap String calls
}

// NewPlan builds and validates a plan from per-slice nominal and cell bits.
func NewPlan(nominal, cell []int, fractionBits int) (Plan, error) {
	if len(nominal) == 0 {
		return Plan{}, fmt.Errorf("slice plan: no slices: give at least one nominal bit count")
	}
	if len(cell) != len(nominal) {
		return Plan{}, fmt.Errorf("slice plan: %d nominal bit counts but %d cell bit counts: give one cell bit count per slice", len(nominal), len(cell))
	}
	if fractionBits < 0 || fractionBits > MaxFractionBits {
		return Plan{}, fmt.Errorf("slice plan: extra fraction bits f = %d is out of range [0, %d]", fractionBits, MaxFractionBits)
	}
	p := Plan{FractionBits: fractionBits, Slices: make([]Slice, len(nominal))}
	offset := 0
	for i := range nominal {
		nb, cb := nominal[i], cell[i]
		if nb < 1 || nb > MaxCellBits {
			return Plan{}, fmt.Errorf("slice plan: slice %d nominal bits = %d is out of range [1, %d]", i, nb, MaxCellBits)
		}
		if cb < nb || cb > MaxCellBits {
			return Plan{}, fmt.Errorf("slice plan: slice %d cell bits = %d is out of range [%d (its nominal bits), %d]", i, cb, nb, MaxCellBits)
		}
		p.Slices[i] = Slice{NominalBits: nb, CellBits: cb, Offset: offset}
		offset += nb
	}
	if want := fixed.Width + fractionBits; offset != want {
		return Plan{}, fmt.Errorf("slice plan: nominal bits add up to %d, but must add up to %d (16 weight bits + %d extra fraction bits)", offset, want, fractionBits)
	}
	p.nominalString = p.format()
	return p, nil
}

// MustPlan is ParsePlan for plans written in the source, such as presets.
func MustPlan(text string) Plan {
	p, err := ParsePlan(text)
	if err != nil {
		panic(err)
	}
	return p
}

// The default plans (docs/numeric-model.md).
var (
	// DefaultInplacePlan: nominal 2 x 8, cell bits 6,6,6,6,5,5,5,5, f = 0.
	DefaultInplacePlan = MustPlan("2x8/6x4,5x4")
	// DefaultReadPlan: nominal 2 x 8 with 2-bit cells, no headroom.
	DefaultReadPlan = MustPlan("2x8")
	// DefaultUpdatePlan: f = 8, 12 slices of 2 bits, cells 6 x 8 then 5 x 4.
	DefaultUpdatePlan = MustPlan("2x12/6x8,5x4/f8")
)

// ParsePlan reads the compact text form NOMINAL[/CELLS][/fN]: each list is
// comma separated, an item "bxn" repeats b n times, least significant slice
// first. Without CELLS the cells have no headroom. Examples: "2x8/6x4,5x4",
// "2x8", "2x12/6x8,5x4/f8", "4,4,4,4/6,6,6,5".
func ParsePlan(text string) (Plan, error) {
	parts := strings.Split(strings.TrimSpace(text), "/")
	if len(parts) > 3 {
		return Plan{}, fmt.Errorf("slice plan %q: too many '/' parts: want NOMINAL[/CELLS][/fN], e.g. 2x8/6x4,5x4", text)
	}
	f := 0
	if last := parts[len(parts)-1]; len(parts) > 1 && strings.HasPrefix(last, "f") {
		v, err := strconv.Atoi(last[1:])
		if err != nil {
			return Plan{}, fmt.Errorf("slice plan %q: extra fraction bits %q: want f followed by a number, e.g. f8", text, last)
		}
		f = v
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 2 {
		return Plan{}, fmt.Errorf("slice plan %q: want NOMINAL[/CELLS][/fN], e.g. 2x8/6x4,5x4/f0", text)
	}
	nominal, err := parseBitList(parts[0])
	if err != nil {
		return Plan{}, fmt.Errorf("slice plan %q: nominal bits: %w", text, err)
	}
	cell := nominal
	if len(parts) == 2 {
		if cell, err = parseBitList(parts[1]); err != nil {
			return Plan{}, fmt.Errorf("slice plan %q: cell bits: %w", text, err)
		}
	}
	p, err := NewPlan(nominal, cell, f)
	if err != nil {
		return Plan{}, fmt.Errorf("%q: %w", text, err)
	}
	return p, nil
}

// maxSlices bounds a parsed list: a plan never needs more slices than bits.
const maxSlices = fixed.Width + MaxFractionBits

func parseBitList(s string) ([]int, error) {
	var out []int
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		bits, count, repeated := strings.Cut(item, "x")
		b, err := strconv.Atoi(bits)
		if err != nil {
			return nil, fmt.Errorf("item %q: want a bit count or bits x count, e.g. 2 or 2x8", item)
		}
		n := 1
		if repeated {
			if n, err = strconv.Atoi(count); err != nil || n < 1 {
				return nil, fmt.Errorf("item %q: repeat count must be a positive number", item)
			}
		}
		if len(out)+n > maxSlices {
			return nil, fmt.Errorf("more than %d slices", maxSlices)
		}
		for range n {
			out = append(out, b)
		}
	}
	return out, nil
}

// String gives the canonical compact form, which ParsePlan reads back.
func (p Plan) String() string {
	if p.nominalString == "" && len(p.Slices) > 0 {
		return p.format()
	}
	return p.nominalString
}

func (p Plan) format() string {
	nominal := make([]int, len(p.Slices))
	cell := make([]int, len(p.Slices))
	headroom := false
	for i, s := range p.Slices {
		nominal[i], cell[i] = s.NominalBits, s.CellBits
		headroom = headroom || s.Signed()
	}
	out := formatBitList(nominal)
	if headroom {
		out += "/" + formatBitList(cell)
	}
	if p.FractionBits > 0 {
		out += "/f" + strconv.Itoa(p.FractionBits)
	}
	return out
}

func formatBitList(bits []int) string {
	var items []string
	for i := 0; i < len(bits); {
		j := i
		for j < len(bits) && bits[j] == bits[i] {
			j++
		}
		if j-i == 1 {
			items = append(items, strconv.Itoa(bits[i]))
		} else {
			items = append(items, fmt.Sprintf("%dx%d", bits[i], j-i))
		}
		i = j
	}
	return strings.Join(items, ",")
}

// HasHeadroom reports whether any slice is signed; the ADC then uses its
// signed range for the whole set (docs/numeric-model.md).
func (p Plan) HasHeadroom() bool {
	for _, s := range p.Slices {
		if s.Signed() {
			return true
		}
	}
	return false
}

// Bias is 2^(15+f), the offset of the accumulator's offset code U = Q + Bias.
func (p Plan) Bias() int64 { return 1 << (fixed.Width - 1 + p.FractionBits) }

// Equal reports whether two plans describe the same slices.
func (p Plan) Equal(q Plan) bool { return p.String() == q.String() }

// MarshalText and UnmarshalText let configs hold plans in their compact form.
func (p Plan) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (p *Plan) UnmarshalText(b []byte) error {
	v, err := ParsePlan(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
