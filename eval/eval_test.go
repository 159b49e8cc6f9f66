package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/sim"
)

// fake stands in for compile-and-simulate: each design's time and energy
// are fixed multiples of the batch, so the ratios are known by hand.
func fake(_ context.Context, w Workload, a *arch.Arch, batch, batches int, _ model.BiasPlacement, _ func(string)) (Measure, error) {
	scale := map[string]float64{"panther": 1, "serial": 3, "digital": 8}[a.Name]
	b := float64(batch * batches)
	return Measure{TimeNS: 1000 * b * scale, EnergyPJ: 5e5 * b * scale * scale,
		ByClass: []sim.Share{{Name: "mvm", PJ: 5e5 * b * scale * scale, Percent: 100}}}, nil
}

func TestCompareRatios(t *testing.T) {
	ms := []Measure{
		{Workload: "w", Batch: 4, Design: "panther", TimeNS: 200, EnergyPJ: 1000},
		{Workload: "w", Batch: 4, Design: "serial", TimeNS: 500, EnergyPJ: 54210},
		{Workload: "w", Batch: 1, Design: "serial", TimeNS: 500, EnergyPJ: 10}, // no reference at batch 1
	}
	rows := Compare(ms)
	if r := rows[0]; r.TimeRatio != 1 || r.EnergyRatio != 1 || r.EDPRatio != 1 || r.EDPPJNS != 200000 {
		t.Errorf("reference row %+v", r)
	}
	if r := rows[1]; r.TimeRatio != 2.5 || r.EnergyRatio != 54.21 || !near(r.EDPRatio, 2.5*54.21) || r.EDPPJNS != 500*54210 {
		t.Errorf("serial row %+v", r)
	}
	if r := rows[2]; r.TimeRatio != 0 || r.EnergyRatio != 0 {
		t.Errorf("row without a reference got ratios %+v", r)
	}
}

func fakeOptions() Options {
	o := Options{Workloads: []string{"mlp-l4", "vgg16"}, Batches: []int{1, 4}, Designs: []string{"panther", "serial", "digital", GPUDesign}, GPU: "v100"}
	o.simulate = fake
	return o
}

