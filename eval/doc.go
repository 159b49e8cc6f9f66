// Package eval compares PANTHER with its baselines (SPEC sections 6 and 7):
// the paper's workloads, the per-design architecture sets, and an analytic
// GPU model, reported as time and energy per training step and their ratios.
//
// It computes comparisons from what the compiler, the simulator and the GPU
// model report; it knows nothing of crossbar numerics or instruction
// encodings.
package eval
