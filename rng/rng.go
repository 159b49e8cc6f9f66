// Package rng is panther's one seeded random generator. Every random choice in
// the project (stochastic rounding, device variation, noise, data shuffling)
// draws from a Source made here, so a run is reproduced bit for bit by its seed.
//
// It knows nothing of crossbars or training; it only turns a seed into a
// deterministic stream.
package rng

import (
	"math"
	"math/rand/v2"
)

// Source is a deterministic stream of random numbers. It is not safe for
// concurrent use; give each goroutine its own Source (see Derive).
type Source struct {
	pcg *rand.PCG
	r   *rand.Rand
}

// New returns the stream for seed. The second PCG word is fixed so that the
// same seed always gives the same stream on every platform.
func New(seed uint64) *Source {
	pcg := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	return &Source{pcg: pcg, r: rand.New(pcg)}
}

// Derive returns an independent stream for a named purpose under the same
// seed (for example one per crossbar set), so adding a consumer does not shift
// the draws of the others.
func Derive(seed uint64, purpose string, index int) *Source {
	h := uint64(14695981039346656037) // FNV-1a over the purpose and index
	for i := 0; i < len(purpose); i++ {
		h ^= uint64(purpose[i])
		h *= 1099511628211
	}
	h ^= uint64(index)
	h *= 1099511628211
	return New(seed ^ mix(h))
}

// mix is SplitMix64's finaliser; it spreads nearby inputs across all bits.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Uint32 returns 32 uniformly random bits.
func (s *Source) Uint32() uint32 { return uint32(s.pcg.Uint64() >> 32) }

// Uint64 returns 64 uniformly random bits.
func (s *Source) Uint64() uint64 { return s.pcg.Uint64() }

// Float64 returns a uniform value in [0, 1).
func (s *Source) Float64() float64 { return s.r.Float64() }

// Norm returns a standard normal value.
func (s *Source) Norm() float64 { return s.r.NormFloat64() }

// LogNormal returns exp(N(0, sigma^2)), a positive multiplier with median 1.
func (s *Source) LogNormal(sigma float64) float64 { return math.Exp(sigma * s.r.NormFloat64()) }

// IntN returns a uniform integer in [0, n).
func (s *Source) IntN(n int) int { return s.r.IntN(n) }

// Perm returns a random permutation of [0, n).
func (s *Source) Perm(n int) []int { return s.r.Perm(n) }

// MarshalBinary saves the stream's position, so a checkpoint can resume it.
func (s *Source) MarshalBinary() ([]byte, error) { return s.pcg.MarshalBinary() }

// UnmarshalBinary restores a position saved by MarshalBinary.
func (s *Source) UnmarshalBinary(b []byte) error { return s.pcg.UnmarshalBinary(b) }

// Int16s returns n values drawn uniformly from [lo, hi), which must lie
// within the int16 range with lo < hi.
func (s *Source) Int16s(n, lo, hi int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(lo + s.r.IntN(hi-lo))
	}
	return out
}
