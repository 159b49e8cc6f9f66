package eval

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/panther-xbar/panther/arch"
)

// Estimated peak memory of compiling and simulating a training program:
// a fixed part, and a part per matrix unit its layers fill (the crossbar
// sets, their packed copies and the unit's code). Both are the peak
// resident memory measured on VGG-16 (2,182 units, 1.48 GB) and the
// largest MLP and VGG-16 layers at batch 64 (137 to 193 units, 110 to
// 142 MB), rounded up (docs/performance.md, Whole-network simulation).
const (
	pointBytes = 32 << 20
	unitBytes  = 640 << 10
)

// estimateBytes is the estimated peak memory of simulating w on a.
func estimateBytes(w Workload, a *arch.Arch) int64 {
	n := a.Structure.CrossbarSize
	units := 0
	for _, l := range w.Layers {
		units += (l.In + n) / n * ((l.Out + n - 1) / n) // a row for the bias
	}
	return pointBytes + int64(units)*unitBytes
}

// job is points that one worker measures one after another: those that
// simulate one compiled program, so that it is compiled once.
type job struct {
	points []int // indices into the run's points, in order
	bytes  int64 // estimated peak memory
}

// outcome is what measuring a point gave: its measure, or why it was not
// measured.
type outcome struct {
	m    Measure
	skip string
}

// jobs groups pts by the program they simulate, the largest first (they
// take the longest, and the memory bound lets few run beside them), and
// returns the design each simulated point runs on.
func (o Options) jobs(pts []point) ([]job, []*arch.Arch, error) {
	archs := make([]*arch.Arch, len(pts))
	byKey := map[programKey]int{}
	var js []job
	for i, pt := range pts {
		if pt.given != nil {
			js = append(js, job{points: []int{i}})
			continue
		}
		a, err := o.design(pt)
		if err != nil {
			return nil, nil, err
		}
		archs[i] = a
		k := keyOf(pt.w, a, trainConfig(a, pt.b, o.Vary.batchesPerCRS(pt.v), o.Vary.bias(pt.v)))
		j, ok := byKey[k]
		if !ok {
			j = len(js)
			byKey[k] = j
			js = append(js, job{bytes: estimateBytes(pt.w, a)})
		}
		js[j].points = append(js[j].points, i)
	}
	slices.SortStableFunc(js, func(x, y job) int { return cmp.Compare(y.bytes, x.bytes) })
	return js, archs, nil
}

// tally counts the points measured and tells o.Progress, one call at a
// time.
type tally struct {
	mu    sync.Mutex
	done  int
	total int
	tell  func(Progress)
}

func (t *tally) stage(point, stage string) {
	if t.tell == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tell(Progress{Done: t.done, Total: t.total, Point: point, Stage: stage})
}

func (t *tally) measured(point, line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done++
	if t.tell != nil {
		t.tell(Progress{Done: t.done, Total: t.total, Point: point, Line: line})
	}
}

// measureAll measures pts, o.Jobs jobs at once within o.MemoryBytes,
// and returns their outcomes in the order of pts, whatever the order they
// were measured in. The first error stops every job.
func (o Options) measureAll(ctx context.Context, pts []point) ([]outcome, error) {
	js, archs, err := o.jobs(pts)
	if err != nil {
		return nil, err
	}
	workers := o.Jobs
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]outcome, len(pts))
	t := &tally{total: len(pts), tell: o.Progress}
	var (
		mu       sync.Mutex
		freed    = sync.NewCond(&mu)
		taken    = make([]bool, len(js))
		running  int
		inUse    int64
		firstErr error
	)
	// take returns the first job not yet taken that fits the memory bound
	// beside those running, waiting for one to finish if none fits; false
	// when none is left or the run stops. mu is held.
	take := func() (job, bool) {
		for {
			if firstErr != nil || inner.Err() != nil {
				return job{}, false
			}
			left := false
			for i, j := range js {
				if taken[i] {
					continue
				}
				left = true
				if running == 0 || o.MemoryBytes == 0 || inUse+j.bytes <= o.MemoryBytes {
					taken[i] = true
					running++
					inUse += j.bytes
					return j, true
				}
			}
			if !left {
				return job{}, false
			}
			freed.Wait()
		}
	}
	var wg sync.WaitGroup
	for range min(workers, len(js)) {
		wg.Go(func() {
			mu.Lock()
			defer mu.Unlock()
			for {
				j, ok := take()
				if !ok {
					return
				}
				mu.Unlock()
				err := o.measureJob(inner, j, pts, archs, out, t)
				mu.Lock()
				running--
				inUse -= j.bytes
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				freed.Broadcast()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// measureJob measures the points of j into out, simulating their program
// compiled once.
func (o Options) measureJob(ctx context.Context, j job, pts []point, archs []*arch.Arch, out []outcome, t *tally) error {
	step := o.simulate
	if step == nil {
		step = new(sharedProgram).simulate
	}
	for _, i := range j.points {
		if err := ctx.Err(); err != nil {
			return err
		}
		pt := pts[i]
		name := pt.name(o)
		var m Measure
		if pt.given != nil {
			m = *pt.given
		} else {
			var skip string
			var err error
			m, skip, err = o.simulated(ctx, step, pt, archs[i], func(s string) { t.stage(name, s) })
			if err != nil {
				return err
			}
			if skip != "" {
				out[i] = outcome{skip: skip}
				t.measured(name, skip)
				continue
			}
		}
		m.Workload, m.Batch, m.Design, m.EpochExamples = pt.w.Name, pt.b, pt.d, pt.epoch
		if pt.v != "" {
			m.Variant = o.Vary.Key + "=" + pt.v
		}
		out[i] = outcome{m: m}
		t.measured(name, fmt.Sprintf("%-8s batch %-3d %-18s %s  %s/step  %s/step%s", pt.w.Name, pt.b, pt.d, m.Variant,
			FormatTime(m.TimeNS), FormatEnergy(m.EnergyPJ), wallNote(m.WallSeconds)))
	}
	return nil
}
