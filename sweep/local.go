package sweep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Progress is reported whenever a point finishes.
type Progress struct {
	Total, Done, Failed int
	// Skipped points were finished by an earlier run.
	Skipped int
	Last    *Record
}

// runPoint runs point i and writes its record, done or failed. A run that
// ctx ended writes nothing, so that the point counts as missing.
func runPoint(ctx context.Context, s *Sweep, dir string, i int) (*Record, error) {
	start := time.Now()
	m, err := s.Runner.Run(ctx, s.Points[i])
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r := &Record{Point: i, ID: s.IDs[i], Kind: s.Kind, Status: Done, Params: s.Points[i], Metrics: m,
		Seconds: time.Since(start).Seconds()}
	if err != nil {
		r.Status, r.Metrics, r.Error = Failed, nil, err.Error()
	}
	return r, writeRecord(dir, r)
}

// tell passes a remark to note, if there is one of each.
func tell(note func(string), msg string) {
	if note != nil && msg != "" {
		note(msg)
	}
}

// RunPoint runs one point into dir (a Slurm array task does this); a point
// already done is left as it is. A failed point is an error. It takes no
// lock: Slurm runs each array task once, and the folder's lock keeps two
// submissions from queueing one task twice.
func RunPoint(ctx context.Context, s *Sweep, dir string, i int) (*Record, error) {
	if i < 0 || i >= len(s.Points) {
		return nil, fmt.Errorf("point %d: the sweep has points 0 to %d", i, len(s.Points)-1)
	}
	if err := Prepare(s, dir); err != nil {
		return nil, err
	}
	// A Slurm task reads only its own record: the array's tasks would
	// otherwise read every record between them.
	done, err := readRecord(s, dir, i)
	if err != nil {
		return nil, err
	}
	if done != nil && done.Status == Done {
		return done, nil
	}
	r, err := runPoint(ctx, s, dir, i)
	if err == nil && r.Status == Failed {
		err = fmt.Errorf("point %d failed: %s", i, r.Error)
	}
	return r, err
}

// RunLocal runs every point of s that is not done yet, jobs at a time, and
// merges the records at the end. It holds the folder's lock meanwhile: a
// second process on dir is refused. When ctx ends, runs in progress are
// abandoned without a record and ctx's error is returned; running again
// finishes the sweep. note, when not nil, receives remarks such as a stale
// lock taken over.
func RunLocal(ctx context.Context, s *Sweep, dir string, jobs int, report func(Progress), note func(string)) error {
	if err := Prepare(s, dir); err != nil {
		return err
	}
	release, msg, err := lockFolder(dir)
	if err != nil {
		return err
	}
	defer release()
	tell(note, msg)
	recs, err := ReadRecords(s, dir)
	if err != nil {
		return err
	}
	prog := Progress{Total: len(s.Points)}
	var todo []int
	for i, r := range recs {
		if r != nil && r.Status == Done {
			prog.Done++
			prog.Skipped++
		} else {
			todo = append(todo, i)
		}
	}
	if report != nil {
		report(prog)
	}
	type result struct {
		rec *Record
		err error
	}
	queue := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range max(1, min(jobs, len(todo))) {
		wg.Go(func() {
			for i := range queue {
				if ctx.Err() != nil {
					continue // stopped: a point not yet started stays unrun
				}
				r, err := runPoint(ctx, s, dir, i)
				results <- result{r, err}
			}
		})
	}
	go func() {
		defer close(queue)
		for _, i := range todo {
			if ctx.Err() != nil {
				return
			}
			select {
			case queue <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var errs []error
	for res := range results {
		if res.err != nil {
			if ctx.Err() == nil || !errors.Is(res.err, ctx.Err()) {
				errs = append(errs, res.err)
			}
			continue
		}
		prog.Done++
		if res.rec.Status == Failed {
			prog.Failed++
		}
		prog.Last = res.rec
		if report != nil {
			report(prog)
		}
	}
	if _, err := Collect(s, dir); err != nil {
		errs = append(errs, err)
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if prog.Failed > 0 {
		errs = append(errs, fmt.Errorf("%d of %d points failed: their records in %s hold the errors; run again to retry them", prog.Failed, prog.Total, dir))
	}
	return errors.Join(errs...)
}
