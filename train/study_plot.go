package train

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot/vg"

	"github.com/panther-xbar/panther/report"
)

// drawStudy writes, per dataset, the heat maps of accuracy, of the
// saturation rate and of the saturation rate per slice.
func drawStudy(dir string, s Study, records []StudyRecord) error {
	byKey := map[string]StudyRecord{}
	for _, r := range records {
		byKey[r.Key()] = r
	}
	cells := s.cellsLabels()
	crsLabels := make([]string, len(s.CRSIntervals))
	for i, c := range s.CRSIntervals {
		crsLabels[i] = strconv.Itoa(c)
	}
	for _, ds := range s.Datasets {
		var acc, sat, slices [][]report.Panel
		for _, v := range s.Variants {
			for _, rd := range s.Roundings {
				var accRow, satRow, sliceRow []report.Panel
				for _, f := range s.FractionBits {
					title := fmt.Sprintf("%s, %s, f = %d", v, rd, f)
					a := report.Panel{Title: title, Rows: cells, Cols: crsLabels, Format: "%.1f", XLabel: "CRS interval (batches)", YLabel: "cell bits"}
					st := a
					st.Format = "%.2g"
					nSlices := (16 + f) / 2
					sl := report.Panel{Title: title, Cols: make([]string, nSlices), XLabel: "slice (least significant first)", YLabel: "cells / CRS"}
					for i := range sl.Cols {
						sl.Cols[i] = strconv.Itoa(i)
					}
					for _, c := range cells {
						var ar, sr []float64
						for _, crs := range s.CRSIntervals {
							p := StudyPoint{Dataset: ds, Variant: v.String(), Rounding: rd.String(), FractionBits: f, Cells: c, CRSInterval: crs}
							r, ok := byKey[p.Key()]
							ar, sr = append(ar, nanUnless(ok, 100*r.TestAccuracy)), append(sr, nanUnless(ok, 100*r.SatRate))
							row := make([]float64, nSlices)
							for i := range row {
								row[i] = math.NaN()
								if ok && i < len(r.SliceSatRate) {
									row[i] = math.Log10(max(r.SliceSatRate[i], 1e-6))
								}
							}
							sl.Rows = append(sl.Rows, c+" / "+strconv.Itoa(crs))
							sl.Z = append(sl.Z, row)
						}
						a.Z, st.Z = append(a.Z, ar), append(st.Z, sr)
					}
					accRow, satRow, sliceRow = append(accRow, a), append(satRow, st), append(sliceRow, sl)
				}
				acc, sat, slices = append(acc, accRow), append(sat, satRow), append(slices, sliceRow)
			}
		}
		figures := []struct {
			name, title string
			panels      [][]report.Panel
			height      vg.Length
		}{
			{"accuracy_" + ds + ".png", ds + ": test accuracy (%)", acc, 3 * vg.Inch},
			{"saturation_" + ds + ".png", ds + ": slice_saturations per 100 opa_pulses", sat, 3 * vg.Inch},
			{"slices_" + ds + ".png", ds + ": log10 of saturations per slice write, by slice (-6: none)", slices, 6 * vg.Inch},
		}
		for _, fig := range figures {
			if err := report.Heatmaps(filepath.Join(dir, fig.name), fig.title, fig.panels, fig.height); err != nil {
				return err
			}
		}
	}
	return nil
}

func nanUnless(ok bool, v float64) float64 {
	if !ok {
		return math.NaN()
	}
	return v
}
