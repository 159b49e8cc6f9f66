// Package sweep runs design-space sweeps: it reads a sweep file (a kind of
// point, a base configuration, and a grid or a list of points), expands it
// into numbered points, runs them on a local worker pool or as a Slurm job
// array, keeps one atomically written record per point so that an
// interrupted sweep resumes where it stopped, merges the records into JSONL
// and CSV, and draws them.
//
// sweep owns the sweep file, the results folder and the backends. It must not
// know what a point computes: each kind of point (train now, compile and
// simulate later) is a Runner that registers itself by name with its table
// of configuration keys, and sweep only parses values with that table's
// parsers and stores the metrics the Runner returns.
package sweep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/panther-xbar/panther/internal/jsonfloat"
)

// Params are the configuration of one point: every key of its Runner's
// table, each holding the canonical value the key's parser returned (a
// string, int64, float64 or bool).
type Params map[string]any

// Metrics are the numbers a point produced. A metric that is not a finite
// number (the loss of a diverging run) is kept: records hold it as the
// string "NaN", "+Inf" or "-Inf", as train writes a loss.
type Metrics map[string]float64

// MarshalJSON writes the metrics with NaN and ±Inf as strings, which JSON
// has no number for.
func (m Metrics) MarshalJSON() ([]byte, error) {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		b, err := jsonfloat.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", k, err)
		}
		out[k] = b
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads metrics: numbers, the strings "NaN", "+Inf" and
// "-Inf", and null, which records of earlier versions hold for any
// non-finite metric (read as NaN).
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*m = nil
		return nil
	}
	out := make(Metrics, len(raw))
	for k, v := range raw {
		if string(v) == "null" {
			out[k] = math.NaN()
			continue
		}
		f, err := jsonfloat.Unmarshal(v)
		if err != nil {
			return fmt.Errorf("metric %q: %w (or null)", k, err)
		}
		out[k] = f
	}
	*m = out
	return nil
}

// Key is one configuration key a point may set.
type Key struct {
	Name string
	Help string
	// Default is the value, in text, of a point that does not set the key.
	Default string
	// Parse checks a value written in the sweep file and returns its
	// canonical form.
	Parse func(text string) (any, error)
}

// Runner computes one kind of point.
type Runner interface {
	// Keys is the table of configuration keys, in the order records list
	// them.
	Keys() []Key
	// Check reports whether a point's parameters make a valid run; it is
	// called for every point before anything runs or is submitted.
	Check(p Params) error
	// Run computes a point. It returns ctx's error, or one wrapping it,
	// when ctx ended the run early.
	Run(ctx context.Context, p Params) (Metrics, error)
}

var (
	registryMu sync.Mutex
	registry   = map[string]Runner{}
)

// Register makes a kind of point available to sweep files. It is meant for
// init functions; registering a name twice is a programming error and
// panics, as database/sql.Register does.
func Register(kind string, r Runner) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[kind]; dup {
		panic("sweep: kind " + kind + " registered twice")
	}
	registry[kind] = r
}

// Kinds lists the registered kinds of point.
func Kinds() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookup(kind string) (Runner, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	r, ok := registry[kind]
	return r, ok
}

// id identifies a point by its kind and parameters, so that a record of
// another sweep is never taken for this one's.
func id(kind string, p Params) string {
	j, err := json.Marshal(p) // map keys are sorted: the form is canonical
	if err != nil {
		panic(err) // plain values: cannot fail
	}
	sum := sha256.Sum256(append([]byte(kind+"\n"), j...))
	return hex.EncodeToString(sum[:8])
}

// describe writes the varied keys of a point, for messages.
func describe(p Params, keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, p[k])
	}
	return strings.Join(parts, " ")
}

// keyNames lists a table's key names in order.
func keyNames(keys []Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

func findKey(keys []Key, name string) (Key, bool) {
	i := slices.IndexFunc(keys, func(k Key) bool { return k.Name == name })
	if i < 0 {
		return Key{}, false
	}
	return keys[i], true
}
