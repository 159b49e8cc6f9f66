package eval

import (
	"fmt"
	"sort"
	"strings"
)

// GPU is an analytic model of a GPU running a training step: each kernel
// takes the longer of its compute time and its memory time (a roofline at
// stated efficiencies) plus a fixed launch overhead, and the board draws its
// idle power plus the dynamic share in proportion to how busy the step keeps
// it. The figures of the presets are the cards' published specifications;
// the efficiencies and the launch overhead are our assumptions, stated in
// docs/reproduction.md, and every one of them can be overridden.
type GPU struct {
	Name string `json:"name"`
	// PeakFLOPS is the FP32 peak in FLOP/s; MemoryBandwidth in bytes/s.
	PeakFLOPS       float64 `json:"peak_flops"`
	MemoryBandwidth float64 `json:"memory_bandwidth"`
	// BoardPower is the board's power limit (TDP) and IdlePower its draw at
	// idle, in watts.
	BoardPower float64 `json:"board_power_w"`
	IdlePower  float64 `json:"idle_power_w"`
	// ComputeEfficiency and MemoryEfficiency are the fractions of the peaks
	// that training kernels reach.
	ComputeEfficiency float64 `json:"compute_efficiency"`
	MemoryEfficiency  float64 `json:"memory_efficiency"`
	// LaunchOverhead is the time each kernel costs beyond its work (launch
	// and framework dispatch), in seconds.
	LaunchOverhead float64 `json:"launch_overhead_s"`
	Source         string  `json:"source"`
}

// Shared assumptions of the presets (see docs/reproduction.md).
const (
	defaultComputeEfficiency = 0.6
	defaultMemoryEfficiency  = 0.7
	defaultLaunchOverhead    = 5e-6
)

// GPUs are the cards the PANTHER paper compared against.
var GPUs = map[string]GPU{
	"rtx2080ti": {
		Name: "NVIDIA GeForce RTX 2080 Ti", PeakFLOPS: 13.45e12, MemoryBandwidth: 616e9,
		BoardPower: 250, IdlePower: 20,
		ComputeEfficiency: defaultComputeEfficiency, MemoryEfficiency: defaultMemoryEfficiency,
		LaunchOverhead: defaultLaunchOverhead,
		Source:         "NVIDIA Turing TU102 specifications: 4352 CUDA cores at 1545 MHz boost, 616 GB/s GDDR6, 250 W",
	},
	"v100": {
		Name: "NVIDIA Tesla V100 (SXM2)", PeakFLOPS: 15.7e12, MemoryBandwidth: 900e9,
		BoardPower: 300, IdlePower: 40,
		ComputeEfficiency: defaultComputeEfficiency, MemoryEfficiency: defaultMemoryEfficiency,
		LaunchOverhead: defaultLaunchOverhead,
		Source:         "NVIDIA Tesla V100 data sheet: 15.7 TFLOPS FP32, 900 GB/s HBM2, 300 W (SXM2)",
	},
}

// GPUNames lists the presets in a fixed order.
func GPUNames() []string {
	names := make([]string, 0, len(GPUs))
	for n := range GPUs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupGPU returns a preset by name.
func LookupGPU(name string) (GPU, error) {
	g, ok := GPUs[strings.ToLower(name)]
	if !ok {
		return GPU{}, fmt.Errorf("gpu %q: want one of %s", name, strings.Join(GPUNames(), ", "))
	}
	return g, nil
}

// Validate checks that every figure is usable.
func (g GPU) Validate() error {
	switch {
	case g.PeakFLOPS <= 0 || g.MemoryBandwidth <= 0:
		return fmt.Errorf("gpu %s: peak_flops and memory_bandwidth must be positive", g.Name)
	case g.IdlePower < 0 || g.BoardPower < g.IdlePower:
		return fmt.Errorf("gpu %s: need 0 <= idle_power_w <= board_power_w", g.Name)
	case g.ComputeEfficiency <= 0 || g.ComputeEfficiency > 1 || g.MemoryEfficiency <= 0 || g.MemoryEfficiency > 1:
		return fmt.Errorf("gpu %s: efficiencies must lie in (0, 1]", g.Name)
	case g.LaunchOverhead < 0:
		return fmt.Errorf("gpu %s: launch_overhead_s must not be negative", g.Name)
	}
	return nil
}

// Kernel is one GPU kernel's work.
type Kernel struct {
	Name  string  `json:"name"`
	FLOPs float64 `json:"flops"`
	Bytes float64 `json:"bytes"` // bytes moved to and from device memory
}

// GPUStep is the model's estimate for one training step.
type GPUStep struct {
	Seconds float64 `json:"seconds"`
	Joules  float64 `json:"joules"`
	// BusySeconds is the time kernels spend on work, launch overhead
	// excluded; Busy/Seconds is the activity that scales dynamic power.
	BusySeconds float64 `json:"busy_seconds"`
	Kernels     int     `json:"kernels"`
}

// Step estimates a sequence of kernels run one after another.
func (g GPU) Step(kernels []Kernel) GPUStep {
	var st GPUStep
	for _, k := range kernels {
		compute := k.FLOPs / (g.PeakFLOPS * g.ComputeEfficiency)
		memory := k.Bytes / (g.MemoryBandwidth * g.MemoryEfficiency)
		busy := max(compute, memory)
		st.BusySeconds += busy
		st.Seconds += busy + g.LaunchOverhead
	}
	st.Kernels = len(kernels)
	if st.Seconds > 0 {
		activity := st.BusySeconds / st.Seconds
		st.Joules = st.Seconds * (g.IdlePower + (g.BoardPower-g.IdlePower)*activity)
	}
	return st
}

// bytesPerValue is FP32.
const bytesPerValue = 4

// MatrixLayer is a layer that is one matrix product per position: a fully
// connected layer (Positions 1) or a convolution unrolled to In = k*k*C_in
// rows and Out = C_out columns over Positions output pixels.
type MatrixLayer struct {
	Name      string `json:"name"`
	In        int    `json:"in"`
	Out       int    `json:"out"`
	Positions int    `json:"positions"`
	// First marks the network's first layer, whose input gradient nobody
	// needs, so the backward pass skips it.
	First bool `json:"first"`
}

// TrainingKernels lists the kernels of one SGD step of a layer at batch B:
// the forward product and activation, the activation derivative, the input
// gradient (unless First), the weight gradient, and the weight update.
func TrainingKernels(l MatrixLayer, batch int) []Kernel {
	b, in, out, pos := float64(batch), float64(l.In), float64(l.Out), float64(max(l.Positions, 1))
	weights := in * out * bytesPerValue
	xs := b * pos * in * bytesPerValue  // layer inputs (unrolled)
	ys := b * pos * out * bytesPerValue // layer outputs
	product := 2 * b * pos * in * out
	ks := []Kernel{
		{l.Name + " forward", product, weights + xs + ys},
		{l.Name + " activation", b * pos * out, 2 * ys},
		{l.Name + " activation derivative", b * pos * out, 3 * ys},
	}
	if !l.First {
		ks = append(ks, Kernel{l.Name + " input gradient", product, weights + ys + xs})
	}
	return append(ks,
		Kernel{l.Name + " weight gradient", product, xs + ys + weights},
		Kernel{l.Name + " update", 2 * in * out, 3 * weights},
	)
}
