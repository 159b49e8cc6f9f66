package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
)

// weightsFile is the JSON form of a network's weights: each trainable
// layer's cell matrix M = W^T (CellRows x CellCols, row-major, bias row
// last), as InitialWeights lays it out. SHA256 is the layers' checksum
// (see checksum); a file without one (written by hand or by an older
// panther) is read unchecked.
type weightsFile struct {
	Model  string         `json:"model"`
	Layers []weightsLayer `json:"layers"`
	SHA256 string         `json:"sha256,omitempty"`
}

// checksum is the hex SHA-256 of the layers: per layer its number, rows
// and columns, then every value's IEEE-754 bits, all as little-endian
// 64-bit words. JSON keeps float64 values exactly, so a file read back
// gives the same sum unless its text changed.
func (f weightsFile) checksum() string {
	h := sha256.New()
	var word [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(word[:], v)
		h.Write(word[:])
	}
	for _, l := range f.Layers {
		put(uint64(l.Layer))
		put(uint64(l.Rows))
		put(uint64(l.Cols))
		for _, v := range l.Values {
			put(math.Float64bits(v))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

type weightsLayer struct {
	Layer  int       `json:"layer"` // 1-based, as messages name layers
	Kind   Kind      `json:"kind"`
	Rows   int       `json:"rows"`
	Cols   int       `json:"cols"`
	Values []float64 `json:"values"`
}

// WriteWeights writes weights (per layer, nil for layers without weights)
// of n as JSON.
func WriteWeights(w io.Writer, n *Network, weights [][]float64) error {
	if len(weights) != len(n.Layers) {
		return fmt.Errorf("weights of %d layers for %s, which has %d", len(weights), n.where(), len(n.Layers))
	}
	f := weightsFile{Model: n.Name}
	for i, l := range n.Layers {
		if !l.Trainable() {
			continue
		}
		if len(weights[i]) != l.CellRows()*l.CellCols() {
			return fmt.Errorf("%s: %d weights, want %d x %d", l.describe(i), len(weights[i]), l.CellRows(), l.CellCols())
		}
		f.Layers = append(f.Layers, weightsLayer{Layer: i + 1, Kind: l.Kind, Rows: l.CellRows(), Cols: l.CellCols(), Values: weights[i]})
	}
	f.SHA256 = f.checksum()
	return json.NewEncoder(w).Encode(f)
}

// ReadWeightsFile reads weights for n written by WriteWeights.
func ReadWeightsFile(path string, n *Network) ([][]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ReadWeights(path, b, n)
}

// ReadWeights reads weights for n from JSON written by WriteWeights; name
// is the file for messages. Every trainable layer of n must be there with
// its shape (JSON numbers are always finite), and the values must match
// the file's checksum where it has one.
func ReadWeights(name string, data []byte, n *Network) ([][]float64, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f weightsFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %v: want the weights file panther train writes", name, err)
	}
	if f.SHA256 != "" {
		if sum := f.checksum(); sum != f.SHA256 {
			return nil, fmt.Errorf("%s: the weights do not match the file's sha256 (recorded %s, computed %s): the file changed after it was written; train again or restore it",
				name, f.SHA256, sum)
		}
	}
	out := make([][]float64, len(n.Layers))
	for _, wl := range f.Layers {
		i := wl.Layer - 1
		if i < 0 || i >= len(n.Layers) || !n.Layers[i].Trainable() {
			return nil, fmt.Errorf("%s: weights for layer %d, which is not a dense or conv2d layer of %s", name, wl.Layer, n.where())
		}
		l := n.Layers[i]
		if out[i] != nil {
			return nil, fmt.Errorf("%s: layer %d given twice", name, wl.Layer)
		}
		if wl.Kind != l.Kind || wl.Rows != l.CellRows() || wl.Cols != l.CellCols() || len(wl.Values) != wl.Rows*wl.Cols {
			return nil, fmt.Errorf("%s: layer %d holds a %s of %d x %d (%d values); %s is a %d x %d cell matrix: the weights belong to another model",
				name, wl.Layer, wl.Kind, wl.Rows, wl.Cols, len(wl.Values), l.describe(i), l.CellRows(), l.CellCols())
		}
		out[i] = wl.Values
	}
	for i, l := range n.Layers {
		if l.Trainable() && out[i] == nil {
			return nil, fmt.Errorf("%s: no weights for %s", name, l.describe(i))
		}
	}
	return out, nil
}
