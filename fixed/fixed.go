// Package fixed owns panther's fixed-point arithmetic: Q formats in 16 bits
// (Q4.12 by default), exact round-half-away conversions, saturation that
// reports every event, and the rounding modes used by weight updates.
//
// It knows nothing of crossbars, devices or instructions.
package fixed

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Width is the number of bits of every fixed-point word.
const Width = 16

// Limits of a 16-bit two's-complement word.
const (
	Min = math.MinInt16
	Max = math.MaxInt16
)

// Format is a signed Q format of Width bits: IntBits integer bits (sign
// included) and FracBits fraction bits.
type Format struct {
	IntBits  int
	FracBits int
}

// Q4_12 is the format of activations, errors and weights.
var Q4_12 = Format{IntBits: 4, FracBits: 12}

// ParseFormat reads "Q4.12"-style names.
func ParseFormat(s string) (Format, error) {
	body, ok := strings.CutPrefix(strings.ToUpper(strings.TrimSpace(s)), "Q")
	ib, fb, dot := strings.Cut(body, ".")
	i, err1 := strconv.Atoi(ib)
	f, err2 := strconv.Atoi(fb)
	if !ok || !dot || err1 != nil || err2 != nil {
		return Format{}, fmt.Errorf("fixed-point format %q: want Q<int>.<frac>, e.g. Q4.12", s)
	}
	q := Format{IntBits: i, FracBits: f}
	return q, q.Validate()
}

// Validate checks that the format fills exactly Width bits.
func (q Format) Validate() error {
	if q.IntBits < 1 || q.FracBits < 0 || q.IntBits+q.FracBits != Width {
		return fmt.Errorf("fixed-point format Q%d.%d: integer bits (>= 1) and fraction bits (>= 0) must add up to %d",
			q.IntBits, q.FracBits, Width)
	}
	return nil
}

func (q Format) String() string { return fmt.Sprintf("Q%d.%d", q.IntBits, q.FracBits) }

// Scale is 2^FracBits, the code of the real value 1.
func (q Format) Scale() float64 { return math.Ldexp(1, q.FracBits) }

// Float returns the real value of code v.
func (q Format) Float(v int16) float64 { return math.Ldexp(float64(v), -q.FracBits) }

// FromFloat converts x to its code: sat16(round_half_away(x * 2^FracBits)),
// exact on x's binary value. sat reports a saturation event (the rounded value
// lies outside the 16-bit range). NaN and infinities are errors.
func (q Format) FromFloat(x float64) (v int16, sat bool, err error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false, fmt.Errorf("cannot convert %v to %s", x, q)
	}
	// Scaling by a power of two is exact (subnormal results only lose bits
	// far below one half, which cannot change the rounding), and math.Round
	// rounds half away from zero.
	r := math.Round(math.Ldexp(x, q.FracBits))
	if r < Min {
		return Min, true, nil
	}
	if r > Max {
		return Max, true, nil
	}
	return int16(r), false, nil
}

// Sat16 clamps v to the 16-bit range; sat reports that v was outside it. A
// value exactly on a limit is not an event.
func Sat16(v int64) (q int16, sat bool) {
	switch {
	case v < Min:
		return Min, true
	case v > Max:
		return Max, true
	}
	return int16(v), false
}

// RoundShift returns round_half_away(v / 2^shift) exactly, for shift >= 0.
func RoundShift(v int64, shift uint) int64 {
	if shift == 0 {
		return v
	}
	if shift >= 63 {
		// |v| < 2^63 <= 2^shift: the quotient is below one in magnitude and
		// reaches one half only when shift == 63 and |v| >= 2^62.
		if shift == 63 && (v >= 1<<62 || v <= -(1<<62)) {
			if v < 0 {
				return -1
			}
			return 1
		}
		return 0
	}
	// Work on the magnitude in uint64: |v| + half cannot overflow there, and
	// math.MinInt64 has a magnitude. The sign is applied without a branch:
	// outputs of mixed signs would mispredict it.
	half := uint64(1) << (shift - 1)
	sign := v >> 63 // 0 or -1
	mag := uint64((v ^ sign) - sign)
	return (int64((mag+half)>>shift) ^ sign) - sign
}

// Counter counts saturation events. The zero value is ready to use.
type Counter struct{ Events int64 }

// Sat16 clamps v like the package function and counts an event.
func (c *Counter) Sat16(v int64) int16 {
	q, sat := Sat16(v)
	if sat {
		c.Events++
	}
	return q
}

// Add returns sat16(a + b), counting an event when it clamps.
func (c *Counter) Add(a, b int16) int16 { return c.Sat16(int64(a) + int64(b)) }

// PixelCodes maps an 8-bit value v to the Q4.12 code of v/255 (exact
// rounding, in [0, 1]): how the trainer and compiled programs read images.
var PixelCodes = func() (t [256]int16) {
	for v := range t {
		t[v], _, _ = Q4_12.FromFloat(float64(v) / 255)
	}
	return t
}()
