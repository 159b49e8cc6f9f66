package sim

import (
	"fmt"

	"github.com/panther-xbar/panther/xbar"
)

// Shared returns a copy of the shared memory of tile as the run left it
// (the initial data before Run). ok is false for a tile the program does
// not use, which has no memory in the simulation.
func (s *Sim) Shared(tile int) (mem []int16, ok bool) {
	t := s.byID[tile]
	if t == nil {
		return nil, false
	}
	mem = make([]int16, s.isa.SharedWords)
	for n, p := range t.pages {
		if p != nil {
			copy(mem[n*pageWords:], p.mem[:])
		}
	}
	return mem, true
}

// Unit returns a copy of a matrix unit as the run left it (as its weight
// image programmed it, before Run). Once its core has halted, the unit is
// there only if the run kept it (Options.KeepUnits).
func (s *Sim) Unit(tile, core, unit int) (*xbar.Unit, error) {
	c, err := s.core(tile, core)
	if err != nil {
		return nil, err
	}
	if unit < 0 || unit >= len(c.units) || c.units[unit] == nil {
		return nil, fmt.Errorf("%s matrix unit %d: the program gives it no weight image", where(tile, core), unit)
	}
	mu := c.units[unit]
	if mu.unit == nil {
		return nil, fmt.Errorf("%s matrix unit %d: its core halted and the run did not keep its crossbars: set Options.KeepUnits to read it back", where(tile, core), unit)
	}
	st, err := mu.unit.State()
	if err != nil {
		return nil, err
	}
	u, err := xbar.NewUnit(mu.unit.Config(), mu.rows, mu.cols)
	if err != nil {
		return nil, err
	}
	return u, u.Restore(st)
}

func (s *Sim) core(tile, core int) (*core, error) {
	if t := s.byID[tile]; t != nil {
		for _, c := range t.cores {
			if c.proc.core == core {
				return c, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: the program has no code there", where(tile, core))
}
