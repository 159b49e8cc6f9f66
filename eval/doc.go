// Package eval compares PANTHER with its baselines: the paper's workloads,
// the baseline designs (architecture presets of their own), and an analytic
// GPU model, reported as time and energy per training step, their ratios and
// the energy by operation beside panther's (docs/reproduction.md).
//
// It computes comparisons from what the compiler, the simulator and the GPU
// model report; it knows nothing of crossbar numerics or instruction
// encodings.
package eval
