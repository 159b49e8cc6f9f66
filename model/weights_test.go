package model

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// weightsFixture is a small CNN, its initial weights and their file.
func weightsFixture(t testing.TB) (*Network, [][]float64, []byte) {
	t.Helper()
	n, err := ReadYAML("w.yaml", []byte("name: w\ninput: [1, 4, 4]\nlayers:\n  - conv2d: {out: 2, kernel: 3}\n  - relu\n  - flatten\n  - dense: {out: 3}\nloss: mse\n"))
	if err != nil {
		t.Fatal(err)
	}
	ws := make([][]float64, len(n.Layers))
	for i, l := range n.Layers {
		ws[i] = InitialWeights(l, 9, i)
	}
	var b bytes.Buffer
	if err := WriteWeights(&b, n, ws); err != nil {
		t.Fatal(err)
	}
	return n, ws, b.Bytes()
}

// Weights written are read back bit for bit, Q4.12 values and others.
func TestWeightsRoundTrip(t *testing.T) {
	n, ws, _ := weightsFixture(t)
	ws[0][0], ws[3][1] = 1.0/4096, -7.999755859375
	var b bytes.Buffer
	if err := WriteWeights(&b, n, ws); err != nil {
		t.Fatal(err)
	}
	got, err := ReadWeights("w.json", b.Bytes(), n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ws {
		if !slices.Equal(got[i], ws[i]) {
			t.Fatalf("layer %d: read %v, wrote %v", i+1, got[i], ws[i])
		}
	}
	if got[1] != nil || got[2] != nil {
		t.Error("layers without weights got some")
	}
}

func TestWeightsErrors(t *testing.T) {
	n, ws, file := weightsFixture(t)
	good := string(file)
	other, err := ReadYAML("o.yaml", []byte("input: [1, 4, 4]\nlayers:\n  - conv2d: {out: 2, kernel: 3}\n  - relu\n  - flatten\n  - dense: {out: 4}\nloss: mse\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		data string
		net  *Network
		want string
	}{
		{good, other, "w.json: layer 4 holds a dense of 9 x 3 (27 values); layer 4 (dense at o.yaml:6:5) is a 9 x 4 cell matrix"},
		{good[:len(good)/2], n, "w.json: unexpected EOF"},
		{`{"model":"w","layers":[],"extra":1}`, n, `unknown field "extra"`},
		{`{"model":"w","layers":[]}`, n, "w.json: no weights for layer 1 (conv2d at w.yaml:4:5)"},
		{`{"layers":[{"layer":2,"kind":"relu","rows":0,"cols":0,"values":[]}]}`, n, "weights for layer 2, which is not a dense or conv2d layer"},
		{withoutChecksum(strings.Replace(good, `"layer":4`, `"layer":1`, 1)), n, "layer 1 given twice"},
	} {
		if _, err := ReadWeights("w.json", []byte(c.data), c.net); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	if err := WriteWeights(&bytes.Buffer{}, n, ws[:2]); err == nil {
		t.Error("WriteWeights took weights of 2 layers for a 4-layer model")
	}
}

// withoutChecksum drops the sha256 field, as in a file written by hand.
func withoutChecksum(file string) string {
	return regexp.MustCompile(`,"sha256":"[0-9a-f]*"`).ReplaceAllString(file, "")
}

// TestWeightsChecksum: one changed digit in weights.json was read as a
// changed weight. A file with a checksum must match it; one without is
// read as it is.
func TestWeightsChecksum(t *testing.T) {
	n, ws, file := weightsFixture(t)
	if !strings.Contains(string(file), `"sha256":"`) {
		t.Fatalf("WriteWeights wrote no checksum:\n%s", file)
	}
	// The first value of layer 1, one decimal digit changed.
	i := strings.Index(string(file), `"values":[`) + len(`"values":[`) + 3
	changed := []byte(string(file))
	changed[i] = "0123456789"[(int(changed[i]-'0')+1)%10]
	if _, err := ReadWeights("w.json", changed, n); err == nil || !strings.Contains(err.Error(), "w.json: the weights do not match the file's sha256") {
		t.Errorf("a changed digit: %v", err)
	}
	got, err := ReadWeights("w.json", []byte(withoutChecksum(string(file))), n)
	if err != nil || !slices.Equal(got[0], ws[0]) {
		t.Errorf("a file without checksum: %v", err)
	}
}

func FuzzReadWeights(f *testing.F) {
	n, _, file := weightsFixture(f)
	f.Add(file)
	f.Add([]byte(withoutChecksum(string(file)))) // lets changed values through to the other checks
	f.Add([]byte(`{"model":"w","layers":[{"layer":1,"kind":"conv2d","rows":9,"cols":2,"values":[1e400]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadWeights("fuzz.json", data, n)
		if err != nil {
			return
		}
		for i, l := range n.Layers {
			if len(got[i]) != l.CellRows()*l.CellCols() {
				t.Fatalf("layer %d: %d weights accepted", i+1, len(got[i]))
			}
		}
	})
}
