package train

import (
	"encoding/csv"
	"encoding/json"
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
// their paths.
func WriteOutputs(dir string, res *Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output folder: %w", err)
	}
	paths := []string{filepath.Join(dir, MetricsCSV), filepath.Join(dir, MetricsJSON), filepath.Join(dir, AccuracyPlot)}
	if err := atomicfile.Write(paths[0], func(w io.Writer) error { return writeCSV(w, res) }); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(paths[1], func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}); err != nil {
		return nil, err
	}
	p, err := accuracyPlot(res)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(paths[2], func(w io.Writer) error {
		wt, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, "png")
		if err != nil {
			return err
		}
		_, err = wt.WriteTo(w)
		return err
	}); err != nil {
		return nil, err
	}
	if res.Weights != nil {
		path := filepath.Join(dir, WeightsJSON)
		if err := atomicfile.Write(path, func(w io.Writer) error { return model.WriteWeights(w, res.Config.Model, res.Weights) }); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

var csvHeader = []string{"trainer", "epoch", "examples", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "test_seconds",
	"opa_pulses", "slice_saturations", "slice_sat", "vanished", "g_clips", "adc_clips", "output_sat", "q_sat", "weight_sat", "vector_sat"}

func writeCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, m := range res.Epochs {
		row := []string{m.Trainer, strconv.Itoa(m.Epoch), strconv.Itoa(m.Examples), g(m.TrainLoss), g(m.TrainAccuracy),
			g(m.TestLoss), g(m.TestAccuracy), g(m.Seconds), g(m.TestSeconds)}
		if e := m.Events; e != nil {
			per := make([]string, len(e.SliceSat))
			for i, v := range e.SliceSat {
				per[i] = strconv.FormatInt(v, 10)
			}
			for _, v := range []int64{e.OPAPulses, e.SliceSaturations()} {
				row = append(row, strconv.FormatInt(v, 10))
			}
			row = append(row, strings.Join(per, " "))
			for _, v := range []int64{e.Vanished, e.GClips, e.ADCClips, e.OutputSat, e.QSat, e.WeightSat, e.VectorSat} {
				row = append(row, strconv.FormatInt(v, 10))
			}
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
