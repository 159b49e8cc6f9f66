package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Tensor is an array of real values and its shape, in C order (the last
// dimension varies fastest): the float inputs and outputs of a network, as
// NumPy's .npy files and raw float32 files hold them.
type Tensor struct {
	Shape  []int
	Values []float64
}

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// ReadNPY reads a NumPy .npy array (format versions 1, 2 and 3) of
// little-endian float32 or float64 values in C order; name labels messages
// (a file name). Other element types, big-endian data and Fortran order are
// errors that say how to convert the array.
func ReadNPY(name string, r io.Reader) (Tensor, error) {
	b, err := io.ReadAll(io.LimitReader(r, 8*MaxValues+1<<20))
	if err != nil {
		return Tensor{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) < 10 || string(b[:6]) != npyMagic {
		return Tensor{}, fmt.Errorf("%s: not a NumPy .npy file (it does not start with \\x93NUMPY)", name)
	}
	major := b[6]
	var headerLen, start int
	switch major {
	case 1:
		headerLen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return Tensor{}, fmt.Errorf("%s: the file ends inside the .npy preamble", name)
		}
		headerLen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return Tensor{}, fmt.Errorf("%s: .npy format version %d.%d: want 1, 2 or 3", name, major, b[7])
	}
	if headerLen > len(b)-start {
		return Tensor{}, fmt.Errorf("%s: the header is %d bytes long, but the file ends after %d", name, headerLen, len(b)-start)
	}
	h, err := parseNPYHeader(string(b[start : start+headerLen]))
	if err != nil {
		return Tensor{}, fmt.Errorf("%s: .npy header: %w", name, err)
	}
	var size int
	switch h.descr {
	case "<f4":
		size = 4
	case "<f8":
		size = 8
	case ">f4", ">f8":
		return Tensor{}, fmt.Errorf("%s: header field 'descr' is %q, big-endian: save x.astype('<f4') instead", name, h.descr)
	default:
		return Tensor{}, fmt.Errorf("%s: header field 'descr' is %q: want float32 or float64, little-endian ('<f4' or '<f8'); save x.astype('float32') instead", name, h.descr)
	}
	if h.fortran {
		return Tensor{}, fmt.Errorf("%s: header field 'fortran_order' is True: save np.ascontiguousarray(x) instead (C order)", name)
	}
	n := 1
	for _, d := range h.shape {
		if d < 0 || d > MaxValues || n*d > MaxValues {
			return Tensor{}, fmt.Errorf("%s: header field 'shape' %v holds more than %d values", name, h.shape, MaxValues)
		}
		n *= d
	}
	data := b[start+headerLen:]
	if len(data) != n*size {
		return Tensor{}, fmt.Errorf("%s: header field 'shape' %v calls for %d values of %d bytes (%d bytes), but %d bytes of data follow the header", name, h.shape, n, size, n*size, len(data))
	}
	if size == 4 {
		return Tensor{Shape: h.shape, Values: decodeF32(data)}, nil
	}
	t := Tensor{Shape: h.shape, Values: make([]float64, n)}
	for i := range t.Values {
		t.Values[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return t, nil
}

// ReadNPYFile reads a .npy file.
func ReadNPYFile(path string) (Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return Tensor{}, err
	}
	defer f.Close()
	return ReadNPY(path, f)
}

// ReadF32File reads a file of raw little-endian float32 values, as one
// vector (the caller gives the shape).
func ReadF32File(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float32 values (4 bytes each)", path, len(b))
	}
	if len(b)/4 > MaxValues {
		return nil, fmt.Errorf("%s: more than %d values", path, MaxValues)
	}
	return decodeF32(b), nil
}

// decodeF32 decodes little-endian float32 values; len(b) is a multiple of 4.
func decodeF32(b []byte) []float64 {
	out := make([]float64, len(b)/4)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return out
}

// WriteNPY writes t as a .npy file of little-endian float32 values (format
// version 1.0), the form numpy.load reads.
func WriteNPY(w io.Writer, t Tensor) error {
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape)
	// The preamble and header fill a multiple of 64 bytes, ending in '\n'.
	pad := 63 - (10+len(header))%64
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf(".npy header of %d bytes: too many dimensions", len(header))
	}
	var buf bytes.Buffer
	buf.WriteString(npyMagic)
	buf.Write([]byte{1, 0})
	binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	buf.WriteString(header)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	return WriteF32(w, t.Values)
}

// WriteF32 writes values as raw little-endian float32.
func WriteF32(w io.Writer, values []float64) error {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(v)))
	}
	_, err := w.Write(b)
	return err
}

// npyHeader is what a .npy header says.
type npyHeader struct {
	descr   string
	fortran bool
	shape   []int
}

// parseNPYHeader reads the header, a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
func parseNPYHeader(s string) (npyHeader, error) {
	p := &pyLiteral{s: strings.TrimRight(s, " \n\x00")}
	var h npyHeader
	seen := map[string]bool{}
	if !p.eat('{') {
		return h, fmt.Errorf("want a dict {...}, got %q", p.s)
	}
	for !p.eat('}') {
		key, err := p.str()
		if err != nil {
			return h, fmt.Errorf("at byte %d: a key: %w", p.i, err)
		}
		if !p.eat(':') {
			return h, fmt.Errorf("at byte %d: want ':' after key '%s'", p.i, key)
		}
		switch key {
		case "descr":
			h.descr, err = p.str()
		case "fortran_order":
			h.fortran, err = p.boolean()
		case "shape":
			h.shape, err = p.tuple()
		default:
			return h, fmt.Errorf("at byte %d: unknown header field '%s' (want descr, fortran_order, shape)", p.i, key)
		}
		if err != nil {
			return h, fmt.Errorf("header field '%s': %w", key, err)
		}
		seen[key] = true
		if !p.eat(',') && !p.peek('}') {
			return h, fmt.Errorf("at byte %d: want ',' or '}' after header field '%s'", p.i, key)
		}
	}
	if p.skip(); p.i != len(p.s) {
		return h, fmt.Errorf("at byte %d: text after the dict", p.i)
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("header field '%s' is missing", k)
		}
	}
	return h, nil
}

// pyLiteral scans the few Python literals of a .npy header.
type pyLiteral struct {
	s string
	i int
}

func (p *pyLiteral) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyLiteral) peek(c byte) bool {
	p.skip()
	return p.i < len(p.s) && p.s[p.i] == c
}

func (p *pyLiteral) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

func (p *pyLiteral) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("want a quoted string")
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", fmt.Errorf("the string has no closing quote")
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *pyLiteral) boolean() (bool, error) {
	p.skip()
	for _, w := range []string{"True", "False"} {
		if strings.HasPrefix(p.s[p.i:], w) {
			p.i += len(w)
			return w == "True", nil
		}
	}
	return false, fmt.Errorf("want True or False")
}

// tuple reads a tuple of whole numbers: (), (3,), (3, 4).
func (p *pyLiteral) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, fmt.Errorf("want a tuple such as (3, 4)")
	}
	out := []int{}
	for !p.eat(')') {
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		v, err := strconv.Atoi(p.s[p.i:j])
		if err != nil || v > MaxValues {
			return nil, fmt.Errorf("at byte %d: want a dimension, a whole number up to %d", p.i, MaxValues)
		}
		p.i = j
		if j < len(p.s) && p.s[j] == 'L' { // Python 2's long integers
			p.i++
		}
		out = append(out, v)
		if !p.eat(',') && !p.peek(')') {
			return nil, fmt.Errorf("at byte %d: want ',' or ')'", p.i)
		}
	}
	return out, nil
}
