package eval

import (
	"fmt"
	"slices"
	"strings"
)

// Claim is one of the PANTHER paper's headline figures: how many times
// lower PANTHER's energy or time is than a baseline's.
type Claim struct {
	Metric   string `json:"metric"`   // "energy" or "time"
	Baseline string `json:"baseline"` // our design name
	Scope    string `json:"scope"`
	Paper    string `json:"paper"` // as the paper states it
	// Low and High bound the paper's figure (equal for a single "up to").
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// PaperClaims are the paper's headline figures (PANTHER, IEEE TC 2020).
func PaperClaims() []Claim {
	return []Claim{
		{"energy", "digital", "all workloads, best case", "up to 8.02x", 8.02, 8.02},
		{"energy", "serial", "all workloads, best case", "up to 54.21x", 54.21, 54.21},
		{"energy", GPUDesign, "all workloads, best case", "up to 103x", 103, 103},
		{"time", "digital", "all workloads, best case", "up to 7.16x", 7.16, 7.16},
		{"time", "serial", "all workloads, best case", "up to 4.02x", 4.02, 4.02},
		{"time", GPUDesign, "all workloads, best case", "up to 16x", 16, 16},
		{"energy", "serial", "FC layers (MLPs)", "54.21x", 54.21, 54.21},
		{"energy", "serial", "conv layers A-G (vs ReRAM-MVM)", "1.18-1.63x", 1.18, 1.63},
		{"energy", "cmos-op", "conv layers A-G (vs CMOS-OPA)", "1.22-2.45x", 1.22, 2.45},
	}
}

// measuredClaims hold the paper's GPU figures against measured GPU rows.
func measuredClaims() []Claim {
	return []Claim{
		{"energy", MeasuredDesign, "measured GPU, best case", "up to 103x", 103, 103},
		{"time", MeasuredDesign, "measured GPU, best case", "up to 16x", 16, 16},
	}
}

// Ours is our figure for a claim: the largest ratio measured over the
// claim's scope (the smallest and largest for a range claim), and whether
// anything was measured.
func (c Claim) Ours(rows []Row) (lo, hi float64, ok bool) {
	for _, r := range rows {
		if r.Design != c.Baseline || r.Variant != "" || !claimScope(c, r.Workload) {
			continue
		}
		v := r.EnergyRatio
		if c.Metric == "time" {
			v = r.TimeRatio
		}
		if v <= 0 {
			continue
		}
		if !ok || v < lo {
			lo = v
		}
		if !ok || v > hi {
			hi = v
		}
		ok = true
	}
	return lo, hi, ok
}

func claimScope(c Claim, workload string) bool {
	switch c.Scope {
	case "FC layers (MLPs)":
		return workload == "mlp-l4" || workload == "mlp-big"
	case "conv layers A-G (vs ReRAM-MVM)", "conv layers A-G (vs CMOS-OPA)":
		return slices.ContainsFunc(vggLayers, func(l vggLayer) bool { return "vgg-"+strings.ToLower(l.name) == workload })
	}
	return true
}

// ScopeText is the claim's scope as measured here: for a best case over
// all workloads, the workloads this run covers (the paper's all are not
// ours unless they were run).
func (c Claim) ScopeText(rows []Row) string {
	if c.Scope != "all workloads, best case" {
		return c.Scope
	}
	var ws []string
	for _, r := range rows {
		if r.Design == c.Baseline && !slices.Contains(ws, r.Workload) {
			ws = append(ws, r.Workload)
		}
	}
	switch {
	case len(ws) == 0:
		return c.Scope
	case len(ws) > 4:
		return fmt.Sprintf("best case over the %d workloads run", len(ws))
	}
	return "best case over " + strings.Join(ws, ", ")
}

// OursText formats our figure for a claim.
func (c Claim) OursText(rows []Row) string {
	lo, hi, ok := c.Ours(rows)
	switch {
	case !ok:
		return "not measured"
	case c.Low != c.High:
		return fmt.Sprintf("%.2f-%.2fx", lo, hi)
	}
	return fmt.Sprintf("up to %.2fx (min %.2fx)", hi, lo)
}

// FormatTime prints a time in ns with a unit.
func FormatTime(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.4g s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.4g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.4g us", ns/1e3)
	}
	return fmt.Sprintf("%.4g ns", ns)
}

// FormatEnergy prints an energy in pJ with a unit.
func FormatEnergy(pj float64) string {
	switch {
	case pj >= 1e12:
		return fmt.Sprintf("%.4g J", pj/1e12)
	case pj >= 1e9:
		return fmt.Sprintf("%.4g mJ", pj/1e9)
	case pj >= 1e6:
		return fmt.Sprintf("%.4g uJ", pj/1e6)
	case pj >= 1e3:
		return fmt.Sprintf("%.4g nJ", pj/1e3)
	}
	return fmt.Sprintf("%.4g pJ", pj)
}
