package train

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/xbar"
)

func TestStudyPlans(t *testing.T) {
	tests := []struct {
		cells string
		f     int
		want  string
	}{
		{"4", 0, "2x8/4x8"},
		{"3", 8, "2x12/3x12/f8"},
		{"6,6,6,6,5,5,5,5", 0, xbar.DefaultInplacePlan.String()},
		{"6,6,6,6,5,5,5,5", 8, xbar.DefaultUpdatePlan.String()}, // the default update plan (docs/numeric-model.md)
		{"4,4,4,6,6,5,5,5", 8, "2x12/4x7,6x2,5x3/f8"},
	}
	for _, tc := range tests {
		p, err := studyPlan(tc.cells, tc.f)
		if err != nil || p.String() != tc.want {
			t.Errorf("studyPlan(%s, %d) = %v, %v; want %s", tc.cells, tc.f, p, err, tc.want)
		}
	}
	if _, err := studyPlan("6,6", 0); err == nil {
		t.Error("a mixed plan of 2 slices accepted")
	}
}

func TestStudyRunsAndResumes(t *testing.T) {
	s := DefaultStudy()
	s.Model = "testdata/tiny.yaml"
	s.Datasets = []string{"a", "b"}
	s.Variants = []xbar.Variant{xbar.Inplace, xbar.Accumulate}
	s.Roundings = []fixed.Rounding{fixed.Nearest}
	s.FractionBits = []int{0}
	s.CellBits, s.Mixed = []int{3, 6}, []string{"6,6,6,6,5,5,5,5"}
	s.CRSIntervals = []int{1, 4}
	s.Base.Unit.Size = xbar.Size{Rows: 32, Cols: 32}
	s.Base.Limit, s.Base.TestLimit, s.Base.Batch = 8, 4, 2
	points, err := s.Points()
	if err != nil || len(points) != 2*2*3*2 {
		t.Fatalf("%d points, %v", len(points), err)
	}
	loads := 0
	load := func(name string) (*data.Set, *data.Set, error) {
		loads++
		return syntheticSet(name, 1, 10, []int{1, 7, 7}, 5), syntheticSet(name, 2, 4, []int{1, 7, 7}, 5), nil
	}
	dir := t.TempDir()
	// Stop after a few points, then finish: finished points are not redone.
	ctx, cancel := context.WithCancel(context.Background())
	var seen int
	recs, err := RunStudy(ctx, s, dir, 2, load, func(p StudyProgress) {
		if seen = p.Done; seen == 3 {
			cancel()
		}
	})
	cancel()
	if err == nil || !strings.Contains(err.Error(), ErrInterrupted.Error()) || len(recs) < 3 || len(recs) == len(points) {
		t.Fatalf("interrupted study: %d records, %v", len(recs), err)
	}
	first := len(recs)
	var skipped int
	recs, err = RunStudy(context.Background(), s, dir, 2, load, func(p StudyProgress) { skipped = p.Skipped })
	if err != nil || len(recs) != len(points) || skipped != first {
		t.Fatalf("resumed study: %d records (skipped %d of %d done), %v", len(recs), skipped, first, err)
	}
	for i, r := range recs {
		if r.Key() != points[i].Key() || r.Examples != 8 || r.Events.OPAPulses == 0 {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	for _, name := range []string{StudyJSONL, StudyCSV, StudyMarkdown, "accuracy_a.png", "saturation_b.png", "slices_a.png"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, StudyMarkdown))
	if !strings.Contains(string(md), "## b, accumulate, nearest rounding, f = 0") {
		t.Errorf("results.md:\n%s", md)
	}
	// The same folder with other shared settings is refused.
	s.Base.LR = 0.02
	if _, err := RunStudy(context.Background(), s, dir, 2, load, nil); err == nil || !strings.Contains(err.Error(), "a record of a study with other settings") {
		t.Errorf("study with other settings: %v", err)
	}
}

// Every point of a study trains with the study's bias placement, and the
// placement is one of the shared settings that keep studies apart.
func TestStudyPointsKeepBias(t *testing.T) {
	net, err := model.Preset("mlp-l4")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]model.BiasPlacement{}
	for _, b := range []model.BiasPlacement{model.BiasAuto, model.BiasCrossbar} {
		s := DefaultStudy()
		s.Base.Bias = b
		points, err := s.Points()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range points {
			c, err := s.pointConfig(net, p)
			if err != nil || c.Bias != b {
				t.Fatalf("bias %v, point %s: configuration's bias %v, %v", b, p.Key(), c.Bias, err)
			}
		}
		if o, ok := settings[s.settings()]; ok {
			t.Errorf("bias %v and %v share the settings %s", b, o, s.settings())
		}
		settings[s.settings()] = b
	}
}

// A diverged point's test loss is written as train writes a loss: the
// strings "NaN", "+Inf", "-Inf" in results.jsonl, read back as written,
// and the same text in results.csv.
func TestStudyRecordsKeepNonFiniteLoss(t *testing.T) {
	dir := t.TempDir()
	losses := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.5}
	var jsonl []byte
	var records []StudyRecord
	for i, l := range losses {
		r := StudyRecord{StudyPoint: StudyPoint{Dataset: "mnist", CRSInterval: i + 1}, Settings: "s", TestLoss: Loss(l)}
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{`"NaN"`, `"+Inf"`, `"-Inf"`, `0.5`}[i]; !strings.Contains(string(line), `"test_loss":`+want+",") {
			t.Errorf("record of loss %v: %s", l, line)
		}
		jsonl = append(append(jsonl, line...), '\n')
		records = append(records, r)
	}
	path := filepath.Join(dir, StudyJSONL)
	if err := os.WriteFile(path, jsonl, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := readStudyRecords(path, "s")
	if err != nil || len(back) != len(losses) {
		t.Fatalf("read %d records, %v", len(back), err)
	}
	for i, r := range back {
		if got := float64(r.TestLoss); math.Float64bits(got) != math.Float64bits(losses[i]) && !(math.IsNaN(got) && math.IsNaN(losses[i])) {
			t.Errorf("record %d: loss %v, wrote %v", i, got, losses[i])
		}
	}
	if err := writeStudyCSV(filepath.Join(dir, StudyCSV), records); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, StudyCSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 1+len(losses) || rows[0][8] != "test_loss" {
		t.Fatalf("results.csv: %v, %v", rows, err)
	}
	for i, want := range []string{"NaN", "+Inf", "-Inf", "0.5"} {
		if rows[1+i][8] != want {
			t.Errorf("results.csv row %d: test_loss %q, want %q", i+1, rows[1+i][8], want)
		}
	}
}
