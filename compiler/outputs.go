package compiler

import (
	"errors"
	"fmt"
)

// ReadOutputs reads an inference program's results after a run: per
// example, the network's output as Q4.12 codes in the model's order (C, H,
// W). shared returns a copy of a tile's shared memory as the run left it
// (ok false for a tile the run does not have); the compiler does not run
// programs itself.
func (r *Result) ReadOutputs(shared func(tile int) (mem []int16, ok bool)) ([][]int16, error) {
	if len(r.Outputs) == 0 {
		return nil, errors.New("the program has no outputs to read: only inference programs (--infer) leave their results in shared memory")
	}
	channels, pixels := 0, r.Outputs[0].Pixels
	for _, o := range r.Outputs {
		channels = max(channels, o.C1)
	}
	ys := make([][]int16, r.Report.Examples)
	for ex := range ys {
		ys[ex] = make([]int16, channels*pixels)
	}
	for _, o := range r.Outputs {
		mem, ok := shared(o.Tile)
		if !ok {
			return nil, fmt.Errorf("outputs lie on tile %d, which the run does not have", o.Tile)
		}
		w := o.C1 - o.C0
		if end := o.Addr + len(ys)*o.Pixels*w; end > len(mem) {
			return nil, fmt.Errorf("outputs of tile %d end at word %d, past its %d words of shared memory", o.Tile, end, len(mem))
		}
		for ex, y := range ys {
			for px := range o.Pixels {
				for c := o.C0; c < o.C1; c++ {
					y[c*pixels+px] = mem[o.Addr+(ex*o.Pixels+px)*w+c-o.C0]
				}
			}
		}
	}
	return ys, nil
}