func TestRunWithFakeSimulator(t *testing.T) {
	var lines []string
	o := fakeOptions()
	o.Progress = func(p Progress) {
		if want := len(lines) + 1; p.Done != want || p.Total != 12 || p.Stage != "" {
			t.Errorf("progress %+v, want %d of 12 done", p, want)
		}
		lines = append(lines, p.Line)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// mlp-l4 at 1 and 4, vgg16 at 1 only (one example per program): 3 x 4 rows.
	if len(res.Rows) != 12 || len(lines) != 12 {
		t.Fatalf("%d rows, %d progress lines, want 12", len(res.Rows), len(lines))
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "vgg16 at batch 4") {
		t.Errorf("notes do not say vgg16 at batch 4 was skipped: %q", res.Notes)
	}
	g := GPUs["v100"]
	for _, r := range res.Rows {
		switch r.Design {
		case "serial":
			if r.TimeRatio != 3 || r.EnergyRatio != 9 || !near(r.EDPRatio, 27) {
				t.Errorf("%s/%d serial ratios %g %g %g, want 3 9 27", r.Workload, r.Batch, r.TimeRatio, r.EnergyRatio, r.EDPRatio)
			}
		case "digital":
			if r.TimeRatio != 8 || r.EnergyRatio != 64 {
				t.Errorf("digital ratios %g %g, want 8 64", r.TimeRatio, r.EnergyRatio)
			}
		case GPUDesign:
			var ks []Kernel
			for _, w := range Workloads() {
				if w.Name == r.Workload {
					for _, l := range w.Layers {
						ks = append(ks, TrainingKernels(l, r.Batch)...)
					}
				}
			}
			st := g.Step(ks)
			if !near(r.TimeNS, st.Seconds*1e9) || !near(r.EnergyPJ, st.Joules*1e12) {
				t.Errorf("gpu row %g ns %g pJ, model says %g s %g J", r.TimeNS, r.EnergyPJ, st.Seconds, st.Joules)
			}
			p := 1000 * float64(r.Batch)
			if !near(r.TimeRatio, r.TimeNS/p) {
				t.Errorf("gpu time ratio %g, want %g", r.TimeRatio, r.TimeNS/p)
			}
		}
	}
	// Our figure for "up to 54.21x vs serial" is the largest serial energy ratio.
	for _, c := range res.Paper {
		if c.Baseline == "serial" && c.Metric == "energy" && c.Scope == "all workloads, best case" {
			if lo, hi, ok := c.Ours(res.Rows); !ok || lo != 9 || hi != 9 {
				t.Errorf("claim %s: ours %g-%g %v, want 9", c.Paper, lo, hi, ok)
			}
		}
		if strings.HasPrefix(c.Scope, "conv layers") {
			if c.OursText(res.Rows) != "not measured" {
				t.Errorf("conv claim measured without conv layers: %s", c.OursText(res.Rows))
			}
		}
	}
}

func TestVGGLayerWorkloads(t *testing.T) {
	ws := map[string]Workload{}
	for _, w := range Workloads() {
		ws[w.Name] = w
	}
	a := ws["vgg-a"]
	if len(a.Layers) != 2 || a.Layers[0].In != 4608 || a.Layers[0].Out != 512 || a.Layers[1].Out != 10 {
		t.Errorf("vgg-a layers %+v", a.Layers)
	}
	if f := ws["vgg-f"]; len(f.Layers) != 1 || f.Layers[0].In != 4096 || f.Layers[0].Out != 10 {
		t.Errorf("vgg-f layers %+v", f.Layers)
	}
	if n := ws["vgg-d"].model.Net.Input.Size(); n != 512 {
		t.Fatalf("vgg-d has %d inputs, want 512", n)
	}
	v := ws["vgg16"]
	if len(v.Layers) != 16 || v.Layers[0].In != 27 || v.Layers[0].Positions != 1024 || v.Layers[12].In != 4608 || v.Layers[12].Positions != 4 {
		t.Errorf("vgg16 layers %+v", v.Layers)
	}
	if v.DatasetExamples != 50000 || ws["mlp-l4"].DatasetExamples != 60000 {
		t.Errorf("epochs of %d (vgg16) and %d (mlp-l4) examples, want CIFAR's 50000 and MNIST's 60000", v.DatasetExamples, ws["mlp-l4"].DatasetExamples)
	}
}

func TestValidateOptions(t *testing.T) {
	for _, c := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Workloads = []string{"resnet"} }, `workload "resnet"`},
		{func(o *Options) { o.Workloads = nil }, "no workloads"},
		{func(o *Options) { o.Batches = []int{0} }, "batch size 0"},
		{func(o *Options) { o.Batches = nil }, "no batch sizes"},
		{func(o *Options) { o.Designs = []string{"serial"} }, "must include panther"},
		{func(o *Options) { o.Designs = append(o.Designs, "tpu") }, `design "tpu"`},
		{func(o *Options) { o.GPU = "a100" }, `gpu "a100"`},
		{func(o *Options) { o.Vary = Vary{Key: "adc_volts", Values: []string{"8"}} }, `vary key "adc_volts"`},
		{func(o *Options) { o.Vary = Vary{Key: "opa_power_mw", Values: []string{"-1"}} }, "is not a finite number >= 0"},
	} {
		o := DefaultOptions()
		c.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error with %q", err, c.want)
		}
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run accepted options that Validate rejects (%s)", c.want)
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("default options: %v", err)
	}
	if _, err := ParseVary("opa_power_mw"); err == nil {
		t.Error("ParseVary accepted a key without values")
	}
}

func TestVaryApplies(t *testing.T) {
	v, err := ParseVary("opa_power_mw=2, 8")
	if err != nil || len(v.Values) != 2 {
		t.Fatalf("%+v %v", v, err)
	}
	p, s := arch.Default(), mustPreset(t, "serial")
	for _, a := range []*arch.Arch{p, s} {
		if err := v.apply(a, "8"); err != nil {
			t.Fatal(err)
		}
	}
	if p.Ops.Update.PowerMW != 8 || s.Ops.Update.PowerMW != 238.06 {
		t.Errorf("opa power: panther %g (want 8), serial %g (want its preset 238.06)", p.Ops.Update.PowerMW, s.Ops.Update.PowerMW)
	}
	o := fakeOptions()
	o.Workloads, o.Batches, o.Vary = []string{"mlp-l4"}, []int{1}, v
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 8 || res.Rows[0].Variant != "opa_power_mw=2" || res.Rows[4].Variant != "opa_power_mw=8" {
		t.Errorf("vary rows: %d, %q %q", len(res.Rows), res.Rows[0].Variant, res.Rows[4].Variant)
	}
}

