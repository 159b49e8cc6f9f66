package model

import (
	"math"

	"github.com/panther-xbar/panther/rng"
)

// InitialWeights draws layer i's cell matrix M (CellRows x CellCols,
// row-major) for training from seed: He-uniform weights in
// [-sqrt(6/fan_in), sqrt(6/fan_in)), drawn in row-major order from the stream
// Derive(seed, "init", i), and a zero bias row. The trainer and the compiler
// both start from it, so a compiled run and a trained one begin with the
// same weights. It returns nil for layers without weights.
func InitialWeights(l Layer, seed uint64, i int) []float64 {
	if !l.Trainable() {
		return nil
	}
	src := rng.Derive(seed, "init", i)
	a := math.Sqrt(6 / float64(l.FanIn()))
	m := make([]float64, l.CellRows()*l.CellCols())
	for k := range l.FanIn() * l.CellCols() {
		m[k] = a * (2*src.Float64() - 1)
	}
	return m
}
