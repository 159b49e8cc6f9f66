package xbar

import (
	"fmt"
	"math"
	"sync"

	"github.com/panther-xbar/panther/device"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/rng"
)

// Set is one sliced set of crossbars holding a cell matrix M of rows x cols
// (docs/numeric-model.md). Cells beyond the matrix, up to the physical size, hold v = 0
// and receive input 0, so they are not stored. A Set is not safe for
// concurrent use.
type Set struct {
	cfg        SetConfig
	rows, cols int
	slices     []sliceCells
	// acc is every cell's accumulator Q = sum_i v_i 2^o_i - 2^(15+f), kept in
	// step with the slices.
	acc []int64
	// rowPlanesLive and colPlanesLive tell whether the bit-planes for MVM
	// (lines are columns) and MTVM (lines are rows) exist and are current.
	rowPlanesLive, colPlanesLive bool
	// packed holds the cells in packed form (packed.go) once a chunked OPA
	// on ideal cells has used it; packedLive tells whether it is current,
	// slicesStale whether it alone is. slicesFromAcc tells that the cells
	// are the nominal form of the accumulators, written into neither the
	// slices' arrays (which are made on first use) nor the packed words.
	// rowsFromAcc marks the rows whose packed words are still to be written
	// from the accumulators.
	pk                      *packing
	packed                  []uint64
	rowsFromAcc             []bool
	packedLive, slicesStale bool
	slicesFromAcc           bool
	rowWords, colWords      int
	minCell, maxCell        int64 // the widest cell range over the slices
	rounding                *rng.Source
	counters                Counters
	scratch                 scratch
	reads                   readState
	// faults lists the cells with a stuck slice when fault-aware mapping is
	// on (docs/devices.md); nominal writes store their nearest allowed code.
	faults []cellFault
	// record is the digital fault record (faultrecord.go), empty when off.
	record faultRecord
}

// sliceCells is one slice crossbar: its cells, device state and bit-planes.
type sliceCells struct {
	Slice
	lo, hi      int32
	bias        int32
	cellMask    uint32 // the CellBits low bits of a two's-complement value
	nominalMask uint64
	// biased holds each cell's value v plus bias, in [0, 2^CellBits - 1]:
	// cell bits <= 8 keep it in a byte.
	biased []uint8
	dev    *device.Cells // nil for ideal cells
	// rowPlanes[(c*CellBits+k)*rowWords+w] holds bit k of the cells of
	// column c, rows 64w..64w+63; colPlanes the same per row over columns.
	rowPlanes, colPlanes []uint64
}

type scratch struct {
	// phaseRows and phaseCols list the lines one sign phase drives.
	phaseRows, phaseCols []int
	// opaLists holds a chunked OPA's columns and updates.
	opaLists opaScratch
	wanted   []uint32 // faulty cells' wanted codes (fault-aware mapping)
}

// NewSet makes a set for a rows x cols cell matrix. Every cell starts at
// v = 0 (unprogrammed), except stuck cells, which sit at their stuck level.
func NewSet(cfg SetConfig, rows, cols int) (*Set, error) {
	if err := checkSet(cfg, rows, cols); err != nil {
		return nil, err
	}
	if err := checkRowOrder(cfg.RowOrder, rows); err != nil {
		return nil, err
	}
	s := &Set{
		cfg: cfg, rows: rows, cols: cols,
		acc:      make([]int64, rows*cols),
		rowWords: (rows + 63) / 64, colWords: (cols + 63) / 64,
		rounding: rng.Derive(cfg.Seed, "rounding", 0),
		counters: Counters{SliceSat: make([]int64, len(cfg.Plan.Slices))},
	}
	deviceModelled := !cfg.Device.IdealWrites() || cfg.Device.HasStuck() || cfg.Device.ReadNoise > 0
	mapped := cfg.Device.FaultMap && cfg.Device.HasStuck()
	s.slices = make([]sliceCells, len(cfg.Plan.Slices))
	for i, sl := range cfg.Plan.Slices {
		lo, hi := sl.Range()
		s.minCell, s.maxCell = min(s.minCell, int64(lo)), max(s.maxCell, int64(hi))
		c := &s.slices[i]
		*c = sliceCells{
			Slice: sl, lo: lo, hi: hi, bias: sl.Bias(),
			cellMask:    1<<sl.CellBits - 1,
			nominalMask: 1<<sl.NominalBits - 1,
		}
	}
	var mappedCells []*device.Cells
	if mapped {
		mappedCells = s.newMappedCells()
	}
	var placed []int // only device draws need the cells' places
	if deviceModelled {
		placed = cellsInRowOrder(cfg.RowOrder, cols)
	}
	for i := range s.slices {
		c := &s.slices[i]
		if deviceModelled {
			c.biased = make([]uint8, rows*cols)
			if mapped {
				c.dev = mappedCells[i]
			} else {
				c.dev = device.NewCells(cfg.Device, 1<<c.CellBits, rows*cols, rng.Derive(cfg.Seed, "device", i))
			}
			if placed != nil {
				c.dev.Remap(placed)
			}
			for idx := range c.biased {
				if level, stuck := c.dev.Stuck(idx); stuck {
					c.biased[idx] = uint8(level)
				}
			}
		}
	}
	if mapped {
		s.faults = s.findFaults()
		s.record = s.newFaultRecord(cfg.Device.FaultRecord)
	}
	if s.hasStuck() {
		s.recomputeAccumulators()
	} else {
		bias := cfg.Plan.Bias()
		for idx := range s.acc {
			s.acc[idx] = -bias // every slice holds 0
		}
	}
	// Without a device model every slice holds 0, the nominal form of
	// Q = -bias; the arrays are made when first used.
	s.slicesFromAcc = !deviceModelled
	return s, nil
}

