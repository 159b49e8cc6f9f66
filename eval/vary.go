package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

// Vary is a sensitivity study: Key takes each of Values in turn, overriding
// the architecture presets of the simulated designs where the setting
// applies (an OPA setting only to designs that update in the crossbar, an
// analog MVM setting only to designs with analog MVM).
type Vary struct {
	Key    string   `json:"key,omitempty"`
	Values []string `json:"values,omitempty"`
}

// varyKeys are the settings --vary accepts, with what they override.
var varyKeys = map[string]string{
	"opa_power_mw":         "ops.update.power_mw of designs with an in-crossbar OPA (docs/constants.md: 4.44 mW)",
	"opa_per_bit":          "ops.update.per_bit of designs with an in-crossbar OPA (default false)",
	"mvm_power_mw":         "ops.mvm.power_mw of designs with analog MVM (docs/constants.md: 3.09 mW panther, 2.74 mW baselines)",
	"adc_pj":               "components.adc.dynamic_mw: the energy of one 8-bit (reference) ADC conversion in pJ (docs/constants.md: 1.8)",
	"adc_bits":             "crossbar.adc of designs with analog MVM: the ADC's bits (1 to 24, shift kept), which set its numerics and its energy, latency and area (docs/constants.md: ADC resolution)",
	"serial_update_ns":     "ops.update.latency_ns of the serial design: one serial access of a slice array (docs/constants.md: 475 ns)",
	"sram_write_pj":        "ops.sram_write.energy_pj of designs that write their weights into SRAM (digital; docs/constants.md: 81920 pJ per matrix unit)",
	"sram_write_ns":        "ops.sram_write.latency_ns of designs that write their weights into SRAM (digital; docs/constants.md: 4096 ns per matrix unit)",
	"digital_mvm_ns":       "ops.mvm.latency_ns of designs with digital matrix units: one product (digital; docs/constants.md: 897 ns)",
	"digital_unit_leak_mw": "components.crossbar.leak_mw of designs with digital matrix units (digital; docs/constants.md: 40.24 mW per unit)",
	"record_pj_per_bit":    "ops.fault_record.read_pj_per_bit: the fault record SRAM's read energy per bit, charged when crossbar.device.fault_record > 0 (docs/constants.md: 0.035625 pJ)",
	"record_mm2_per_bit":   "ops.fault_record.area_mm2_per_bit: the fault record SRAM's area per bit (docs/constants.md: 1.1963e-7 mm^2)",
	"crs_interval":         "batches between carry resolutions: one program runs that many batches with one CRS at the end, and the step is its mean (default 1)",
	"bias":                 "where biases lie: auto (in the vector unit where a layer's inputs fill their last crossbar row tile; the default) or crossbar (every bias a crossbar row; docs/training.md, Biases)",
	"inplace_plan":         "crossbar.inplace_plan: the slice plan of inplace designs with an in-crossbar OPA (docs/numeric-model.md: 2x8/6x4,5x4); plans hold commas, so separate them with ';'",
	"read_plan":            "crossbar.read_plan: the read set's slices of accumulate and pipelined designs (2x8); values separated by ';'",
	"update_plan":          "crossbar.update_plan: the update set's slices of accumulate and pipelined designs (2x12/6x8,5x4/f8); values separated by ';'",
}

// VaryKeys lists the keys of --vary with their meaning.
func VaryKeys() []string {
	var ks []string
	for k, v := range varyKeys {
		ks = append(ks, k+": "+v)
	}
	slices.Sort(ks)
	return ks
}

// ParseVary reads KEY=V1,V2,... (KEY=P1;P2 for slice plans, which hold
// commas themselves).
func ParseVary(s string) (Vary, error) {
	k, vs, ok := strings.Cut(s, "=")
	if !ok {
		return Vary{}, fmt.Errorf("--vary %q: want KEY=V1,V2", s)
	}
	v := Vary{Key: strings.TrimSpace(k)}
	sep := ","
	if strings.HasSuffix(v.Key, "_plan") {
		sep = ";" // plans hold commas
	}
	v.Values = splitOn(vs, sep)
	return v, v.validate()
}

