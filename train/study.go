package train

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/model/onnx"
	"github.com/panther-xbar/panther/xbar"
)

// Study is a grid of training runs over the update set's cell bits, the
// CRS interval, the variant, the rounding and the extra fraction bits (see
// docs/training.md, "The accuracy study"), on one or more datasets.
type Study struct {
	Datasets []string `json:"datasets"`
	Model    string   `json:"model"`
	// Base holds everything the grid does not vary: batch, lr, epochs,
	// limits, seed, ADC, device, OPA mode, tile size.
	Base         Config           `json:"base"`
	Variants     []xbar.Variant   `json:"variants"`
	Roundings    []fixed.Rounding `json:"roundings"`
	FractionBits []int            `json:"fraction_bits"`
	// CellBits are uniform cell bits of every slice; Mixed are per-slice
	// cell bits of the 8 weight slices, least significant first.
	CellBits     []int    `json:"cell_bits"`
	Mixed        []string `json:"mixed"`
	CRSIntervals []int    `json:"crs_intervals"`
}

// DefaultStudy is the grid of issue 6 on the CNN: cell bits 3..6 and two
// mixed plans, CRS every 1, 4, 16 or 64 batches, inplace and accumulate,
// nearest and stochastic rounding, f = 0 and 8, on MNIST and Fashion-MNIST,
// with an ideal ADC so that only the update path is studied. The learning
// rate is 0.002 per example: a convolution's OPAs add up over every output
// pixel, and at the MLP's 0.01 the CNN diverges.
func DefaultStudy() Study {
	base := DefaultConfig()
	base.FP32 = false
	base.Unit.ADC = xbar.ADC{Ideal: true}
	base.LR = 0.002
	base.Limit, base.TestLimit = 6400, 2000
	return Study{
		Datasets: []string{"mnist", "fashion-mnist"}, Model: "lenet", Base: base,
		Variants:     []xbar.Variant{xbar.Inplace, xbar.Accumulate},
		Roundings:    []fixed.Rounding{fixed.Nearest, fixed.Stochastic},
		FractionBits: []int{0, 8},
		CellBits:     []int{3, 4, 5, 6},
		Mixed:        []string{"6,6,6,6,5,5,5,5", "4,4,4,6,6,5,5,5"},
		CRSIntervals: []int{1, 4, 16, 64},
	}
}

// StudyPoint is one run of the grid.
type StudyPoint struct {
	Dataset      string `json:"dataset"`
	Variant      string `json:"variant"`
	Rounding     string `json:"rounding"`
	FractionBits int    `json:"fraction_bits"`
	Cells        string `json:"cells"` // "4" (uniform) or a mixed list
	CRSInterval  int    `json:"crs_interval"`
	Plan         string `json:"plan"`
}

// Key identifies the point within a study.
func (p StudyPoint) Key() string {
	return fmt.Sprintf("%s/%s/%s/f%d/c%s/crs%d", p.Dataset, p.Variant, p.Rounding, p.FractionBits, p.Cells, p.CRSInterval)
}

