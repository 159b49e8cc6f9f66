// Package xbar is the one place that knows what a bit-sliced ReRAM crossbar
// computes (docs/numeric-model.md): sliced sets of crossbar arrays holding a cell
// matrix, their matrix-vector products in both directions through a modelled
// ADC, outer-product updates without carry propagation, carry resolution, and
// the matrix units of the three PANTHER variants, and the fault-aware
// mapping of stuck cells: spare lines, nearest allowed weights and the
// digital fault record (faultmap.go, faultrecord.go). It also counts the
// events that the simulator charges time and energy for.
//
// It knows nothing of instructions, programs, timing or energy tables, and
// nothing of models or training: callers hand it integer codes.
//
// Representation: each slice keeps its cell values v as a flat row-major
// array; the set keeps every cell's accumulator Q in step with them, which
// makes ideal-ADC products plain integer dot products. Products through a
// finite ADC need the partial sum of every slice, input bit and output line;
// those come from bit-planes of the cells (one bit of every cell of a line in
// a machine word) ANDed with the input's bit-planes and counted with popcount.
// The planes are built on first use and then patched cell by cell on writes.
// Sets of ideal cells that OPA writes without live planes (every update set
// of the accumulate and pipelined variants) keep their cells packed instead:
// each cell's slices side by side in machine words, so that one add writes
// an update's chunk into every slice of a word (packed.go). Program and CRS
// leave the cells as the nominal form of the accumulators; the per-slice
// arrays and the packed words (row by row, as OPAs reach the rows) are
// written from whichever form is current when something next uses them.
package xbar