// Each constant key changes the designs it names and no other.
func TestVaryConstantKeys(t *testing.T) {
	for _, c := range []struct {
		key     string
		changes []string // designs whose preset the value changes
		get     func(a *arch.Arch) float64
	}{
		{"adc_pj", []string{"panther", "serial", "cmos-op", "digital"}, func(a *arch.Arch) float64 { return a.Components.ADC.AccessPJ() }},
		{"adc_bits", []string{"panther", "serial", "cmos-op"}, func(a *arch.Arch) float64 { return float64(a.Crossbar.ADC.Bits) }},
		{"serial_update_ns", []string{"serial"}, func(a *arch.Arch) float64 { return a.Ops.Update.LatencyNS }},
		{"sram_write_pj", []string{"digital"}, func(a *arch.Arch) float64 { return a.Ops.SRAMWrite.EnergyPJ }},
		{"sram_write_ns", []string{"digital"}, func(a *arch.Arch) float64 { return a.Ops.SRAMWrite.LatencyNS }},
		{"digital_mvm_ns", []string{"digital"}, func(a *arch.Arch) float64 { return a.Ops.MVM.LatencyNS }},
		{"digital_unit_leak_mw", []string{"digital"}, func(a *arch.Arch) float64 { return a.Components.Crossbar.LeakMW }},
		{"record_pj_per_bit", []string{"panther", "serial", "cmos-op", "digital"}, func(a *arch.Arch) float64 { return a.Ops.FaultRecord.ReadPJPerBit }},
		{"record_mm2_per_bit", []string{"panther", "serial", "cmos-op", "digital"}, func(a *arch.Arch) float64 { return a.Ops.FaultRecord.AreaMM2PerBit }},
	} {
		for _, d := range []string{"panther", "serial", "cmos-op", "digital"} {
			a := mustPreset(t, d)
			if err := (Vary{Key: c.key, Values: []string{"7"}}).apply(a, "7"); err != nil {
				t.Fatal(err)
			}
			if got, want := c.get(a) == 7, slices.Contains(c.changes, d); got != want {
				t.Errorf("%s=7 on %s: %v after it; changed %v, want %v", c.key, d, c.get(a), got, want)
			}
		}
	}
}

