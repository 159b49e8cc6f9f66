package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/panther-xbar/panther/internal/atomicfile"
)

var profileOpts struct {
	cpu string
	mem string
}

// profiler records the pprof profiles that --cpuprofile and --memprofile
// ask for, around whichever subcommand runs.
type profiler struct {
	cpu      *os.File
	stopPeak chan struct{}
	peakDone chan error
}

// peakSampleEvery is how often the heap is looked at for a new peak: often
// enough to catch a step's working set, rarely enough to cost nothing.
const peakSampleEvery = 50 * time.Millisecond

// active is the profiler of the running command, nil when none runs.
var active *profiler

// startProfiles starts the profiles the flags ask for; stopProfiles writes
// them once the command has finished, whatever its outcome.
func startProfiles() error {
	var p profiler
	if profileOpts.cpu != "" {
		f, err := os.Create(profileOpts.cpu)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		p.cpu = f
	}
	if profileOpts.mem != "" {
		runtime.MemProfileRate = 64 << 10 // finer than the default so smaller holders show
		p.stopPeak = make(chan struct{})
		p.peakDone = make(chan error, 1)
		go func() { p.peakDone <- writePeakHeap(profileOpts.mem, p.stopPeak) }()
	}
	active = &p
	return nil
}

// writePeakHeap writes the heap profile taken when the live heap (as the
// last collection found it) was largest, since the peak (what limits the
// size of a study) is what a profile at exit would miss. A profile shows
// the heap of a recent collection only, so each new peak, 10% above the
// last one profiled, is collected at once and profiled; the forced
// collections make the command a little slower and its peak memory lower.
func writePeakHeap(path string, stop <-chan struct{}) error {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	var best []byte
	tick := time.NewTicker(peakSampleEvery)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-stop:
			done = true
		}
		metrics.Read(live)
		if v := live[0].Value.Uint64(); best == nil || v > peak+peak/10 {
			runtime.GC()
			metrics.Read(live)
			peak = live[0].Value.Uint64()
			var buf bytes.Buffer
			if err := pprof.Lookup("heap").WriteTo(&buf, 0); err != nil {
				return err
			}
			best = buf.Bytes()
		}
	}
	return atomicfile.WriteFile(path, best)
}

func stopProfiles() error {
	p := active
	if p == nil {
		return nil
	}
	active = nil
	if p.cpu != nil {
		pprof.StopCPUProfile()
		if err := p.cpu.Close(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	if p.stopPeak != nil {
		close(p.stopPeak)
		if err := <-p.peakDone; err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
	}
	return nil
}

func init() {
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return startProfiles() }
	f := root.PersistentFlags()
	f.StringVar(&profileOpts.cpu, "cpuprofile", "", "write a pprof CPU profile of the command to this file")
	f.StringVar(&profileOpts.mem, "memprofile", "", "write a pprof heap profile, taken at the command's peak heap, to this file")
}
