package train

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/model"
)

// Output file names of a run.
const (
	MetricsCSV   = "metrics.csv"
	MetricsJSON  = "metrics.json"
	AccuracyPlot = "accuracy.png"
	WeightsJSON  = "weights.json"
)

// WriteOutputs writes metrics.csv, metrics.json and accuracy.png into dir
// (created if needed), and weights.json when the run finished, and returns
// their paths. A file that cannot be written does not keep the others from
// being written; the error names each one that failed.
func WriteOutputs(dir string, res *Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output folder: %w", err)
	}
	type output struct {
		name string
		fill func(w io.Writer) error
	}
	outputs := []output{
		{MetricsCSV, func(w io.Writer) error { return writeCSV(w, res) }},
		{MetricsJSON, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}},
		{AccuracyPlot, func(w io.Writer) error {
			p, err := accuracyPlot(res)
			if err != nil {
				return err
			}
			wt, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, "png")
			if err != nil {
				return err
			}
			_, err = wt.WriteTo(w)
			return err
		}},
	}
	if res.Weights != nil {
		outputs = append(outputs, output{WeightsJSON, func(w io.Writer) error { return model.WriteWeights(w, res.Config.Model, res.Weights) }})
	}
	var paths []string
	var errs []error
	for _, o := range outputs {
		path := filepath.Join(dir, o.name)
		if err := atomicfile.Write(path, o.fill); err != nil {
			errs = append(errs, err)
			continue
		}
		paths = append(paths, path)
	}
	return paths, errors.Join(errs...)
}

var csvHeader = append([]string{"trainer", "epoch", "examples", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "test_seconds"},
	Events{}.Columns()...)

// Columns names the events as metrics.csv, metrics.json and the epoch
// lines call them, in metrics.csv's column order: opa_pulses,
// slice_saturations (their total), slice_sat (per slice, least significant
// first), vanished, g_clips, adc_clips, output_sat, q_sat, weight_sat,
// vector_sat.
func (e Events) Columns() []string {
	names, _ := e.columns()
	return names
}

// Values gives the events in the order of Columns, slice_sat as its counts
// separated by spaces.
func (e Events) Values() []string {
	_, values := e.columns()
	return values
}

func (e Events) columns() (names, values []string) {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	per := make([]string, len(e.SliceSat))
	for i, v := range e.SliceSat {
		per[i] = n(v)
	}
	for _, c := range [][2]string{{"opa_pulses", n(e.OPAPulses)}, {"slice_saturations", n(e.SliceSaturations())}, {"slice_sat", strings.Join(per, " ")},
		{"vanished", n(e.Vanished)}, {"g_clips", n(e.GClips)}, {"adc_clips", n(e.ADCClips)}, {"output_sat", n(e.OutputSat)},
		{"q_sat", n(e.QSat)}, {"weight_sat", n(e.WeightSat)}, {"vector_sat", n(e.VectorSat)}} {
		names, values = append(names, c[0]), append(values, c[1])
	}
	return names, values
}

func writeCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, m := range res.Epochs {
		row := []string{m.Trainer, strconv.Itoa(m.Epoch), strconv.Itoa(m.Examples), g(float64(m.TrainLoss)), g(m.TrainAccuracy),
			g(float64(m.TestLoss)), g(m.TestAccuracy), g(m.Seconds), g(m.TestSeconds)}
		if e := m.Events; e != nil {
			row = append(row, e.Values()...)
		} else {
			row = append(row, make([]string, len(csvHeader)-len(row))...)
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// accuracyPlot draws each trainer's training accuracy over the examples
// seen (the learning curve) and its test accuracy after every epoch.
func accuracyPlot(res *Result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s on %s, %s variant", res.Config.Model.Name, res.Config.Dataset, res.Config.Unit.Variant)
	p.X.Label.Text = "training examples"
	p.Y.Label.Text = "accuracy"
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top, p.Legend.Left = false, false // bottom right, below the rising curves
	p.Add(plotter.NewGrid())
	for i, name := range []string{Panther, FP32} {
		var curve, test plotter.XYs
		for _, c := range res.Curve {
			if c.Trainer == name {
				curve = append(curve, plotter.XY{X: float64(c.Examples), Y: c.Accuracy})
			}
		}
		for _, m := range res.Epochs {
			if m.Trainer == name {
				test = append(test, plotter.XY{X: float64(m.Epoch * res.TrainExamples), Y: m.TestAccuracy})
			}
		}
		if len(curve) == 0 {
			continue
		}
		line, err := plotter.NewLine(curve)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		pts, err := plotter.NewScatter(test)
		if err != nil {
			return nil, err
		}
		pts.Color = plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		pts.Radius = vg.Points(4)
		p.Add(line, pts)
		p.Legend.Add(name+" training", line)
		p.Legend.Add(name+" test", pts)
	}
	return p, nil
}
