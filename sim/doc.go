// Package sim is PANTHER's cycle-level simulator: it executes a program
// container (package program) on an architecture (package arch) with exact
// functional semantics and accounts time, energy, area and power.
//
// Components are the cores and the tiles' control units. An engine keeps one
// wake-up at most per component, ordered by time and then by component id;
// a component runs only when it can progress. One that waits for a
// shared-memory word, a receive-buffer slot or a long operation is not
// stepped: it is woken by the store, the packet or the latency it waits for,
// so idle cycles cost nothing and the order of simultaneous events, and with
// it every result, is the same on every run.
//
// Crossbars are xbar.Units configured from arch's crossbar data and charged
// from xbar's event counters; vector arithmetic is package alu, shared with
// the trainer, so both compute the same bits. The timing, energy and
// leakage model is written out in docs/simulator.md.
//
// sim knows nothing of models, ONNX or datasets, and nothing of how a program
// was compiled: it runs instructions.
package sim