func (v Vary) validate() error {
	if _, ok := varyKeys[v.Key]; !ok {
		var names []string
		for k := range varyKeys {
			names = append(names, k)
		}
		slices.Sort(names)
		return fmt.Errorf("vary key %q: want one of %s", v.Key, strings.Join(names, ", "))
	}
	if len(v.Values) == 0 {
		return fmt.Errorf("vary %s: no values given", v.Key)
	}
	var errs []error
	for _, x := range v.Values {
		if err := v.apply(&arch.Arch{}, x); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apply sets the key to value x on a.
func (v Vary) apply(a *arch.Arch, x string) error {
	switch v.Key {
	case "opa_power_mw", "mvm_power_mw", "adc_pj", "serial_update_ns", "sram_write_pj", "sram_write_ns", "digital_mvm_ns", "digital_unit_leak_mw",
		"record_pj_per_bit", "record_mm2_per_bit":
		f, err := strconv.ParseFloat(x, 64)
		if err != nil || !(f >= 0) || math.IsInf(f, 0) {
			return fmt.Errorf("vary %s: %q is not a finite number >= 0", v.Key, x)
		}
		u, analog := &a.Ops.Update, a.Ops.MVM.Mechanism == arch.MVMAnalog
		switch {
		case v.Key == "opa_power_mw" && u.Mechanism == arch.UpdateCrossbar:
			u.PowerMW = f
		case v.Key == "mvm_power_mw" && analog:
			a.Ops.MVM.PowerMW = f
		case v.Key == "adc_pj":
			a.Components.ADC.DynamicMW = f // one conversion draws it for 1 ns
		case v.Key == "serial_update_ns" && u.Mechanism == arch.UpdateSerial:
			u.LatencyNS = f
		case v.Key == "sram_write_pj" && u.Mechanism == arch.UpdateSRAM:
			a.Ops.SRAMWrite.EnergyPJ = f
		case v.Key == "sram_write_ns" && u.Mechanism == arch.UpdateSRAM:
			a.Ops.SRAMWrite.LatencyNS = f
		case v.Key == "digital_mvm_ns" && !analog:
			a.Ops.MVM.LatencyNS = f
		case v.Key == "digital_unit_leak_mw" && !analog:
			a.Components.Crossbar.LeakMW = f
		case v.Key == "record_pj_per_bit":
			a.Ops.FaultRecord.ReadPJPerBit = f
		case v.Key == "record_mm2_per_bit":
			a.Ops.FaultRecord.AreaMM2PerBit = f
		}
	case "adc_bits":
		b, err := strconv.Atoi(x)
		if err != nil || b < 1 || b > xbar.MaxADCBits {
			return fmt.Errorf("vary %s: %q is not a number of bits from 1 to %d", v.Key, x, xbar.MaxADCBits)
		}
		if a.Ops.MVM.Mechanism == arch.MVMAnalog {
			a.Crossbar.ADC = xbar.ADC{Bits: b, Shift: a.Crossbar.ADC.Shift}
		}
	case "opa_per_bit":
		b, err := strconv.ParseBool(x)
		if err != nil {
			return fmt.Errorf("vary %s: %q is not true or false", v.Key, x)
		}
		if a.Ops.Update.Mechanism == arch.UpdateCrossbar {
			a.Ops.Update.PerBit = b
		}
	case "crs_interval":
		if _, err := parseInterval(x); err != nil {
			return fmt.Errorf("vary %s: %w", v.Key, err)
		}
	case "bias":
		if _, err := model.ParseBiasPlacement(x); err != nil {
			return fmt.Errorf("vary %s: %w", v.Key, err)
		}
	case "inplace_plan", "read_plan", "update_plan":
		p, err := xbar.ParsePlan(x)
		if err != nil {
			return fmt.Errorf("vary %s: %w", v.Key, err)
		}
		switch v.Key {
		case "inplace_plan":
			if a.Ops.Update.Mechanism == arch.UpdateCrossbar {
				a.Crossbar.InplacePlan = p
			}
		case "read_plan":
			a.Crossbar.ReadPlan = p
		default:
			a.Crossbar.UpdatePlan = p
		}
	default:
		return fmt.Errorf("vary key %q unknown", v.Key)
	}
	return nil
}

// maxCRSInterval bounds crs_interval: each value simulates that many
// batches.
const maxCRSInterval = 64

func parseInterval(x string) (int, error) {
	k, err := strconv.Atoi(x)
	if err != nil || k < 1 || k > maxCRSInterval {
		return 0, fmt.Errorf("%q is not a number of batches from 1 to %d", x, maxCRSInterval)
	}
	return k, nil
}

// batchesPerCRS is how many batches one simulation runs for value x: the
// CRS interval under crs_interval, else 1.
func (v Vary) batchesPerCRS(x string) int {
	if v.Key != "crs_interval" {
		return 1
	}
	k, err := parseInterval(x)
	if err != nil {
		return 1 // validate has refused it
	}
	return k
}

// bias is the placement of the biases for value x: x under bias, else the
// default.
func (v Vary) bias(x string) model.BiasPlacement {
	if v.Key != "bias" {
		return model.BiasAuto
	}
	p, _ := model.ParseBiasPlacement(x) // validate has refused a bad one
	return p
}

// check applies every value to every simulated design's preset and
// validates the result, so that a value a design cannot take (a slice plan
// its cells cannot hold) stops the run before it starts.
func (v Vary) check(designs []string) []error {
	var errs []error
	for _, d := range designs {
		a, err := arch.Preset(d)
		if err != nil {
			continue // the design itself is reported
		}
		for _, x := range v.Values {
			c := *a
			if err := v.apply(&c, x); err != nil {
				errs = append(errs, err)
			} else if err := c.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s=%s on %s: %w", v.Key, x, d, err))
			}
		}
	}
	return errs
}