// StudyRecord is one finished point.
type StudyRecord struct {
	StudyPoint
	Settings      string  `json:"settings"` // hash of the study's shared settings
	TestAccuracy  float64 `json:"test_accuracy"`
	TestLoss      Loss    `json:"test_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	Examples      int     `json:"examples"`
	Events        Events  `json:"events"`
	// SatRate is slice saturations per non-zero slice write, in all and
	// per slice (least significant first).
	SatRate      float64   `json:"sat_rate"`
	SliceSatRate []float64 `json:"slice_sat_rate"`
	Seconds      float64   `json:"seconds"`
}

// cellsLabels lists the plan labels in grid order.
func (s Study) cellsLabels() []string {
	var out []string
	for _, b := range s.CellBits {
		out = append(out, strconv.Itoa(b))
	}
	return append(out, s.Mixed...)
}

// plan builds the slice plan of a point: 2-bit nominal slices covering
// 16 + f bits; the extra fraction slices take the cell bits of the least
// significant weight slice (so f = 8 with 6,6,6,6,5,5,5,5 is the default
// update plan of docs/numeric-model.md).
func studyPlan(cells string, f int) (xbar.Plan, error) {
	n := (fixed.Width + f) / 2
	var bits []string
	if !strings.Contains(cells, ",") {
		bits = slices.Repeat([]string{cells}, n)
	} else {
		bits = strings.Split(cells, ",")
		if len(bits) != fixed.Width/2 {
			return xbar.Plan{}, fmt.Errorf("mixed cell bits %q: want 8 values, one per 2-bit weight slice", cells)
		}
		bits = append(slices.Repeat([]string{bits[0]}, n-len(bits)), bits...)
	}
	return xbar.ParsePlan(fmt.Sprintf("2x%d/%s/f%d", n, strings.Join(bits, ","), f))
}

// Points lists the grid in a fixed order, checking every plan.
func (s Study) Points() ([]StudyPoint, error) {
	if (len(s.FractionBits) == 0) || len(s.Datasets) == 0 || len(s.Variants) == 0 || len(s.Roundings) == 0 || len(s.CRSIntervals) == 0 || len(s.cellsLabels()) == 0 {
		return nil, fmt.Errorf("study: every axis needs at least one value")
	}
	var out []StudyPoint
	for _, ds := range s.Datasets {
		for _, v := range s.Variants {
			for _, r := range s.Roundings {
				for _, f := range s.FractionBits {
					if f%2 != 0 {
						return nil, fmt.Errorf("study: fraction bits %d: want an even number (2-bit slices)", f)
					}
					for _, cells := range s.cellsLabels() {
						plan, err := studyPlan(cells, f)
						if err != nil {
							return nil, fmt.Errorf("study: cells %s, f = %d: %w", cells, f, err)
						}
						for _, crs := range s.CRSIntervals {
							if crs < 1 {
								return nil, fmt.Errorf("study: CRS interval %d: want at least 1", crs)
							}
							out = append(out, StudyPoint{Dataset: ds, Variant: v.String(), Rounding: r.String(),
								FractionBits: f, Cells: cells, CRSInterval: crs, Plan: plan.String()})
						}
					}
				}
			}
		}
	}
	return out, nil
}

// settings hashes what all points share, so results of different studies
// never mix in one folder.
func (s Study) settings() string {
	b := s.Base
	b.Unit.Variant, b.Unit.Rounding, b.CRSInterval = 0, 0, 0
	b.Unit.InplacePlan, b.Unit.UpdatePlan = xbar.Plan{}, xbar.Plan{}
	b.Model, b.Dataset = nil, ""
	j, _ := json.Marshal(struct {
		Model string
		Base  Config
	}{s.Model, b})
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:8])
}

// Study output files.
const (
	StudyJSONL    = "results.jsonl"
	StudyCSV      = "results.csv"
	StudyMarkdown = "results.md"
)

// StudyProgress is reported whenever a point finishes.
type StudyProgress struct {
	Done, Total, Skipped int
	Last                 *StudyRecord
}

// RunStudy runs every point not yet recorded in dir/results.jsonl, jobs at a
// time, appending each record as soon as its run finishes and rewriting
// results.csv; it draws the heat maps at the end. load reads a dataset.
// When ctx ends, runs in progress are abandoned (a later call redoes them).
func RunStudy(ctx context.Context, s Study, dir string, jobs int, load func(string) (*data.Set, *data.Set, error), report func(StudyProgress)) ([]StudyRecord, error) {
	points, err := s.Points()
	if err != nil {
		return nil, err
	}
	m, err := onnx.Load(s.Model)
	if err != nil {
		return nil, err
	}
	net := m.Net
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("study folder: %w", err)
	}
	settings := s.settings()
	records, err := readStudyRecords(filepath.Join(dir, StudyJSONL), settings)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, r := range records {
		done[r.Key()] = true
	}
	var todo []StudyPoint
	for _, p := range points {
		if !done[p.Key()] {
			todo = append(todo, p)
		}
	}
	// Every dataset and configuration is checked before the first run.
	sets := map[string][2]*data.Set{}
	for _, ds := range s.Datasets {
		tr, te, err := load(ds)
		if err != nil {
			return nil, err
		}
		sets[ds] = [2]*data.Set{tr, te}
	}
	configs := make([]Config, len(todo))
	for i, p := range todo {
		if configs[i], err = s.pointConfig(net, p); err != nil {
			return nil, err
		}
		ds := sets[p.Dataset]
		if err := checkFits(net, ds[0].Size(), data.Classes(ds[0], ds[1])); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Dataset, err)
		}
	}
	out, err := os.OpenFile(filepath.Join(dir, StudyJSONL), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	defer out.Close()

	type result struct {
		rec StudyRecord
		err error
	}
	queue := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range max(1, jobs) {
		wg.Go(func() {
			for i := range queue {
				rec, err := runPoint(ctx, configs[i], todo[i], settings, sets[todo[i].Dataset])
				results <- result{rec, err}
			}
		})
	}
	go func() {
		defer close(queue)
		for i := range todo {
			select {
			case queue <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	prog := StudyProgress{Total: len(points), Done: len(records), Skipped: len(records)}
	var errs []error
	for r := range results {
		if r.err != nil {
			if !errors.Is(r.err, ErrInterrupted) {
				errs = append(errs, r.err)
			}
			continue
		}
		line, err := json.Marshal(r.rec)
		if err == nil {
			_, err = out.Write(append(line, '\n'))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("study: %w", err))
			continue
		}
		out.Sync()
		records = append(records, r.rec)
		if err := writeStudyCSV(filepath.Join(dir, StudyCSV), records); err != nil {
			errs = append(errs, err)
		}
		prog.Done++
		prog.Last = &records[len(records)-1]
		if report != nil {
			report(prog)
		}
	}
	sortRecords(records, points)
	if err := writeStudyCSV(filepath.Join(dir, StudyCSV), records); err != nil {
		errs = append(errs, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, StudyMarkdown), func(w io.Writer) error { return writeStudyMarkdown(w, s, records) }); err != nil {
		errs = append(errs, err)
	}
	if err := drawStudy(dir, s, records); err != nil {
		errs = append(errs, err)
	}
	if ctx.Err() != nil && len(records) < len(points) {
		errs = append(errs, ErrInterrupted)
	}
	return records, errors.Join(errs...)
}

// pointConfig is the run of one point.
func (s Study) pointConfig(net *model.Network, p StudyPoint) (Config, error) {
	c := s.Base
	c.Model, c.Dataset, c.CRSInterval, c.FP32 = net, p.Dataset, p.CRSInterval, false
	var err error
	if c.Unit.Variant, err = xbar.ParseVariant(p.Variant); err != nil {
		return c, err
	}
	if c.Unit.Rounding, err = fixed.ParseRounding(p.Rounding); err != nil {
		return c, err
	}
	plan, err := xbar.ParsePlan(p.Plan)
	if err != nil {
		return c, err
	}
	if c.Unit.Variant == xbar.Inplace {
		c.Unit.InplacePlan = plan
	} else {
		c.Unit.UpdatePlan = plan
	}
	return c, c.Validate()
}

func runPoint(ctx context.Context, cfg Config, p StudyPoint, settings string, sets [2]*data.Set) (StudyRecord, error) {
	start := time.Now()
	res, err := Run(ctx, cfg, sets[0], sets[1], Options{})
	if err != nil {
		return StudyRecord{}, fmt.Errorf("study point %s: %w", p.Key(), err)
	}
	last := res.Epochs[len(res.Epochs)-1]
	rec := StudyRecord{StudyPoint: p, Settings: settings, TestAccuracy: last.TestAccuracy, TestLoss: last.TestLoss,
		TrainAccuracy: last.TrainAccuracy, Seconds: time.Since(start).Seconds()}
	// Events and examples over the whole run.
	for _, m := range res.Epochs {
		rec.Examples += m.Examples
		rec.Events = rec.Events.Combine(*m.Events, 1)
	}
	if e := rec.Events; e.OPAPulses > 0 {
		rec.SatRate = e.SatRate()
		for _, v := range e.SliceSat {
			rec.SliceSatRate = append(rec.SliceSatRate, float64(v)/float64(e.OPAPulses))
		}
	}
	return rec, nil
}

// readStudyRecords reads a study's records; a torn last line (a crash while
// writing) is dropped, records of other settings are an error.
func readStudyRecords(path, settings string) ([]StudyRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	defer f.Close()
	var out []StudyRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r StudyRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue // a record cut short is simply run again
		}
		if r.Settings != settings {
			return nil, fmt.Errorf("%s:%d: a record of a study with other settings (batch, lr, limits, epochs, seed, model, ADC or device differ): use another --out folder", path, line)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// sortRecords puts records in grid order.
func sortRecords(records []StudyRecord, points []StudyPoint) {
	order := map[string]int{}
	for i, p := range points {
		order[p.Key()] = i
	}
	slices.SortStableFunc(records, func(a, b StudyRecord) int { return order[a.Key()] - order[b.Key()] })
}

func writeStudyCSV(path string, records []StudyRecord) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"dataset", "variant", "rounding", "fraction_bits", "cells", "crs_interval", "plan", "test_accuracy", "test_loss",
			"train_accuracy", "examples", "opa_pulses", "slice_saturations", "sat_rate", "slice_sat_rate", "vanished", "q_sat", "seconds"})
		g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
		for _, r := range records {
			rates := make([]string, len(r.SliceSatRate))
			for i, v := range r.SliceSatRate {
				rates[i] = g(v)
			}
			cw.Write([]string{r.Dataset, r.Variant, r.Rounding, strconv.Itoa(r.FractionBits), r.Cells, strconv.Itoa(r.CRSInterval), r.Plan,
				g(r.TestAccuracy), g(float64(r.TestLoss)), g(r.TrainAccuracy), strconv.Itoa(r.Examples), strconv.FormatInt(r.Events.OPAPulses, 10),
				strconv.FormatInt(r.Events.SliceSaturations(), 10), g(r.SatRate), strings.Join(rates, " "),
				strconv.FormatInt(r.Events.Vanished, 10), strconv.FormatInt(r.Events.QSat, 10), g(r.Seconds)})
		}
		cw.Flush()
		return cw.Error()
	})
}

// writeStudyMarkdown writes one table per dataset, variant, rounding and
// fraction bits: test accuracy and, in brackets, slice saturations per 100
// slice writes, by cell bits (rows) and CRS interval (columns).
func writeStudyMarkdown(w io.Writer, s Study, records []StudyRecord) error {
	byKey := map[string]StudyRecord{}
	for _, r := range records {
		byKey[r.Key()] = r
	}
	fmt.Fprintf(w, "# Study results: %s\n\nTest accuracy (%%) and, in brackets, slice_saturations per 100 opa_pulses (non-zero slice writes); rows: cell bits of the update set (uniform, or per 2-bit slice, least significant first); columns: CRS interval in batches. Settings: %d training examples, %d test examples, %d epoch(s), batch %d, lr %g per example, seed %d, ADC %s.\n",
		s.Model, s.Base.Limit, s.Base.TestLimit, s.Base.Epochs, s.Base.Batch, s.Base.LR, s.Base.Seed, s.Base.Unit.ADC)
	for _, ds := range s.Datasets {
		for _, v := range s.Variants {
			for _, rd := range s.Roundings {
				for _, f := range s.FractionBits {
					fmt.Fprintf(w, "\n## %s, %s, %s rounding, f = %d\n\n| cells |", ds, v, rd, f)
					for _, crs := range s.CRSIntervals {
						fmt.Fprintf(w, " CRS %d |", crs)
					}
					fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(s.CRSIntervals)))
					for _, cells := range s.cellsLabels() {
						fmt.Fprintf(w, "| %s |", cells)
						for _, crs := range s.CRSIntervals {
							p := StudyPoint{Dataset: ds, Variant: v.String(), Rounding: rd.String(), FractionBits: f, Cells: cells, CRSInterval: crs}
							if r, ok := byKey[p.Key()]; ok {
								fmt.Fprintf(w, " %.1f (%.2g) |", 100*r.TestAccuracy, 100*r.SatRate)
							} else {
								fmt.Fprint(w, " - |")
							}
						}
						fmt.Fprintln(w)
					}
				}
			}
		}
	}
	return nil
}
