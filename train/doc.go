// Package train owns panther's fast functional trainer: it trains a
// model.Network on a dataset with every product and weight update going
// through the crossbar model of package xbar (MVM, MTVM, OPA and CRS of the
// chosen variant, slice plans, rounding, ADC and device model), with an FP32
// reference of the same architecture beside it; it also owns checkpoints and
// the accuracy study. The per-example semantics are written out in
// docs/training.md.
//
// It knows nothing of instructions, programs, timing or energy: it is the
// numeric half of a training run, and the simulator must produce the same
// bits for the same network (the tree sums of xbar and the vector-unit
// arithmetic of package alu are shared for that reason).
package train
