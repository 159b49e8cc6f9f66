package sweep

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The Pareto front of a sweep trades a cost per epoch (to minimise)
// against test accuracy (to maximise), per model and dataset.
const (
	ParetoValue  = "test_accuracy"
	ParetoColumn = "pareto"
)

// ParetoCosts are the costs a front can be drawn against: the name a user
// gives and the metric of codesign points it reads.
var ParetoCosts = map[string]string{"energy": "epoch_joules", "time": "epoch_seconds", "edp": "epoch_edp_j_s"}

// paretoGroups are the parameters whose values split records into fronts.
var paretoGroups = []string{"model", "dataset"}

// Front marks the points on the Pareto front of cost (lower is better)
// against value (higher is better): a point is on it when no other point
// dominates it, that is has cost <= and value >= with one of them strictly
// better. A point with a NaN cost or value is off the front and dominates
// nothing.
func Front(cost, value []float64) []bool {
	on := make([]bool, len(cost))
	ok := func(i int) bool { return cost[i] == cost[i] && value[i] == value[i] }
	for i := range cost {
		on[i] = ok(i)
		for j := range cost {
			if on[i] && j != i && ok(j) && Dominates(cost[j], value[j], cost[i], value[i]) {
				on[i] = false
			}
		}
	}
	return on
}

// Dominates reports whether a point (cost c1, value v1) dominates one of
// (c2, v2): no worse in both, better in one.
func Dominates(c1, v1, c2, v2 float64) bool {
	return c1 <= c2 && v1 >= v2 && (c1 < c2 || v1 > v2)
}

// ParetoGroup is the finished records of one model and dataset, with their
// cost, value and front.
type ParetoGroup struct {
	Name        string // "model=... dataset=..."
	Recs        []*Record
	Cost, Value []float64
	On          []bool
}

// Pareto splits the finished records by model and dataset and marks each
// group's front of the metric cost against test accuracy. Records without
// the metrics are refused, naming what they have.
func Pareto(recs []*Record, cost string) ([]ParetoGroup, error) {
	var groups []ParetoGroup
	index := map[string]int{}
	for _, r := range recs {
		if r.Status != Done {
			continue
		}
		c, okc := r.Metrics[cost]
		v, okv := r.Metrics[ParetoValue]
		if !okc || !okv {
			return nil, fmt.Errorf("point %d has no metrics %s and %s (codesign points have them); it has %s",
				r.Point, cost, ParetoValue, strings.Join(slices.Sorted(maps.Keys(r.Metrics)), ", "))
		}
		var name []string
		for _, k := range paretoGroups {
			if x, ok := r.Params[k]; ok {
				name = append(name, k+"="+formatValue(x))
			}
		}
		key := strings.Join(name, " ")
		i, seen := index[key]
		if !seen {
			i = len(groups)
			index[key] = i
			groups = append(groups, ParetoGroup{Name: key})
		}
		g := &groups[i]
		g.Recs, g.Cost, g.Value = append(g.Recs, r), append(g.Cost, c), append(g.Value, v)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("no finished records")
	}
	for i := range groups {
		groups[i].On = Front(groups[i].Cost, groups[i].Value)
	}
	return groups, nil
}

// Settings names a record by the parameters whose values differ among
// recs, but the groups' (model and dataset): the label of a point on a
// front.
func Settings(r *Record, recs []*Record) string {
	var parts []string
	for _, k := range paramNames(recs) {
		if slices.Contains(paretoGroups, k) {
			continue
		}
		first, varies := formatValue(recs[0].Params[k]), false
		for _, o := range recs[1:] {
			if formatValue(o.Params[k]) != first {
				varies = true
				break
			}
		}
		if varies {
			parts = append(parts, k+"="+formatValue(r.Params[k]))
		}
	}
	return strings.Join(parts, " ")
}

// paretoColumn is the pareto column of records: "true" or "false" for a
// finished point with the energy per epoch and accuracy, "" for others;
// nil when no record has them (records of another kind than codesign).
func paretoColumn(recs []*Record) map[*Record]string {
	cost := ParetoCosts["energy"]
	var have []*Record
	for _, r := range recs {
		_, okc := r.Metrics[cost]
		_, okv := r.Metrics[ParetoValue]
		if r.Status == Done && okc && okv {
			have = append(have, r)
		}
	}
	if len(have) == 0 {
		return nil
	}
	groups, err := Pareto(have, cost)
	if err != nil {
		return nil // not reached: every record has the metrics
	}
	col := map[*Record]string{}
	for _, g := range groups {
		for i, r := range g.Recs {
			col[r] = fmt.Sprint(g.On[i])
		}
	}
	return col
}
