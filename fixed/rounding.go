package fixed

import (
	"fmt"
	"strings"
)

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

var roundingNames = [...]string{Nearest: "nearest", Truncate: "truncate", Stochastic: "stochastic"}

func (r Rounding) String() string {
	if int(r) < len(roundingNames) {
		return roundingNames[r]
	}
	return fmt.Sprintf("rounding(%d)", r)
}

// ParseRounding reads a rounding mode name.
func ParseRounding(s string) (Rounding, error) {
	for i, n := range roundingNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Rounding(i), nil
		}
	}
	return 0, fmt.Errorf("rounding %q: want one of %s", s, strings.Join(roundingNames[:], ", "))
}

// MarshalText and UnmarshalText let configs name a rounding mode.
func (r Rounding) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r *Rounding) UnmarshalText(b []byte) error {
	v, err := ParseRounding(string(b))
	*r = v
	return err
}
