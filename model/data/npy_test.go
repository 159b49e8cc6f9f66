package data

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// npyValues are the values of testdata/*.npy: (arange(24) - 10) / 8,
// exact in float32 and float64.
func npyValues() []float64 {
	v := make([]float64, 24)
	for i := range v {
		v[i] = float64(i-10) / 8
	}
	return v
}

// The files NumPy wrote (testdata/make_npy.py) read back exactly, in every
// header version and both float widths.
func TestReadNPYNumPyFiles(t *testing.T) {
	for _, name := range []string{"f4_v1.npy", "f8_v2.npy", "f4_v3.npy"} {
		tt, err := ReadNPYFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tt.Shape, []int{2, 3, 4}) || !slices.Equal(tt.Values, npyValues()) {
			t.Errorf("%s: shape %v, values %v", name, tt.Shape, tt.Values)
		}
	}
}

// WriteNPY writes the bytes NumPy's own writer does.
func TestWriteNPYMatchesNumPy(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "f4_v1.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteNPY(&buf, Tensor{Shape: []int{2, 3, 4}, Values: npyValues()}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("wrote\n%q\nNumPy wrote\n%q", buf.Bytes(), want)
	}
	// A one-dimensional shape is written as Python's one-tuple (n,).
	buf.Reset()
	WriteNPY(&buf, Tensor{Shape: []int{3}, Values: []float64{1, 2, 3}})
	got, err := ReadNPY("v.npy", &buf)
	if err != nil || !slices.Equal(got.Shape, []int{3}) || !slices.Equal(got.Values, []float64{1, 2, 3}) {
		t.Errorf("round trip of a vector: %v, %v", got, err)
	}
}

func TestReadNPYErrors(t *testing.T) {
	header := func(h string) []byte {
		b := []byte(npyMagic + "\x01\x00")
		b = append(b, byte(len(h)), byte(len(h)>>8))
		return append(b, h...)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"be.npy", nil, "be.npy: header field 'descr' is \">f4\", big-endian"},
		{"fortran.npy", nil, "fortran.npy: header field 'fortran_order' is True: save np.ascontiguousarray(x)"},
		{"int.npy", nil, "int.npy: header field 'descr' is \"<i4\": want float32 or float64"},
		{"text.npy", []byte("1,2,3\n"), "text.npy: not a NumPy .npy file"},
		{"v9.npy", []byte(npyMagic + "\x09\x00\x00\x00"), "v9.npy: .npy format version 9.0: want 1, 2 or 3"},
		{"long.npy", header("{'descr'")[:12], "long.npy: the header is 8 bytes long, but the file ends after 2"},
		{"short.npy", append(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"), 0, 0, 0, 0), "short.npy: header field 'shape' [2 2] calls for 4 values of 4 bytes (16 bytes), but 4 bytes of data follow"},
		{"noshape.npy", header("{'descr': '<f4', 'fortran_order': False}"), "header field 'shape' is missing"},
		{"badshape.npy", header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }"), "header field 'shape': at byte 54: want a dimension"},
		{"key.npy", header("{'descr': '<f4', 'order': False, 'shape': (2,), }"), "unknown header field 'order'"},
		{"huge.npy", header("{'descr': '<f4', 'fortran_order': False, 'shape': (2000000000, 2000000000), }"), "holds more than 2147483648 values"},
	} {
		data := c.data
		if data == nil {
			var err error
			if data, err = os.ReadFile(filepath.Join("testdata", c.name)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ReadNPY(c.name, bytes.NewReader(data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestReadF32File(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	WriteF32(&buf, npyValues())
	path := filepath.Join(dir, "x.f32")
	os.WriteFile(path, buf.Bytes(), 0o644)
	got, err := ReadF32File(path)
	if err != nil || !slices.Equal(got, npyValues()) {
		t.Errorf("got %v, %v", got, err)
	}
	os.WriteFile(path, buf.Bytes()[:5], 0o644)
	if _, err := ReadF32File(path); err == nil || !strings.Contains(err.Error(), "x.f32: 5 bytes is not a whole number of float32 values") {
		t.Errorf("got %v", err)
	}
}

func FuzzReadNPY(f *testing.F) {
	for _, name := range []string{"f4_v1.npy", "f8_v2.npy", "f4_v3.npy", "fortran.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := ReadNPY("fuzz.npy", bytes.NewReader(data))
		if err != nil {
			return
		}
		n := 1
		for _, d := range tt.Shape {
			n *= d
		}
		if n != len(tt.Values) {
			t.Fatalf("shape %v but %d values", tt.Shape, len(tt.Values))
		}
	})
}