// level is cell idx's value v.
func (c *sliceCells) level(idx int) int32 { return int32(c.biased[idx]) - c.bias }

// setLevel stores v, which must lie in the slice's range, as cell idx's value.
func (c *sliceCells) setLevel(idx int, v int32) { c.biased[idx] = uint8(v + c.bias) }

// checkSet says why NewSet would refuse cfg and shape, if it would.
func checkSet(cfg SetConfig, rows, cols int) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if rows < 1 || rows > cfg.Size.Rows || cols < 1 || cols > cfg.Size.Cols {
		return fmt.Errorf("cell matrix %dx%d does not fit a %dx%d crossbar: rows must lie in [1, %d] and columns in [1, %d]",
			rows, cols, cfg.Size.Rows, cfg.Size.Cols, cfg.Size.Rows, cfg.Size.Cols)
	}
	return checkAccumulatorRange(cfg.Plan, max(rows, cols))
}

// checkRowOrder accepts nil or a permutation of the rows' indices.
func checkRowOrder(order []int, rows int) error {
	if order == nil {
		return nil
	}
	if len(order) != rows {
		return fmt.Errorf("row order lists %d rows, the cell matrix has %d", len(order), rows)
	}
	seen := make([]bool, rows)
	for k, r := range order {
		if r < 0 || r >= rows || seen[r] {
			return fmt.Errorf("row order: crossbar row %d holds matrix row %d, which is out of [0, %d) or held twice", k, r, rows)
		}
		seen[r] = true
	}
	return nil
}

// cellsInRowOrder is the device.Cells.Remap order that puts the cells
// drawn in matrix order into the crossbar rows of order: cell (k, c) takes
// the draw of matrix cell (order[k], c). Nil for matrix order.
func cellsInRowOrder(order []int, cols int) []int {
	if order == nil {
		return nil
	}
	cells := make([]int, 0, len(order)*cols)
	for _, r := range order {
		for c := range cols {
			cells = append(cells, r*cols+c)
		}
	}
	return cells
}

// checkAccumulatorRange rejects plans whose worst-case shift-and-add sum
// could leave int64 for lines of n cells.
func checkAccumulatorRange(p Plan, n int) error {
	bound := 0.0
	for _, sl := range p.Slices {
		lo, hi := sl.Range()
		maxP := float64(n) * math.Max(-float64(lo), float64(hi))
		bound += maxP * math.Ldexp(1, sl.Offset+fixed.Width) // sum over steps < 2^(o+16)
	}
	bound += float64(p.Bias()) * float64(n) * math.Ldexp(1, fixed.Width-1)
	if bound >= math.Ldexp(1, 62) {
		return fmt.Errorf("slice plan %s with %d-cell lines could overflow the 64-bit accumulator: use fewer fraction bits or smaller cells", p, n)
	}
	return nil
}

// Rows and Cols give the cell matrix's shape.
func (s *Set) Rows() int { return s.rows }
func (s *Set) Cols() int { return s.cols }

// Config returns the set's configuration.
func (s *Set) Config() SetConfig { return s.cfg }

// Counters returns the events counted so far.
func (s *Set) Counters() Counters { return s.counters.clone() }

// ResetCounters zeroes the counters.
func (s *Set) ResetCounters() {
	s.counters = Counters{SliceSat: make([]int64, len(s.slices))}
	s.reads.forget()
}

// Cell returns v of slice i at (r, c).
func (s *Set) Cell(i, r, c int) int32 {
	s.ensureSlices()
	return s.slices[i].level(r*s.cols + c)
}

