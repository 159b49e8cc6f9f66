package fixed

import "github.com/panther-xbar/panther/internal/enum"

// Rounding selects how a weight update with a fractional part becomes an
// integer number of cell steps. Each mode acts on the magnitude, so the
// result's sign is always the update's sign.
type Rounding uint8

const (
	// Nearest rounds half up on |g|: ties away from zero on g.
	Nearest Rounding = iota
	// Truncate drops the fraction of |g|.
	Truncate
	// Stochastic rounds |g| up with probability frac(|g|), using one
	// uniform draw u = k / 2^32 from the seeded generator.
	Stochastic
)

var roundingNames = enum.Names[Rounding]{Nearest: "nearest", Truncate: "truncate", Stochastic: "stochastic"}

func (r Rounding) String() string { return roundingNames.String("rounding", r) }

// ParseRounding reads a rounding mode name.
func ParseRounding(s string) (Rounding, error) { return roundingNames.Parse("rounding", s) }

// MarshalText and UnmarshalText let configs name a rounding mode.
func (r Rounding) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r *Rounding) UnmarshalText(b []byte) error {
	v, err := ParseRounding(string(b))
	*r = v
	return err
}
