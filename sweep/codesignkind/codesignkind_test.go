package codesignkind

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/sweep"
	"github.com/panther-xbar/panther/sweep/trainkind"
	"github.com/panther-xbar/panther/xbar"
)

// Two points of testdata/codesign.yaml that differ only in the ADC's bits
// (8 and 10): each record holds the trainer's accuracy and the simulated
// step; the epoch is its steps; the ADC's energy is 4 times at 10 bits
// (arch.ADCScale), and the step's time does not move.
func TestCodesignPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and simulates")
	}
	s, err := sweep.ReadFile("../testdata/codesign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 16 || s.Points[0]["adc"] != "8" || s.Points[2]["adc"] != "10" {
		t.Fatalf("%d points, first %v", len(s.Points), s.Points[0])
	}
	dir := t.TempDir()
	var ms [2]sweep.Metrics
	for k, i := range []int{0, 2} {
		r, err := sweep.RunPoint(context.Background(), s, dir, i)
		if err != nil || r.Status != sweep.Done {
			t.Fatalf("point %d: %v %+v", i, err, r)
		}
		m := r.Metrics
		ms[k] = m
		if !(m["test_accuracy"] > 0.15) || m["test_examples"] != 256 || m["opa_pulses"] <= 0 {
			t.Errorf("point %d trained: %v", i, m)
		}
		if m["step_energy_pj"] <= 0 || m["step_time_ns"] <= 0 || m["area_mm2"] <= 0 || m["epoch_steps"] != 128 {
			t.Errorf("point %d simulated: %v", i, m)
		}
		if got, want := m["epoch_joules"], 128*m["step_energy_pj"]/1e12; math.Abs(got-want) > 1e-12*want {
			t.Errorf("point %d: epoch %g J, 128 steps of %g pJ", i, got, m["step_energy_pj"])
		}
		var sum float64
		for _, op := range []string{"mvm_mtvm", "adc", "update", "crs", "transfers", "memory", "vector_control", "leakage"} {
			v, ok := m["energy_"+op+"_pj"]
			if !ok {
				t.Errorf("point %d: no energy_%s_pj", i, op)
			}
			sum += v
		}
		if math.Abs(sum-m["step_energy_pj"]) > 1e-9*sum {
			t.Errorf("point %d: energy by operation sums to %g, the step %g", i, sum, m["step_energy_pj"])
		}
	}
	if a8, a10 := ms[0]["energy_adc_pj"], ms[1]["energy_adc_pj"]; a8 <= 0 || math.Abs(a10-4*a8) > 1e-9*a10 || ms[1]["adc_cost_bits"] != 10 {
		t.Errorf("ADC energy per step at 8 and 10 bits: %g, %g pJ", a8, a10)
	}
	if ms[0]["step_time_ns"] != ms[1]["step_time_ns"] {
		t.Errorf("the ADC's bits moved the step's time: %g, %g ns", ms[0]["step_time_ns"], ms[1]["step_time_ns"])
	}
}

// The machine of a point is its variant's preset with the point's crossbar
// settings; a point whose program cannot hold its batches is refused
// before it runs.
func TestMachineAndCheck(t *testing.T) {
	p := sweep.Params{}
	for _, k := range (&runner{}).Keys() {
		v, err := k.Parse(k.Default)
		if err != nil {
			t.Fatalf("%s default %q: %v", k.Name, k.Default, err)
		}
		p[k.Name] = v
	}
	p["variant"], p["adc"], p["update_plan"] = "pipelined", "6>>1", "2x12/4x12/f8"
	c, err := trainkind.Config(p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Machine(c.Unit)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "panther-pipelined" || a.Crossbar.ADC != (xbar.ADC{Bits: 6, Shift: 1}) || a.Crossbar.UpdatePlan.String() != "2x12/4x12/f8" {
		t.Errorf("machine %s: %+v", a.Name, a.Crossbar)
	}
	p["batch"], p["crs_interval"] = int64(1024), int64(8)
	if err := (&runner{}).Check(p); err == nil || !strings.Contains(err.Error(), fmt.Sprint(1024*8)) {
		t.Errorf("a program of 8192 examples: %v", err)
	}
}