// Accumulator returns Q at (r, c), in units of 2^-f weight LSB (for a cell
// in the fault record, its wanted value).
func (s *Set) Accumulator(r, c int) int64 { return s.acc[r*s.cols+c] }

// Weights writes the represented weights q = sat16(round_half_away(Q/2^f))
// of the cell matrix into dst (row-major, rows*cols) and returns how many
// saturated. It changes nothing.
func (s *Set) Weights(dst []int16) (saturated int, err error) {
	if len(dst) != len(s.acc) {
		return 0, fmt.Errorf("weights: destination holds %d codes, the %dx%d cell matrix needs %d", len(dst), s.rows, s.cols, len(s.acc))
	}
	f := uint(s.cfg.Plan.FractionBits)
	for i, q := range s.acc {
		var sat bool
		if dst[i], sat = fixed.Sat16(fixed.RoundShift(q, f)); sat {
			saturated++
		}
	}
	return saturated, nil
}

// Program writes the cell matrix m (Q4.12 codes, row-major rows x cols) into
// every slice in nominal form, Q = q * 2^f; stuck cells keep their level.
// It counts as a serial write of every slice array.
func (s *Set) Program(m []int16) error {
	if len(m) != len(s.acc) {
		return fmt.Errorf("program: got %d codes, the %dx%d cell matrix needs %d", len(m), s.rows, s.cols, len(s.acc))
	}
	s.program(m)
	return nil
}

// program is Program for a matrix of the right shape.
func (s *Set) program(m []int16) { s.programRows(m, nil) }

// programRows is program where only the rows marked in changed (all for
// nil) differ from what the set holds.
func (s *Set) programRows(m []int16, changed []bool) {
	f := uint(s.cfg.Plan.FractionBits)
	for r := range s.rows {
		if changed != nil && !changed[r] {
			continue
		}
		for i := r * s.cols; i < (r+1)*s.cols; i++ {
			s.acc[i] = int64(m[i]) << f
		}
	}
	s.programmed()
}

// programmed puts the cells in the nominal form of the accumulators just
// programmed, a serial write of every slice array.
func (s *Set) programmed() {
	s.writeNominal()
	s.counters.SerialWrites += int64(len(s.slices))
}

// ProgramFloat converts a real cell matrix to Q4.12 and programs it. It
// returns how many values saturated in the conversion.
func (s *Set) ProgramFloat(m []float64) (saturated int, err error) {
	codes := make([]int16, len(m))
	for i, x := range m {
		var sat bool
		if codes[i], sat, err = fixed.Q4_12.FromFloat(x); err != nil {
			return 0, fmt.Errorf("program: cell %d: %w", i, err)
		}
		if sat {
			saturated++
		}
	}
	return saturated, s.Program(codes)
}

// writeNominal puts every cell in nominal form from its accumulator:
// v_i = (U >> o_i) & (2^nb_i - 1) with U = Q + 2^(15+f). Without stuck cells
// the slices' arrays or the packed words are written from the accumulators
// only when next used: a read set is often resolved again before anything
// reads it, and an update set's last CRS is not followed by an OPA. Stuck
// cells keep their level, and then the accumulators are recomputed from the
// cells. It invalidates the bit-planes, which are rebuilt when next needed:
// nearly every cell changes.
func (s *Set) writeNominal() {
	s.rowPlanesLive, s.colPlanesLive = false, false
	s.packedLive, s.slicesStale = false, false
	if s.hasStuck() {
		s.writeSlicesFromAcc()
	} else {
		s.slicesFromAcc = true
	}
	s.reads.nominalWritten(s.counters.OPAs)
}

// writeSlicesFromAcc writes every cell's slices from its biased code
// U = Q + bias. U fits 32 bits once Q is in range (16 + f <= 32); the
// narrower copy halves the memory traffic of the per-slice passes.
func (s *Set) writeSlicesFromAcc() {
	bias := s.cfg.Plan.Bias()
	b := codeBuffers.get(len(s.acc))
	codes := *b
	for idx, q := range s.acc {
		codes[idx] = uint32(q + bias)
	}
	s.writeSlices(codes)
	codeBuffers.put(b)
}

// codeBuffers lends writeSlicesFromAcc its codes.
var codeBuffers scratchPool[uint32]

