// Package jsonfloat writes and reads a float64 in JSON, which has no number
// for NaN and the infinities: they are the strings "NaN", "+Inf" and "-Inf"
// (strconv's text for them). Training metrics, study records and sweep
// records all write non-finite values so (docs/training.md, docs/sweeps.md).
package jsonfloat

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Marshal writes a finite v as a JSON number, any other as its string.
func Marshal(v float64) ([]byte, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte(`"` + strconv.FormatFloat(v, 'g', -1, 64) + `"`), nil
	}
	return json.Marshal(v)
}

// Unmarshal reads what Marshal writes: a number, "NaN", "+Inf" or "-Inf".
func Unmarshal(b []byte) (float64, error) {
	// A string first: null would read as the number 0 and as the string "".
	var s string
	if json.Unmarshal(b, &s) != nil {
		var v float64
		if err := json.Unmarshal(b, &v); err != nil {
			return 0, fmt.Errorf("%s: want a number or \"NaN\", \"+Inf\", \"-Inf\"", b)
		}
		return v, nil
	}
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	return 0, fmt.Errorf("%q: want a number or \"NaN\", \"+Inf\", \"-Inf\"", s)
}
