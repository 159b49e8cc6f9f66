package xbar

import (
	"math/big"

	"github.com/panther-xbar/panther/fixed"
	"pgregory.net/rapid"
)

// This file holds plain reference implementations written straight from
// SPEC 1.2-1.4, one loop per sum, and the generators the property tests use.

// refProduct is the naive MVM (transposed false) or MTVM: every slice, input
// bit and line, each partial sum through the ADC, read from the cells.
func refProduct(s *Set, in []int16, transposed bool) (out []int16, clips int64) {
	sums, clips := refLineSums(s, in, transposed)
	out = make([]int16, len(sums))
	for o, acc := range sums {
		out[o], _ = fixed.Sat16(fixed.RoundShift(acc, uint(12+s.cfg.Plan.FractionBits)))
	}
	return out, clips
}

// refLineSums is refProduct's shift-and-add sum of every output line, offset
// removed, before the final rounding.
func refLineSums(s *Set, in []int16, transposed bool) (sums []int64, clips int64) {
	nIn, nOut := s.rows, s.cols
	if transposed {
		nIn, nOut = s.cols, s.rows
	}
	cell := func(i, line, o int) int64 {
		if transposed {
			return int64(s.Cell(i, o, line))
		}
		return int64(s.Cell(i, line, o))
	}
	p := s.cfg.Plan
	var lo, hi int64
	if !s.cfg.ADC.Ideal {
		lo, hi = s.adcRange()
	}
	sums = make([]int64, nOut)
	for o := 0; o < nOut; o++ {
		var acc int64
		for i, sl := range p.Slices {
			for step := 0; step < 16; step++ {
				var partial int64
				for j := 0; j < nIn; j++ {
					if uint16(in[j])>>step&1 == 1 {
						partial += cell(i, j, o)
					}
				}
				if !s.cfg.ADC.Ideal {
					q := fixed.RoundShift(partial, uint(s.cfg.ADC.Shift))
					if q < lo || q > hi {
						clips++
						q = min(max(q, lo), hi)
					}
					partial = q << s.cfg.ADC.Shift
				}
				sign := int64(1)
				if step == 15 {
					sign = -1
				}
				acc += sign * partial << (sl.Offset + step)
			}
		}
		for j := 0; j < nIn; j++ {
			acc -= p.Bias() * int64(in[j])
		}
		sums[o] = acc
	}
	return sums, clips
}

// bigAccumulator recomputes Q of a cell from its slices with math/big.
func bigAccumulator(s *Set, r, c int) *big.Int {
	q := new(big.Int)
	for i, sl := range s.cfg.Plan.Slices {
		v := big.NewInt(int64(s.Cell(i, r, c)))
		q.Add(q, v.Lsh(v, uint(sl.Offset)))
	}
	bias := new(big.Int).Lsh(big.NewInt(1), uint(15+s.cfg.Plan.FractionBits))
	return q.Sub(q, bias)
}

// bigExactProduct is sum Q x with math/big, rounded and saturated once: what
// an ideal ADC must give.
func bigExactProduct(s *Set, in []int16, transposed bool) []int16 {
	nIn, nOut := s.rows, s.cols
	if transposed {
		nIn, nOut = s.cols, s.rows
	}
	out := make([]int16, nOut)
	for o := 0; o < nOut; o++ {
		acc := new(big.Int)
		for j := 0; j < nIn; j++ {
			r, c := j, o
			if transposed {
				r, c = o, j
			}
			acc.Add(acc, new(big.Int).Mul(bigAccumulator(s, r, c), big.NewInt(int64(in[j]))))
		}
		out[o] = bigRoundSat(acc, 12+s.cfg.Plan.FractionBits)
	}
	return out
}

// bigRoundSat is sat16(round_half_away(v / 2^shift)) on a big integer.
func bigRoundSat(v *big.Int, shift int) int16 {
	den := new(big.Int).Lsh(big.NewInt(1), uint(shift))
	abs := new(big.Int).Abs(v)
	abs.Mul(abs, big.NewInt(2)).Add(abs, den)
	abs.Quo(abs, new(big.Int).Mul(den, big.NewInt(2))) // floor((2|v| + den) / 2den)
	if v.Sign() < 0 {
		abs.Neg(abs)
	}
	switch {
	case abs.Cmp(big.NewInt(fixed.Max)) > 0:
		return fixed.Max
	case abs.Cmp(big.NewInt(fixed.Min)) < 0:
		return fixed.Min
	}
	return int16(abs.Int64())
}

// bigUpdate is the exactly rounded |g| of SPEC 1.3 for nearest or truncate,
// with its sign, from big rationals.
func bigUpdate(eta float64, x, d int16, f int, rounding fixed.Rounding) int64 {
	g := new(big.Rat).SetFloat64(eta)
	g.Mul(g, new(big.Rat).SetInt64(int64(x)*int64(d)))
	scale := new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 12))
	if f >= 12 {
		g.Mul(g, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(f-12))))
	} else {
		scale.SetInt(new(big.Int).Lsh(big.NewInt(1), uint(12-f)))
		g.Quo(g, scale)
	}
	neg := g.Sign() < 0
	g.Abs(g)
	whole := new(big.Int).Quo(g.Num(), g.Denom())
	if rounding == fixed.Nearest {
		twice := new(big.Rat).Mul(g, big.NewRat(2, 1))
		twiceWhole := new(big.Int).Quo(twice.Num(), twice.Denom())
		// round half up: floor(|g| + 1/2) = floor((2|g| + 1) / 2)
		whole.Add(twiceWhole, big.NewInt(1)).Rsh(whole, 1)
	}
	v := whole.Int64()
	if neg {
		return -v
	}
	return v
}

// genPlan draws a valid slice plan: nominal bits split 16+f, cell bits at
// or above them.
func genPlan(t *rapid.T, maxF int) Plan {
	f := rapid.IntRange(0, maxF).Draw(t, "f")
	total := 16 + f
	var nominal, cell []int
	for total > 0 {
		nb := rapid.IntRange(1, min(4, total)).Draw(t, "nb")
		nominal = append(nominal, nb)
		cell = append(cell, rapid.IntRange(nb, min(nb+3, MaxCellBits)).Draw(t, "cb"))
		total -= nb
	}
	p, err := NewPlan(nominal, cell, f)
	if err != nil {
		t.Fatalf("generated plan: %v", err)
	}
	return p
}

func genCodes(t *rapid.T, n int, lo, hi int16, label string) []int16 {
	return rapid.SliceOfN(rapid.Int16Range(lo, hi), n, n).Draw(t, label)
}

// cells returns a copy of slice i's cell values, brought up to date from
// the packed form when the set works in it.
func (s *Set) cells(i int) []int16 {
	s.ensureSlices()
	sl := &s.slices[i]
	v := make([]int16, len(sl.biased))
	for idx := range v {
		v[idx] = int16(sl.level(idx))
	}
	return v
}