// writeSlices writes every cell's slices from its biased code (with
// fault-aware mapping, the nearest code its stuck cells allow, the free
// slices then taking up the rest); stuck cells keep their level, and then
// the accumulators are recomputed from the cells.
func (s *Set) writeSlices(codes []uint32) {
	if s.faults != nil {
		s.nearestCodes(codes)
	}
	for i := range s.slices {
		sl := &s.slices[i]
		off, mask, bias := uint32(sl.Offset)&31, uint32(sl.nominalMask), uint32(sl.bias)
		v := sl.biased[:len(codes)]
		idx := 0
		for ; idx+4 <= len(codes); idx += 4 {
			u, w := codes[idx:idx+4:idx+4], v[idx:idx+4:idx+4]
			w[0] = uint8(u[0]>>off&mask + bias)
			w[1] = uint8(u[1]>>off&mask + bias)
			w[2] = uint8(u[2]>>off&mask + bias)
			w[3] = uint8(u[3]>>off&mask + bias)
		}
		for ; idx < len(codes); idx++ {
			v[idx] = uint8(codes[idx]>>off&mask + bias)
		}
		if sl.dev == nil {
			continue
		}
		for idx := range sl.biased {
			if level, stuck := sl.dev.Stuck(idx); stuck {
				sl.biased[idx] = uint8(level)
			}
		}
	}
	if s.faults != nil {
		s.takeUpResiduals()
	}
	if s.hasStuck() {
		s.recomputeAccumulators()
	}
}

func (s *Set) hasStuck() bool { return s.cfg.Device.HasStuck() }

// idealCells reports whether writes move cells by exactly what is asked.
func (s *Set) idealCells() bool { return s.slices[0].dev == nil }

func (s *Set) recomputeAccumulators() {
	bias := s.cfg.Plan.Bias()
	for idx := range s.acc {
		s.acc[idx] = -bias
	}
	for i := range s.slices {
		sl := &s.slices[i]
		for idx, b := range sl.biased {
			s.acc[idx] += int64(int32(b)-sl.bias) << uint(sl.Offset)
		}
	}
	s.record.apply(s.acc)
}

// setCell stores a new value and keeps the accumulator and live bit-planes
// in step.
func (s *Set) setCell(sl *sliceCells, idx int, old, v int32) {
	sl.setLevel(idx, v)
	s.acc[idx] += int64(v-old) << uint(sl.Offset)
	diff := (uint32(old) ^ uint32(v)) & sl.cellMask
	if diff == 0 {
		return
	}
	r, c := idx/s.cols, idx%s.cols
	cb := sl.CellBits
	for d := diff; d != 0; d &= d - 1 {
		k := trailingZeros32(d)
		if s.rowPlanesLive {
			sl.rowPlanes[(c*cb+k)*s.rowWords+r>>6] ^= 1 << (r & 63)
		}
		if s.colPlanesLive {
			sl.colPlanes[(r*cb+k)*s.colWords+c>>6] ^= 1 << (c & 63)
		}
	}
}

// ensurePlanes builds the bit-planes of one orientation if they are stale.
func (s *Set) ensurePlanes(transposed bool) {
	if transposed && s.colPlanesLive || !transposed && s.rowPlanesLive {
		return
	}
	s.ensureSlices()
	for i := range s.slices {
		sl := &s.slices[i]
		cb := sl.CellBits
		var planes []uint64
		if transposed {
			planes = resize(sl.colPlanes, s.rows*cb*s.colWords)
			sl.colPlanes = planes
		} else {
			planes = resize(sl.rowPlanes, s.cols*cb*s.rowWords)
			sl.rowPlanes = planes
		}
		for r := 0; r < s.rows; r++ {
			for c := 0; c < s.cols; c++ {
				for bitsLeft := uint32(sl.level(r*s.cols+c)) & sl.cellMask; bitsLeft != 0; bitsLeft &= bitsLeft - 1 {
					k := trailingZeros32(bitsLeft)
					if transposed {
						planes[(r*cb+k)*s.colWords+c>>6] |= 1 << (c & 63)
					} else {
						planes[(c*cb+k)*s.rowWords+r>>6] |= 1 << (r & 63)
					}
				}
			}
		}
	}
	if transposed {
		s.colPlanesLive = true
	} else {
		s.rowPlanesLive = true
	}
}

// A scratchPool lends buffers that a set or unit needs only during one
// operation, so that the thousands of units of a network do not each keep
// one.
type scratchPool[T any] struct{ pool sync.Pool }

// get returns a buffer of n elements, of any content, to give back with put.
func (p *scratchPool[T]) get(n int) *[]T {
	b, _ := p.pool.Get().(*[]T)
	if b == nil {
		b = new([]T)
	}
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return b
}

func (p *scratchPool[T]) put(b *[]T) { p.pool.Put(b) }

// resize returns a zeroed slice of length n, reusing buf's storage.
func resize[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}
