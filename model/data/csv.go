package data

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ReadCSV reads examples one per line: the label (0..255), then the pixel
// values (whole numbers 0..255), comma separated. A UTF-8 byte-order mark at
// the start is ignored. A first line whose first field is not a number is
// taken as a header and skipped. Every line must
// have the same number of values. A line of a square number of pixels makes
// a [1, s, s] image; otherwise examples are vectors.
func ReadCSV(name string, r io.Reader) (*Set, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	s := &Set{Name: name}
	width := -1
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			// Spreadsheets start UTF-8 files with a byte-order mark; it
			// would make the first label look like a header.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if line == 1 {
			if _, err := strconv.Atoi(strings.TrimSpace(fields[0])); err != nil {
				continue // a header
			}
		}
		if width < 0 {
			if width = len(fields) - 1; width < 1 {
				return nil, fmt.Errorf("%s:%d: want a label and at least one pixel value", name, line)
			}
		}
		if len(fields)-1 != width {
			return nil, fmt.Errorf("%s:%d: %d pixel values, but the first example has %d", name, line, len(fields)-1, width)
		}
		if len(s.Pixels)+width > MaxValues {
			return nil, fmt.Errorf("%s:%d: more than %d values in all", name, line, MaxValues)
		}
		col := 1
		for i, f := range fields {
			v, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || v < 0 || v > 255 {
				what := "pixel"
				if i == 0 {
					what = "label"
				}
				return nil, fmt.Errorf("%s:%d:%d: %s %q: want a whole number in [0, 255]", name, line, col, what, strings.TrimSpace(f))
			}
			if i == 0 {
				s.Labels = append(s.Labels, uint8(v))
			} else {
				s.Pixels = append(s.Pixels, uint8(v))
			}
			col += len(f) + 1
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(s.Labels) == 0 {
		return nil, fmt.Errorf("%s: no examples: want lines of label,pixel,pixel,...", name)
	}
	if side := int(math.Sqrt(float64(width))); side*side == width {
		s.Shape = []int{1, side, side}
	} else {
		s.Shape = []int{width}
	}
	return s, nil
}

// ReadCSVFile reads a CSV file of examples.
func ReadCSVFile(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCSV(path, f)
}
