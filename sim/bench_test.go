package sim

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/rng"
	"github.com/panther-xbar/panther/xbar"
)

// The benchmarks time Run only; New (checking the program and programming
// the crossbars) is set-up and timed by BenchmarkSimMLPLoad. Results are in
// docs/simulator.md.

const trainSteps = 1000

// trainStepData is the unit and operands of testdata/trainstep.s.
func trainStepData() (w, x, d []int16) {
	src := rng.New(7)
	return codes(src, 128*128, 1<<11), codes(src, 128, 1<<13), codes(src, 128, 1<<13)
}

func trainStepProgram(b *testing.B, a *arch.Arch) *program.Program {
	w, x, d := trainStepData()
	p := assemble(b, a, "trainstep.s")
	addData(b, p, 0, 0, slices.Concat(x, d))
	p.Weights = []program.Weights{{Rows: 128, Cols: 128, Codes: w, Eta: -1.0 / 1024}}
	return p
}

// runBench times Run of fresh simulations of p and reports simulated
// instructions per second, and the process's CPU time per run, which a
// machine shared with other work disturbs less than the wall clock.
func runBench(b *testing.B, a *arch.Arch, p *program.Program) {
	var insts int64
	var elapsed, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := New(a, p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		r, err := s.Run(context.Background())
		elapsed += time.Since(start)
		cpu += cpuTime(b) - cpu0
		if err != nil {
			b.Fatal(err)
		}
		insts += r.Instructions
	}
	b.ReportMetric(float64(insts)/elapsed.Seconds(), "inst/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user and system time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSimTrainStep128: one core runs MVM, MTVM and OPA on one 128 x
// 128 unit 1000 times (panther preset: accumulate, 8-bit ADC).
func BenchmarkSimTrainStep128(b *testing.B) {
	a := preset(b, "panther")
	runBench(b, a, trainStepProgram(b, a))
}

// BenchmarkKernelTrainStep128 is what BenchmarkSimTrainStep128 asks of
// package xbar, called directly: the simulator's overhead is the difference.
func BenchmarkKernelTrainStep128(b *testing.B) {
	a := preset(b, "panther")
	w, x, d := trainStepData()
	y, z := make([]int16, 128), make([]int16, 128)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		u, err := xbar.NewUnit(a.UnitConfig(), 128, 128)
		if err != nil {
			b.Fatal(err)
		}
		must(b, u.Program(w))
		b.StartTimer()
		for range trainSteps {
			must(b, u.MVM(x, y, nil))
			must(b, u.MTVM(d, z, nil))
			must(b, u.OPA(x, d, -1.0/1024))
		}
	}
}

// BenchmarkSimALU: vector-ALU-heavy code (testdata/alu.s).
func BenchmarkSimALU(b *testing.B) {
	a := preset(b, "panther")
	runBench(b, a, assemble(b, a, "alu.s"))
}

// BenchmarkSimMLPExample: one training example of MLP 1024-256-512-512-10
// on 44 crossbars of 3 tiles, ideal ADC (mlp_test.go).
func BenchmarkSimMLPExample(b *testing.B) {
	a, p := mlpProgram(b)
	runBench(b, a, p)
}

// BenchmarkSimMLPLoad: New for the MLP example: checks and programming of
// its 44 matrix units.
func BenchmarkSimMLPLoad(b *testing.B) {
	a, p := mlpProgram(b)
	for b.Loop() {
		if _, err := New(a, p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
