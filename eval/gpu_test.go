package eval

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) }

// TestGPUStepByHand works one layer out on paper: a 1024 x 256 fully
// connected layer at batch 16 on a card with round figures.
func TestGPUStepByHand(t *testing.T) {
	g := GPU{Name: "test", PeakFLOPS: 10e12, MemoryBandwidth: 500e9, BoardPower: 200, IdlePower: 20,
		ComputeEfficiency: 0.5, MemoryEfficiency: 0.8, LaunchOverhead: 5e-6}
	ks := TrainingKernels(MatrixLayer{Name: "fc", In: 1024, Out: 256, Positions: 1}, 16)
	if len(ks) != 6 {
		t.Fatalf("%d kernels, want 6", len(ks))
	}
	// forward: 2*16*1024*256 = 8388608 FLOPs; bytes (1024*256 + 16*1024 + 16*256)*4 = 1130496.
	// compute 8388608 / 5e12 = 1.6777216e-6 s; memory 1130496 / 4e11 = 2.82624e-6 s: memory bound.
	if ks[0].FLOPs != 8388608 || ks[0].Bytes != 1130496 {
		t.Fatalf("forward kernel %+v", ks[0])
	}
	st := g.Step(ks[:1])
	if !near(st.BusySeconds, 2.82624e-6) || !near(st.Seconds, 2.82624e-6+5e-6) {
		t.Fatalf("forward: busy %v s, total %v s", st.BusySeconds, st.Seconds)
	}
	// energy: total * (20 + 180 * busy/total) = 20*total + 180*busy
	if want := 20*st.Seconds + 180*st.BusySeconds; !near(st.Joules, want) {
		t.Fatalf("forward energy %v J, want %v", st.Joules, want)
	}
	first := TrainingKernels(MatrixLayer{Name: "fc", In: 1024, Out: 256, Positions: 1, First: true}, 16)
	if len(first) != 5 {
		t.Fatalf("first layer has %d kernels, want 5 (no input gradient)", len(first))
	}
}

func TestGPUPresetsAreValid(t *testing.T) {
	for _, name := range GPUNames() {
		g, err := LookupGPU(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Validate(); err != nil {
			t.Error(err)
		}
	}
	if _, err := LookupGPU("h100"); err == nil {
		t.Error("unknown GPU accepted")
	}
}
