// Package codesignkind is the "codesign" kind of sweep point: for each
// point it trains the network with the fast trainer (accuracy, loss,
// crossbar events, as a train point) and compiles and simulates one
// training step of the same network, with the same crossbar settings,
// batch and CRS interval, on the matching PANTHER architecture (time,
// energy, energy by operation, area; per step and per epoch), so that one
// record holds both halves of a design point. Importing it registers the
// kind.
package codesignkind

import (
	"context"
	"fmt"
	"strings"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/eval"
	"github.com/panther-xbar/panther/sweep"
	"github.com/panther-xbar/panther/sweep/trainkind"
	"github.com/panther-xbar/panther/train"
	"github.com/panther-xbar/panther/xbar"
)

// Kind is the name sweep files give.
const Kind = "codesign"

func init() { sweep.Register(Kind, &runner{}) }

type runner struct{ trainer trainkind.Runner }

// Keys are the train kind's keys and the epoch the figures per epoch count.
func (r *runner) Keys() []sweep.Key {
	return append(trainkind.Keys(), sweep.Key{Name: "epoch_examples",
		Help: "examples of the epoch the per-epoch time and energy count (0: the examples trained per epoch)", Default: "0",
		Parse: trainkind.ParseInt(0)})
}

// Machine is the architecture that runs a trainer configuration: the
// PANTHER preset of its variant (panther-inplace, panther-accumulate or
// panther-pipelined) with its slice plans, ADC, rounding, OPA mode, device
// and crossbar size.
func Machine(u xbar.UnitConfig) (*arch.Arch, error) {
	a, err := arch.Preset("panther-" + u.Variant.String())
	if err != nil {
		return nil, err
	}
	a.Crossbar = arch.Crossbar{Variant: u.Variant, InplacePlan: u.InplacePlan, ReadPlan: u.ReadPlan, UpdatePlan: u.UpdatePlan,
		ADC: u.ADC, Rounding: u.Rounding, OPAMode: u.OPAMode, Device: u.Device}
	a.Structure.CrossbarSize = u.Size.Rows
	return a, a.Validate()
}

// check builds a point's trainer configuration and machine and checks the
// simulated program can hold crs_interval batches.
func check(p sweep.Params) (train.Config, *arch.Arch, error) {
	c, err := trainkind.Config(p)
	if err != nil {
		return c, nil, err
	}
	a, err := Machine(c.Unit)
	if err != nil {
		return c, nil, err
	}
	if n := c.Batch * c.CRSInterval; n > compiler.MaxExamples {
		return c, nil, fmt.Errorf("batch %d x crs_interval %d = %d examples in the simulated program: want at most %d", c.Batch, c.CRSInterval, n, compiler.MaxExamples)
	}
	return c, a, nil
}

func (r *runner) Check(p sweep.Params) error {
	_, _, err := check(p)
	return err
}

// Run simulates one step of the point (step_*, epoch_*, energy_*_pj by
// operation per step, area_mm2) and trains it (the train kind's metrics).
func (r *runner) Run(ctx context.Context, p sweep.Params) (sweep.Metrics, error) {
	c, a, err := check(p)
	if err != nil {
		return nil, err
	}
	// The step first: a network whose program does not fit fails before
	// the longer training.
	step, err := eval.MeasureStep(ctx, compiler.Model{Net: c.Model}, a, c.Batch, c.CRSInterval, c.Bias)
	if err != nil {
		return nil, fmt.Errorf("simulating a step on %s: %w", a.Name, err)
	}
	m, res, err := r.trainer.Train(ctx, p)
	if err != nil {
		return nil, err
	}
	step.Batch, step.EpochExamples = c.Batch, res.TrainExamples
	if v, _ := p["epoch_examples"].(int64); v > 0 {
		step.EpochExamples = int(v)
	}
	steps := float64(step.EpochSteps())
	m["step_time_ns"], m["step_energy_pj"], m["step_edp_pj_ns"] = step.TimeNS, step.EnergyPJ, step.EDP()
	m["epoch_steps"], m["epoch_seconds"], m["epoch_joules"] = steps, steps*step.TimeNS/1e9, steps*step.EnergyPJ/1e12
	m["epoch_edp_j_s"] = m["epoch_seconds"] * m["epoch_joules"]
	m["area_mm2"], m["adc_cost_bits"] = step.AreaMM2, float64(a.ADCCostBits())
	for _, s := range step.ByOperation {
		m["energy_"+metricName(s.Name)+"_pj"] = s.PJ
	}
	return m, nil
}

// metricName turns an operation's name (mvm/mtvm, vector+control) into a
// metric's (mvm_mtvm, vector_control).
func metricName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
