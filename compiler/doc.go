// Package compiler lowers a network (model.Network, from the YAML form or
// the ONNX front end in model/onnx) and a training configuration to a
// PANTHER program container: one program per core and per tile control
// unit, weight images for every matrix unit, the examples in shared
// memory, and a report.
//
// It owns the lowering (docs/compiler.md, "The pipeline"): the chain of
// stages (the IR: one matrix, pooling or activation stage per layer,
// activations folded into the stage before them) and the training graph
// built from it (forward MVMs, loss gradient, backward MTVMs on the same
// crossbars, activation derivatives, OPA updates, CRS as the variant
// requires); the cut of each cell matrix into crossbar tiles summed by
// xbar.TreeSum's tree; the partition of the work over cores and their
// placement on tiles and nodes;
// the layout of shared memory (map stores, rings and record streams); code
// generation; and the order of the tiles' transfers, which it finds by
// running its own programs on a control-and-memory model (machine.go).
//
// Its programs compute exactly what package train computes, bit for bit
// (the same crossbar tiles, tree order, vector-unit operations and update
// order); docs/compiler.md lists where the two differ and why. It knows
// nothing of simulation timing or energy (that is package sim's), and the
// simulator knows nothing of ONNX or of this package.
package compiler
