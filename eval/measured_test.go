package eval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const measuredCSV = `# measured on one card
workload,batch,step_seconds,power_watts,card,date,method
mlp-l4, 1, 0.0002, 100, Test Card, 2026-11-26, torch.cuda.Event timing
mlp-l4,4,0.0004,150,Test Card,2026-11-26,
`

func TestParseGPUMeasurements(t *testing.T) {
	ms, err := ParseGPUMeasurements("gpu.csv", []byte(measuredCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("%d measurements, want 2", len(ms))
	}
	m := ms[0]
	if m.Workload != "mlp-l4" || m.Batch != 1 || m.StepSeconds != 0.0002 || !near(m.StepJoules, 0.02) || m.Card != "Test Card" || m.Method != "torch.cuda.Event timing" {
		t.Errorf("first measurement %+v", m)
	}
	if !near(ms[1].StepJoules, 0.06) {
		t.Errorf("second step %g J, want 150 W x 0.4 ms = 0.06 J", ms[1].StepJoules)
	}
	if s := m.source(); s != "measured: Test Card: 2026-11-26: torch.cuda.Event timing" {
		t.Errorf("source %q", s)
	}
	e, err := ParseGPUMeasurements("e.csv", []byte("\ufeffworkload,batch,step_seconds,energy_joules\nvgg16,1,0.01,2.5\n"))
	if err != nil || e[0].StepJoules != 2.5 {
		t.Errorf("energy column: %v %+v", err, e)
	}
}

func TestParseGPUMeasurementsErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"", "gpu.csv: empty"},
		{"workload,batch,seconds\n", `gpu.csv:1:16: unknown column "seconds"`},
		{"workload,batch,energy_joules\n", `gpu.csv:1: no "step_seconds" column`},
		{"workload,batch,step_seconds\n", "exactly one of energy_joules and power_watts"},
		{"workload,batch,step_seconds,energy_joules,power_watts\n", "exactly one of"},
		{"workload,batch,batch,step_seconds,energy_joules\n", `gpu.csv:1:16: column "batch" given twice`},
		{"workload,batch,step_seconds,energy_joules\n", "no measurements after the header"},
		{"workload,batch,step_seconds,energy_joules\nmlp,0,1,1\n", "gpu.csv:2:5: batch \"0\": want a positive integer"},
		{"workload,batch,step_seconds,energy_joules\nmlp,1,fast,1\n", "gpu.csv:2:7: step_seconds \"fast\": want a positive number"},
		{"workload,batch,step_seconds,energy_joules\nmlp,1,1,-2\n", "gpu.csv:2:9: energy_joules \"-2\""},
		{"workload,batch,step_seconds,energy_joules\n,1,1,1\n", "gpu.csv:2: no workload named"},
		{"workload,batch,step_seconds,energy_joules\nmlp,1,1,1\nmlp,1,2,2\n", "gpu.csv:3: mlp at batch 1 was already measured on line 2"},
		{"workload,batch,step_seconds,energy_joules\nmlp,1,1\n", "gpu.csv:2:1: wrong number of fields"},
		{"# a comment\nworkload,batch,secs\n", `gpu.csv:2:16: unknown column "secs"`},
		{"workload,batch,step_seconds,energy_joules\nmlp,1,NaN,1\n", `step_seconds "NaN": want a positive number`},
		{"workload,batch,step_seconds,power_watts\nmlp,1,1e200,1e200\n", "gpu.csv:2: power_watts x step_seconds overflows"},
	} {
		_, err := ParseGPUMeasurements("gpu.csv", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}

func FuzzParseGPUMeasurements(f *testing.F) {
	f.Add([]byte(measuredCSV))
	f.Add([]byte("workload,batch,step_seconds,energy_joules\nvgg16,1,0.01,2.5\n"))
	f.Add([]byte("workload,batch,step_seconds,energy_joules\n\"a\nb\",1,1,1\n"))
	f.Add([]byte("workload,batch,step_seconds,power_watts\nmlp,1,NaN,1e308\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseGPUMeasurements("fuzz.csv", data)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Workload == "" || m.Batch < 1 || !(m.StepSeconds > 0) || !(m.StepJoules > 0) || math.IsInf(m.StepSeconds+m.StepJoules, 0) {
				t.Fatalf("accepted %+v", m)
			}
		}
	})
}

// Measured rows join the report beside the GPU model, with ratios and
// epochs; the measured claims appear only with measurements.
func TestRunWithMeasuredGPU(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gpu.csv")
	if err := os.WriteFile(path, []byte(measuredCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadGPUMeasurements(path)
	if err != nil {
		t.Fatal(err)
	}
	o := fakeOptions()
	o.GPUMeasured = ms
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var got []Row
	for _, r := range res.Rows {
		if r.Design == MeasuredDesign {
			got = append(got, r)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d measured rows, want 2 (mlp-l4 at batches 1 and 4)", len(got))
	}
	// The fake panther step takes 1000 ns x batch and 5e5 pJ x batch.
	r := got[0]
	if r.Batch != 1 || r.TimeNS != 2e5 || !near(r.TimeRatio, 200) || !near(r.EnergyRatio, 0.02e12/5e5) || !strings.HasPrefix(r.Source, "measured: Test Card") {
		t.Errorf("measured row %+v", r)
	}
	if r.EpochExamples != 60000 || !near(r.EpochSeconds, 60000*0.0002) || !near(r.EpochJoules, 60000*0.02) {
		t.Errorf("measured epoch: %d examples, %g s, %g J", r.EpochExamples, r.EpochSeconds, r.EpochJoules)
	}
	found := 0
	for _, c := range res.Paper {
		if c.Baseline == MeasuredDesign {
			found++
			if c.Metric == "time" {
				if _, hi, ok := c.Ours(res.Rows); !ok || !near(hi, 200) {
					t.Errorf("measured time claim: %g %v, want up to 200x", hi, ok)
				}
			}
		}
	}
	if found != 2 {
		t.Errorf("%d measured-GPU claims, want 2", found)
	}
	plain, err := Run(context.Background(), fakeOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plain.Paper {
		if c.Baseline == MeasuredDesign {
			t.Error("a measured-GPU claim without measurements")
		}
	}
}
