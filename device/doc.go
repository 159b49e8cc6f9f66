// Package device owns ReRAM cell physics (docs/devices.md): what a write pulse train
// does to one cell's level, the noise of an analog read, and which cells are
// stuck. It models one crossbar array of cells with `levels` discrete levels
// 0..L, L = levels-1, and knows nothing of slices, weights or instructions:
// the crossbar package stores every cell as an integer level and asks Cells
// where a write lands.
//
// Everything is in level units: a cell's state is w in [0, L] and the
// nonlinear model's weight range is R = L. The project's reading of the models (docs/devices.md):
//
//   - d2d: at creation each cell draws a step multiplier m = LogNormal(d2d)
//     (every cell, in index order, only when d2d > 0; otherwise m = 1).
//   - c2c: each write adds N(0, c2c*sqrt(|delta|)) levels after the model's
//     own noise.
//   - ideal: target = level + delta*m, plus c2c noise.
//   - nonlinear, the authors' write model with delta_n = delta*m/R, w_min = 0,
//     w_max = R, w0 = R/(1-e^-alpha): potentiation moves the cell by
//     ((w0 + w_min) - w)(1 - e^(-alpha*delta_n)), depression by
//     ((w_max - w0) - w)(1 - e^(alpha*delta_n)), plus write noise
//     N(0, sigma*sqrt(R)*sqrt(|delta_n|)) = N(0, sigma*sqrt(|delta*m|)) levels:
//     the formula's update is read as delta_n = g/R. With sigma_update g the
//     update is the change in levels, delta*m, and the noise is
//     N(0, sigma*sqrt(R)*sqrt(|delta*m|)) levels.
//     alpha = 0 is the limit, a change of exactly delta*m.
//   - table: the normalised state s = level/L takes |delta| pulses; each moves
//     s by Table.Step(s, up).mean*m, plus N(0, spread) when the table has a
//     spread column (one draw per pulse, even where spread is 0), and s is
//     clamped to [0, 1] after each pulse. Then target = s*L plus c2c noise.
//   - The target is rounded half away from zero and not clamped to [0, L]:
//     the caller clamps and counts saturation. With kind ideal and no d2d or
//     c2c a write is exactly level+delta and draws nothing.
//   - stuck: at creation, before the d2d multipliers, each cell in index
//     order draws u = Float64() (only when stuck_low+stuck_high > 0);
//     u < stuck_low sticks it at 0, u < stuck_low+stuck_high at L. A stuck
//     cell's write returns its stuck level and draws nothing.
//   - read noise: an analog partial sum with `active` contributing cells gets
//     read_noise*sqrt(active)*N(0, 1) levels; with read_noise_scale range,
//     read_noise is a fraction of the cell's range and the sum gets
//     read_noise*L*sqrt(active)*N(0, 1) levels.
//
// All randomness comes from one rng.Source, at creation and then in write
// order, so the same seed and the same sequence of calls give the same bits.
package device
