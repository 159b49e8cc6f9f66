package xbar

import "fmt"

// SetState is everything about a set that changes after it is made: cell
// values, counters and the positions of its random streams. Saving it and
// restoring it into a set made with the same configuration and shape
// resumes the set bit for bit.
type SetState struct {
	Cells    [][]int16 // per slice, row-major
	Counters Counters
	Rounding []byte   // rounding stream position
	Device   [][]byte // per slice device stream position; nil for ideal cells
	Record   []int64  // the fault record's wanted accumulators; nil without one
}

// State returns a copy of the set's state.
func (s *Set) State() (SetState, error) {
	s.ensureSlices()
	st := SetState{Counters: s.counters.clone(), Cells: make([][]int16, len(s.slices))}
	var err error
	if st.Rounding, err = s.rounding.MarshalBinary(); err != nil {
		return SetState{}, err
	}
	for i := range s.slices {
		sl := &s.slices[i]
		st.Cells[i] = make([]int16, len(sl.biased))
		for idx := range sl.biased {
			st.Cells[i][idx] = int16(sl.level(idx))
		}
		if sl.dev != nil {
			b, err := sl.dev.Source().MarshalBinary()
			if err != nil {
				return SetState{}, err
			}
			st.Device = append(st.Device, b)
		}
	}
	if len(s.record.want) > 0 {
		st.Record = append([]int64(nil), s.record.want...)
	}
	return st, nil
}

// Restore puts a saved state back. The set must have the configuration and
// shape it was saved from; cell values outside a slice's range are refused.
func (s *Set) Restore(st SetState) error {
	s.ensureSlices()
	if len(st.Cells) != len(s.slices) || len(st.Counters.SliceSat) != len(s.slices) {
		return fmt.Errorf("restore: state has %d slices, the set's plan %s has %d", len(st.Cells), s.cfg.Plan, len(s.slices))
	}
	withDevice := 0
	for i := range s.slices {
		sl := &s.slices[i]
		if len(st.Cells[i]) != len(sl.biased) {
			return fmt.Errorf("restore: slice %d holds %d cells, the %dx%d set needs %d", i, len(st.Cells[i]), s.rows, s.cols, len(sl.biased))
		}
		for idx, v := range st.Cells[i] {
			if int32(v) < sl.lo || int32(v) > sl.hi {
				return fmt.Errorf("restore: slice %d cell %d holds %d, outside the slice's range [%d, %d]", i, idx, v, sl.lo, sl.hi)
			}
		}
		if sl.dev != nil {
			withDevice++
		}
	}
	if len(st.Device) != withDevice {
		return fmt.Errorf("restore: state has %d device streams, the set has %d", len(st.Device), withDevice)
	}
	if len(st.Record) != len(s.record.want) {
		return fmt.Errorf("restore: state has %d fault record entries, the set has %d", len(st.Record), len(s.record.want))
	}
	bias := s.cfg.Plan.Bias()
	for k, w := range st.Record {
		if w < -bias || w >= bias {
			return fmt.Errorf("restore: fault record entry %d holds %d, outside the accumulator range [%d, %d]", k, w, -bias, bias-1)
		}
	}
	if err := s.rounding.UnmarshalBinary(st.Rounding); err != nil {
		return fmt.Errorf("restore: rounding stream: %w", err)
	}
	next := 0 // index into st.Device
	for i := range s.slices {
		sl := &s.slices[i]
		for idx, v := range st.Cells[i] {
			sl.setLevel(idx, int32(v))
		}
		if sl.dev != nil {
			if err := sl.dev.Source().UnmarshalBinary(st.Device[next]); err != nil {
				return fmt.Errorf("restore: device stream of slice %d: %w", i, err)
			}
			next++
		}
	}
	copy(s.record.want, st.Record)
	s.counters = st.Counters.clone()
	s.packedLive, s.slicesStale = false, false
	s.recomputeAccumulators()
	s.rowPlanesLive, s.colPlanesLive = false, false
	s.reads.forget()
	return nil
}

// UnitState is a matrix unit's saved state: its sets in a fixed order.
type UnitState struct {
	Sets      []SetState
	WeightSat int64
}

// State returns a copy of the unit's state.
func (u *Unit) State() (UnitState, error) {
	u.updateSet()
	st := UnitState{WeightSat: u.weightSat}
	for _, rs := range u.roles {
		s, err := rs.set.State()
		if err != nil {
			return UnitState{}, fmt.Errorf("%s set: %w", rs.role, err)
		}
		st.Sets = append(st.Sets, s)
	}
	return st, nil
}

// Restore puts a saved unit state back into a unit made with the same
// configuration and shape.
func (u *Unit) Restore(st UnitState) error {
	u.updateSet()
	if len(st.Sets) != len(u.roles) {
		return fmt.Errorf("restore: state has %d sets, a %v unit has %d", len(st.Sets), u.cfg.Variant, len(u.roles))
	}
	for i, rs := range u.roles {
		if err := rs.set.Restore(st.Sets[i]); err != nil {
			return fmt.Errorf("%s set: %w", rs.role, err)
		}
	}
	u.weightSat = st.WeightSat
	u.changeAll()
	return nil
}