func mustPreset(t *testing.T, name string) *arch.Arch {
	a, err := arch.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func writerResult() *Result {
	ms := []Measure{
		{Workload: "mlp-l4", Batch: 16, Design: "panther", TimeNS: 2000, EnergyPJ: 1e6, Source: "simulated", EpochExamples: 60000,
			ByClass:     []sim.Share{{Name: "mvm", PJ: 7.5e5, Percent: 75}, {Name: "opa", PJ: 2.5e5, Percent: 25}},
			ByOperation: operations(5e5, 2.5e5, 1e5, 1.5e5, 0, 0, 0, 0)},
		{Workload: "mlp-l4", Batch: 16, Design: "serial", TimeNS: 3000, EnergyPJ: 4e6, Source: "simulated", EpochExamples: 60000,
			ByOperation: operations(4e5, 2e5, 3.4e6, 0, 0, 0, 0, 0)},
	}
	return &Result{Rows: Compare(ms), Paper: PaperClaims()[:2], Notes: []string{"a <note>"}}
}

// operations makes a breakdown by sim.Operations.
func operations(pj ...float64) []sim.Share {
	out := make([]sim.Share, len(sim.Operations))
	for i, n := range sim.Operations {
		out[i] = sim.Share{Name: n, PJ: pj[i]}
	}
	return out
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := writerResult().WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	// An epoch of 60,000 examples is 3,750 steps of 16.
	want := "workload,batch,design,vary,source,time_ns,energy_pj,edp_pj_ns,time_ratio,energy_ratio,edp_ratio,epoch_examples,epoch_seconds,epoch_joules\n" +
		"mlp-l4,16,panther,,simulated,2000,1e+06,2e+09,1,1,1,60000,0.0075,0.00375\n" +
		"mlp-l4,16,serial,,simulated,3000,4e+06,1.2e+10,1.5,4,6,60000,0.01125,0.015\n"
	if b.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writerResult().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `mlp-l4  batch 16  epoch of 60000 examples
design   time/step  energy/step  EDP (pJ*ns)  time x  energy x  EDP x  time/epoch  energy/epoch  
panther  2 us       1 uJ         2e+09        1.00    1.00      1.00   7.5 ms      3.75 mJ       
serial   3 us       4 uJ         1.2e+10      1.50    4.00      6.00   11.25 ms    15 mJ         

ratios: baseline / panther (how many times lower PANTHER's time, energy, EDP are)

paper's headline figures beside ours (PANTHER is this many times lower)
metric  vs       scope                     paper         ours                     
energy  digital  all workloads, best case  up to 8.02x   not measured             
energy  serial   best case over mlp-l4     up to 54.21x  up to 4.00x (min 4.00x)  
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteJSONAndHTML(t *testing.T) {
	r := writerResult()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != 2 || back.Rows[1].EnergyRatio != 4 || back.Rows[0].ByClass[1].Name != "opa" {
		t.Errorf("JSON round trip: %+v", back.Rows)
	}
	b.Reset()
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	// The breakdown chart: panther's bar split 75/25 over the 420-unit
	// width (serial has no breakdown), a legend entry per class.
	for _, want := range []string{"<svg", "a &lt;note&gt;", "mvm 75.0%, opa 25.0%", "up to 54.21x", "<td>4.00</td>",
		"energy per step by operation class", `x="130.0" y="24" width="315.0" height="14" fill="#2e86c1"><title>mvm 75.0%</title>`,
		`x="445.0" y="24" width="105.0" height="14" fill="#5dade2"><title>opa 25.0%</title>`, `>opa</text>`,
		// The operation table: serial's update is 34x panther's, its CRS
		// nothing (no ratio where panther's line is zero).
		"<th>mvm/mtvm</th><th>adc</th><th>update</th><th>crs</th>", "<td>3.4 uJ (34.00x)</td><td>0 pJ (0.00x)</td><td>0 pJ</td>",
		"<td>4 uJ (4.00x)</td></tr>"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(h, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("HTML refers to the network (%s)", bad)
		}
	}
}

func TestWriteFilesAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "eval")
	r := writerResult()
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	_ = r.WriteCSV(&csv)
	got, err := os.ReadFile(filepath.Join(dir, "eval.csv"))
	if err != nil || !bytes.Equal(got, csv.Bytes()) {
		t.Errorf("eval.csv differs from WriteCSV (%v)", err)
	}
	// A second write replaces the files; no temporary file is left behind.
	r.Rows = r.Rows[:1]
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "eval.csv eval.html eval.json eval.txt" {
		t.Errorf("files %v", names)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "eval.csv")); strings.Count(string(got), "\n") != 2 {
		t.Errorf("eval.csv was not replaced:\n%s", got)
	}
	// A failed write (the folder is a file) leaves what was there.
	file := filepath.Join(t.TempDir(), "f")
	_ = os.WriteFile(file, []byte("x"), 0o644)
	if err := r.WriteFiles(file); err == nil {
		t.Error("writing into a file succeeded")
	}
}

// TestSimulatedStep runs the real compiler and simulator on the smallest
// case and checks the ratios come from what the simulator measured.
func TestSimulatedStep(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and simulates")
	}
	o := Options{Workloads: []string{"vgg-g"}, Batches: []int{1}, Designs: []string{"panther", "serial", "cmos-op", "digital"}}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	p, s := res.Rows[0], res.Rows[1]
	if p.TimeNS <= 0 || p.EnergyPJ <= 0 || len(p.ByClass) == 0 {
		t.Fatalf("panther measured nothing: %+v", p)
	}
	if !near(s.EnergyRatio, s.EnergyPJ/p.EnergyPJ) || !near(s.TimeRatio, s.TimeNS/p.TimeNS) {
		t.Errorf("ratios %g %g not the measured quotients", s.EnergyRatio, s.TimeRatio)
	}
	var sum float64
	for _, c := range p.ByClass {
		sum += c.PJ
	}
	if !near(sum, p.EnergyPJ) && sum-p.EnergyPJ > 1e-6*p.EnergyPJ {
		t.Errorf("energy by class sums to %g, total %g", sum, p.EnergyPJ)
	}
	// The baselines have no CRS; panther resolves after the batch.
	crs := slices.Index(sim.Operations, "crs")
	for _, r := range res.Rows {
		var byClass float64
		for _, c := range r.ByClass {
			if c.Name == "crs" {
				byClass = c.PJ
			}
		}
		if has := r.ByOperation[crs].PJ > 0; has != (r.Design == Reference) || has != (byClass > 0) {
			t.Errorf("%s: CRS energy %v pJ by operation, %v by class", r.Design, r.ByOperation[crs].PJ, byClass)
		}
	}
	// The same run again gives the same figures.
	again, err := Run(context.Background(), o)
	if err != nil || again.Rows[1].EnergyPJ != s.EnergyPJ || again.Rows[1].TimeNS != s.TimeNS {
		t.Errorf("not deterministic: %v", err)
	}
}

// The ADC's bits set its energy: the ADC operation's energy scales as
// arch.ADCScale says (x2 per bit up to the corner), the 8-bit figures are
// the preset's, and the report names the cost of every row.
func TestADCBitsEnergy(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and simulates")
	}
	o := Options{Workloads: []string{"vgg-g"}, Batches: []int{1}, Designs: []string{"panther"}}
	plain, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if o.Vary, err = ParseVary("adc_bits=6,8,10"); err != nil {
		t.Fatal(err)
	}
	varied, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	adc := slices.Index(sim.Operations, "adc")
	at := func(r Row) float64 { return r.ByOperation[adc].PJ }
	six, eight, ten := varied.Rows[0], varied.Rows[1], varied.Rows[2]
	if eight.EnergyPJ != plain.Rows[0].EnergyPJ || eight.TimeNS != plain.Rows[0].TimeNS {
		t.Errorf("8 bits: %g pJ %g ns, the preset %g pJ %g ns", eight.EnergyPJ, eight.TimeNS, plain.Rows[0].EnergyPJ, plain.Rows[0].TimeNS)
	}
	if at(eight) <= 0 || !near(at(six), at(eight)/4) || !near(at(ten), 4*at(eight)) {
		t.Errorf("ADC energy at 6, 8, 10 bits: %g %g %g pJ, want x1/4, x1, x4", at(six), at(eight), at(ten))
	}
	if !(six.EnergyPJ < eight.EnergyPJ && eight.EnergyPJ < ten.EnergyPJ) {
		t.Errorf("total energy at 6, 8, 10 bits: %g %g %g pJ", six.EnergyPJ, eight.EnergyPJ, ten.EnergyPJ)
	}
	if !strings.Contains(six.ADCCost, "6-bit converter") || !strings.Contains(plain.Rows[0].ADCCost, "8-bit converter, 1.8 pJ") {
		t.Errorf("ADC cost notes %q, %q", six.ADCCost, plain.Rows[0].ADCCost)
	}
	if !slices.ContainsFunc(varied.Notes, func(n string) bool { return strings.Contains(n, "panther: ADC cost: 10-bit converter") }) {
		t.Errorf("notes do not say the 10-bit cost: %q", varied.Notes)
	}
}

// An epoch is ceil(examples / batch) steps of the measured step.
func TestEpochFigures(t *testing.T) {
	rows := Compare([]Measure{
		{Workload: "w", Batch: 16, Design: "panther", TimeNS: 1e6, EnergyPJ: 2e9, EpochExamples: 50000},
		{Workload: "w", Batch: 64, Design: "panther", TimeNS: 1e6, EnergyPJ: 2e9, EpochExamples: 50000},
	})
	if r := rows[0]; r.EpochSteps() != 3125 || !near(r.EpochSeconds, 3.125) || !near(r.EpochJoules, 6.25) {
		t.Errorf("batch 16: %d steps, %g s, %g J; want 3125, 3.125 s, 6.25 J", r.EpochSteps(), r.EpochSeconds, r.EpochJoules)
	}
	if r := rows[1]; r.EpochSteps() != 782 || !near(r.EpochSeconds, 0.782) {
		t.Errorf("batch 64: %d steps, %g s; want 782 (the last one partial), 0.782 s", r.EpochSteps(), r.EpochSeconds)
	}
	o := fakeOptions()
	o.EpochExamples = 1000
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		if r.EpochExamples != 1000 || !near(r.EpochSeconds, float64((1000+r.Batch-1)/r.Batch)*r.TimeNS*1e-9) {
			t.Errorf("%s/%s batch %d: epoch of %d examples, %g s", r.Workload, r.Design, r.Batch, r.EpochExamples, r.EpochSeconds)
		}
	}
}

// A user's model file is a workload: its matrix layers come from the
// network, and it is compiled and simulated like the paper's.
func TestUserModelWorkload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.yaml")
	src := "input: [1, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: 1}\n  - relu\n  - maxpool: {kernel: 2}\n  - flatten\n  - dense: {out: 10}\nloss: softmax_cross_entropy\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := LookupWorkload(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []MatrixLayer{{Name: "conv2d1", In: 9, Out: 4, Positions: 64, First: true}, {Name: "dense5", In: 64, Out: 10, Positions: 1}}
	if w.Name != "tiny" || len(w.Layers) != 2 || w.Layers[0] != want[0] || w.Layers[1] != want[1] || w.DatasetExamples != 60000 {
		t.Fatalf("workload %+v, layers want %+v", w, want)
	}
	o := Options{Workloads: []string{path}, Batches: []int{2}, Designs: []string{"panther", "digital"}}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].TimeNS <= 0 || res.Rows[1].EnergyRatio <= 0 || res.Rows[0].Workload != "tiny" {
		t.Errorf("rows %+v", res.Rows)
	}
	if _, err := LookupWorkload("resnet"); err == nil || !strings.Contains(err.Error(), `workload "resnet": not one of mlp, mlp-l4`) {
		t.Errorf("unknown workload: %v", err)
	}
}

// Slice plans, separated by ';' since they hold commas, reach the
// simulated designs; a bad plan is an error naming the key.
func TestVaryPlan(t *testing.T) {
	v, err := ParseVary("update_plan=2x12/6x8,5x4/f8; 4x6/8x6/f8")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	o := fakeOptions()
	o.Workloads, o.Batches, o.Designs, o.Vary = []string{"mlp-l4"}, []int{1}, []string{"panther"}, v
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, _ model.BiasPlacement, _ func(string)) (Measure, error) {
		seen = append(seen, a.Crossbar.UpdatePlan.String())
		return fake(ctx, w, a, b, k, model.BiasAuto, nil)
	}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != "2x12/6x8,5x4/f8" || seen[1] != "4x6/8x6/f8" {
		t.Errorf("plans simulated: %q", seen)
	}
	if _, err := ParseVary("update_plan=2x"); err == nil || !strings.Contains(err.Error(), "vary update_plan") {
		t.Errorf("bad plan: %v", err)
	}
}

// bias=auto,crossbar compiles each point with that placement of the
// biases, and a name that is neither is refused with both.
func TestVaryBias(t *testing.T) {
	v, err := ParseVary("bias=auto,crossbar")
	if err != nil {
		t.Fatal(err)
	}
	var got []model.BiasPlacement
	o := fakeOptions()
	o.Workloads, o.Batches, o.Designs, o.Vary = []string{"mlp-l4"}, []int{2}, []string{"panther", "serial"}, v
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, bias model.BiasPlacement, _ func(string)) (Measure, error) {
		got = append(got, bias)
		return fake(ctx, w, a, b, k, bias, nil)
	}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := []model.BiasPlacement{model.BiasAuto, model.BiasAuto, model.BiasCrossbar, model.BiasCrossbar}
	if !slices.Equal(got, want) {
		t.Fatalf("bias placements %v, want %v", got, want)
	}
	if _, err := ParseVary("bias=auto,vector"); err == nil || !strings.Contains(err.Error(), "want one of auto, crossbar") {
		t.Errorf("bias=vector: %v", err)
	}
}

// crs_interval=K simulates K batches with one CRS and reports their mean
// step; the real compile-and-simulate shows the CRS's share shrinking.
func TestVaryCRSInterval(t *testing.T) {
	v, err := ParseVary("crs_interval=1,4")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	o := fakeOptions()
	o.Workloads, o.Batches, o.Designs, o.Vary = []string{"mlp-l4"}, []int{2}, []string{"panther"}, v
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, _ model.BiasPlacement, _ func(string)) (Measure, error) {
		got = append(got, k)
		return fake(ctx, w, a, b, k, model.BiasAuto, nil)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("batches per simulation %v, want [1 4]", got)
	}
	// The fake's cost is linear in examples, so the mean step is the same.
	if r := res.Rows; r[0].TimeNS != 2000 || r[1].TimeNS != 2000 || r[1].ByClass[0].PJ != 1e6 {
		t.Errorf("mean steps %g and %g ns, class %g pJ; want 2000, 2000, 1e6", r[0].TimeNS, r[1].TimeNS, r[1].ByClass[0].PJ)
	}
	for _, bad := range []string{"crs_interval=0", "crs_interval=65", "crs_interval=x"} {
		if _, err := ParseVary(bad); err == nil || !strings.Contains(err.Error(), "number of batches") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if testing.Short() {
		return
	}
	a, err := arch.Preset("panther")
	if err != nil {
		t.Fatal(err)
	}
	w, err := LookupWorkload("vgg-f")
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	one, err := simulate(context.Background(), w, a, 2, 1, model.BiasAuto, func(s string) { stages = append(stages, s) })
	if err != nil {
		t.Fatal(err)
	}
	// A long point says what it is doing (later stages name the cycle).
	if len(stages) < 2 || stages[0] != "compiling" || stages[1] != "simulating" {
		t.Errorf("stages %q: want compiling, then simulating", stages)
	}
	four, err := simulate(context.Background(), w, a, 2, 4, model.BiasAuto, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	crs := func(m Measure) float64 {
		for _, c := range m.ByClass {
			if c.Name == "crs" {
				return c.PJ
			}
		}
		return 0
	}
	if crs(one) <= 0 || crs(four) != crs(one) || four.EnergyPJ <= one.EnergyPJ {
		t.Errorf("CRS energy %g (1 batch) and %g (4 batches, one CRS), totals %g and %g", crs(one), crs(four), one.EnergyPJ, four.EnergyPJ)
	}
}

// Values a design cannot take, clashing workload names and measured rows
// that match nothing are caught before or reported after the run.
func TestRunChecks(t *testing.T) {
	o := fakeOptions()
	o.Vary, _ = ParseVary("opa_power_mw=4.44,2e6")
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "opa_power_mw=2e6 on panther") {
		t.Errorf("an out-of-range power: %v", err)
	}
	dir := t.TempDir()
	src := []byte("input: [8]\nlayers:\n  - dense: {out: 10}\nloss: mse\n")
	for _, p := range []string{"a/net.yaml", "b/net.yaml", "mlp.yaml"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), src, 0o644)
	}
	o = fakeOptions()
	o.Workloads = []string{filepath.Join(dir, "a/net.yaml"), filepath.Join(dir, "b/net.yaml")}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "are both named net: rename one model file") {
		t.Errorf("two workloads named net: %v", err)
	}
	if _, err := LookupWorkload(filepath.Join(dir, "mlp.yaml")); err == nil || !strings.Contains(err.Error(), "would be named mlp, a workload of the paper's") {
		t.Errorf("a file named like a paper workload: %v", err)
	}
	o = fakeOptions()
	o.GPUMeasured = []GPUMeasurement{{Workload: "mlp_l4", Batch: 1, StepSeconds: 1, StepJoules: 1}}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "the measured GPU step of mlp_l4 at batch 1 matches no workload") {
		t.Errorf("notes do not report the unmatched measurement: %q", res.Notes)
	}
}

// A CRS interval whose batches do not fit one program is skipped with a
// note, not an abort; the whole VGG-16 holds one example per program.
func TestCRSIntervalSkips(t *testing.T) {
	o := fakeOptions()
	o.Vary, _ = ParseVary("crs_interval=1,2")
	o.Batches = []int{1}
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, _ model.BiasPlacement, _ func(string)) (Measure, error) {
		if w.Name == "mlp-l4" && k > 1 {
			return Measure{}, errors.New("tile 0 needs more than its shared memory")
		}
		return fake(ctx, w, a, b, k, model.BiasAuto, nil)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"vgg16 at batch 1, crs_interval=2: one program holds at most 1 example(s)", "mlp-l4 at batch 1 on panther, crs_interval=2: not measured: tile 0 needs more"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	for _, r := range res.Rows {
		if r.Variant == "crs_interval=2" && r.Design != GPUDesign {
			t.Errorf("a row for a skipped measurement: %+v", r)
		}
	}
}

// A program that does not fit its design is skipped with a note naming
// the workload, batch, design and the compiler's message; the other
// designs of that workload and batch are measured.
func TestCapacitySkips(t *testing.T) {
	full := "tile 3 needs 40 transfer instructions for 4 examples (10 per example); its instruction memory holds 32: stream fewer examples per program"
	o := fakeOptions()
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
		if w.Name == "mlp-l4" && b == 4 && a.Name == "serial" {
			return Measure{}, &compiler.CapacityError{Err: errors.New(full)}
		}
		return fake(ctx, w, a, b, k, bias, stage)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if want := "mlp-l4 at batch 4 on serial: not measured: " + full; !slices.Contains(res.Notes, want) {
		t.Errorf("notes lack %q:\n%s", want, strings.Join(res.Notes, "\n"))
	}
	var designs []string
	for _, r := range res.Rows {
		if r.Workload == "mlp-l4" && r.Batch == 4 {
			designs = append(designs, r.Design)
		}
	}
	if want := []string{"panther", "digital", GPUDesign}; !slices.Equal(designs, want) {
		t.Errorf("mlp-l4 at batch 4 measured on %q, want %q", designs, want)
	}
	if len(res.Rows) != 11 {
		t.Errorf("%d rows, want the 12 of the run less the skipped one", len(res.Rows))
	}
}

// Any other failure of a point stops the run and names the point.
func TestOtherErrorStops(t *testing.T) {
	o := fakeOptions()
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
		if w.Name == "mlp-l4" && b == 4 && a.Name == "serial" {
			return Measure{}, errors.New("internal error: the compiled program is invalid")
		}
		return fake(ctx, w, a, b, k, bias, stage)
	}
	res, err := Run(context.Background(), o)
	if want := "mlp-l4, batch 4, serial: internal error: the compiled program is invalid"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if res != nil {
		t.Errorf("a result beside the error: %+v", res)
	}
}

// The real compiler's capacity error skips a point: a small CNN whose
// longest core program takes 323 instructions in the accumulate variant
// and 330 in inplace, on designs whose core instruction memory holds 326.
func TestCapacitySkipsCompiled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cnn.yaml")
	src := "input: [1, 12, 12]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: 1}\n  - relu\n  - maxpool: {kernel: 2}\n" +
		"  - conv2d: {out: 4, kernel: 3}\n  - relu\n  - flatten\n  - dense: {out: 10}\nloss: mse\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Workloads: []string{path}, Batches: []int{4}, Designs: []string{"panther", "panther-inplace", GPUDesign}, GPU: "v100"}
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
		small := *a
		small.Structure.CoreInstMem = 326
		return simulate(ctx, w, &small, b, k, bias, stage)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].Design != "panther" || res.Rows[0].TimeNS <= 0 || res.Rows[1].Design != GPUDesign {
		t.Errorf("rows %+v, want panther and the GPU", res.Rows)
	}
	want := "cnn at batch 4 on panther-inplace: not measured: tile 0 core 2 (layer 3 (maxpool at " + path + ":5:5), channels 0..3) needs 330 instructions; a core's instruction memory holds 326"
	if !slices.Contains(res.Notes, want) {
		t.Errorf("notes lack %q:\n%s", want, strings.Join(res.Notes, "\n"))
	}
}
