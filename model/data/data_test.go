package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes encodes an IDX array of unsigned bytes.
func idxBytes(dims []int, values []uint8) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(values)
	return b.Bytes()
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write(data)
	z.Close()
	return b.Bytes()
}

func TestReadIDX(t *testing.T) {
	raw := idxBytes([]int{2, 2, 3}, []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	for _, data := range [][]byte{raw, gz(raw)} {
		a, err := ReadIDX(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Dims) != 3 || a.Dims[0] != 2 || a.Dims[2] != 3 || len(a.Data) != 12 || a.Data[11] != 12 {
			t.Errorf("got %+v", a)
		}
	}
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "header: unexpected EOF"},
		{"magic", []byte{1, 2, 3, 4}, "not an IDX file"},
		{"type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "element type 0x0d: only unsigned bytes"},
		{"short", idxBytes([]int{3}, []uint8{1, 2}), "the header promises 3 values ([3]) but the file holds 2"},
		{"trailing", idxBytes([]int{1}, []uint8{1, 2}), "bytes after the 1 values"},
		{"huge", idxBytes([]int{1 << 20, 1 << 20}, nil), "at most 2147483648 values"},
		{"zero dim", idxBytes([]int{0}, nil), "want sizes >= 1"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, "gzip:"},
	}
	for _, tc := range bad {
		_, err := ReadIDX(bytes.NewReader(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestIDXHugeDimension: a dimension of 4294967295 (the largest a header can
// give) is named as it is, and sizes beyond the bytes present are refused.
func TestIDXHugeDimension(t *testing.T) {
	for _, c := range []struct {
		data []byte
		want string
	}{
		{[]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff}, "dimensions [4294967295]...: want sizes >= 1 and at most 2147483648 values in all"},
		{[]byte{0, 0, 8, 2, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 1}, "dimensions [2 4294967295]...: want sizes >= 1"},
		{idxBytes([]int{3, 1000}, []uint8{1, 2, 3, 4, 5}), "data: the header promises 3000 values ([3 1000]) but the file holds 5"},
	} {
		if _, err := ReadIDX(bytes.NewReader(c.data)); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("% x: error %v, want %q", c.data, err, c.want)
		}
	}
}

// TestCSVByteOrderMark: a file that starts with a UTF-8 byte-order mark (as
// spreadsheets write them) keeps its first example, and its header, when
// there is one, is still a header.
func TestCSVByteOrderMark(t *testing.T) {
	s, err := ReadCSV("bom.csv", strings.NewReader("\ufeff3,0,255,7,8\n1,1,2,3,4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 || s.Labels[0] != 3 || s.Example(0)[1] != 255 {
		t.Errorf("read %d examples, labels %v: want 2, [3 1]", s.Len(), s.Labels)
	}
	s, err = ReadCSV("bom.csv", strings.NewReader("\ufefflabel,a,b\n4,5,6\n"))
	if err != nil || s.Len() != 1 || s.Labels[0] != 4 {
		t.Errorf("with a header: %+v, %v", s, err)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadIDXFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte.gz", gz(idxBytes([]int{3, 2, 2}, make([]uint8, 12))))
	writeFile(t, dir, "train-labels-idx1-ubyte", idxBytes([]int{3}, []uint8{0, 1, 4}))
	writeFile(t, dir, "t10k-images-idx3-ubyte", idxBytes([]int{1, 2, 2}, []uint8{0, 255, 0, 9}))
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", gz(idxBytes([]int{1}, []uint8{2})))
	train, test, err := Load("idx:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 3 || test.Len() != 1 || train.Size() != 4 || test.Example(0)[1] != 255 || Classes(train, test) != 5 {
		t.Errorf("train %+v test %+v", train, test)
	}
	if len(train.Shape) != 3 || train.Shape[0] != 1 {
		t.Errorf("shape %v, want [1 2 2]", train.Shape)
	}
	// Labels that do not match the images.
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", gz(idxBytes([]int{2}, []uint8{2, 3})))
	if _, _, err := Load("idx:" + dir); err == nil || !strings.Contains(err.Error(), "holds 1 images but") {
		t.Errorf("mismatched labels: %v", err)
	}
	os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if _, _, err := Load("idx:" + dir); err == nil || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte(.gz) not found in "+dir) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadCSV(t *testing.T) {
	s, err := ReadCSV("x.csv", strings.NewReader("label,p1,p2,p3,p4\n3,0,255,7,8\n\n1, 1,2,3,4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 || s.Size() != 4 || s.Shape[1] != 2 || s.Labels[1] != 1 || s.Example(1)[0] != 1 {
		t.Errorf("got %+v", s)
	}
	bad := []struct{ text, want string }{
		{"1,2,3\n4,5\n", "x.csv:2: 1 pixel values, but the first example has 2"},
		{"1,2,300\n", "x.csv:1:5: pixel \"300\": want a whole number in [0, 255]"},
		{"1,2\n-1,3\n", "x.csv:2:1: label \"-1\""},
		{"1,2\n1,0.5\n", "x.csv:2:3: pixel \"0.5\""},
		{"header only\n", "x.csv: no examples"},
		{"7\n", "x.csv:1: want a label and at least one pixel value"},
	}
	for _, tc := range bad {
		_, err := ReadCSV("x.csv", strings.NewReader(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"cifar", "unknown dataset \"cifar\": want one of mnist, fashion-mnist"},
		{"idx:", "give idx:DIR or"},
		{"idx:a,b", "takes one folder or four files"},
		{"idx:/no/such/dir", "idx: folder /no/such/dir not found"},
		{"csv:only.csv", "give csv:TRAIN.csv,TEST.csv"},
		{"csv:/no/such.csv,/no/other.csv", "/no/such.csv"},
		{"fashion-mnist:/no/such/dir", "fashion-mnist: folder /no/such/dir not found: install it with: apt-get install dataset-fashion-mnist"},
		{"mnist:/no/such/dir", "mnist: folder /no/such/dir not found"},
	}
	for _, tc := range tests {
		_, _, err := Load(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q): error %v, want %q", tc.spec, err, tc.want)
		}
	}
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte", []byte("not idx"))
	for _, n := range standardNames[1:] {
		writeFile(t, dir, n, nil)
	}
	if _, _, err := Load("idx:" + dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "train-images-idx3-ubyte")+": magic") {
		t.Errorf("malformed file: %v", err)
	}
}

func TestMNIST(t *testing.T) {
	train, test, err := Load("mnist")
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 60000 || test.Len() != 10000 || train.Size() != 784 || Classes(train, test) != 10 {
		t.Errorf("mnist: %d train, %d test, %d values, %d classes", train.Len(), test.Len(), train.Size(), Classes(train, test))
	}
	// The first training image is a 5 (LeCun's files, in their order).
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels %d, %d; want 5, 7", train.Labels[0], test.Labels[0])
	}
}

func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skip("Debian package dataset-fashion-mnist not installed")
	}
	train, test, err := Load("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 60000 || test.Len() != 10000 || train.Size() != 784 {
		t.Errorf("fashion-mnist: %d train, %d test, %d values", train.Len(), test.Len(), train.Size())
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 3}, make([]uint8, 12)))
	f.Add(gz(idxBytes([]int{3}, []uint8{1, 2, 3})))
	f.Add([]byte{0, 0, 8, 2, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadIDX(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("dims %v but %d values", a.Dims, len(a.Data))
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add("label,a,b\n1,2,3\n4,5,6\n")
	f.Add("3,0,255,7,8\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ReadCSV("fuzz.csv", strings.NewReader(text))
		if err != nil {
			return
		}
		if s.Len() == 0 || len(s.Pixels) != s.Len()*s.Size() {
			t.Fatalf("%d labels, %d pixels, shape %v", s.Len(), len(s.Pixels), s.Shape)
		}
	})
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"mnist", "fashion-mnist:/d", "idx:/d", "idx:a,b,c,d", "csv:a.csv,b.csv", "csv:,x", "idx:a,b", " mnist:", "cifar"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		sp, err := ParseSpec(spec)
		if err != nil {
			if !strings.Contains(err.Error(), "dataset") {
				t.Errorf("error that does not say what it is about: %v", err)
			}
			return
		}
		switch {
		case sp.Kind == "csv" && (len(sp.Files) != 2 || sp.Files[0] == "" || sp.Files[1] == ""),
			sp.Kind == "idx" && (sp.Dir == "") == (len(sp.Files) != 4),
			sp.Kind == "fashion-mnist" && sp.Dir == "" && !strings.HasSuffix(strings.TrimSpace(spec), ":"),
			sp.Kind != "csv" && sp.Kind != "idx" && sp.Kind != "mnist" && sp.Kind != "fashion-mnist":
			t.Fatalf("%q parsed as %+v", spec, sp)
		}
	})
}
