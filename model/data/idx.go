package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
)

// MaxValues bounds the values one file may declare, so a corrupt header
// cannot ask for more memory than any dataset here needs.
const MaxValues = 1 << 31

// IDX is one array read from an IDX file: its dimensions (the first counts
// the items) and the unsigned bytes.
type IDX struct {
	Dims []int
	Data []uint8
}

// ReadIDX reads an IDX array of unsigned bytes (type 0x08) from r, gzipped
// or not: the magic 0, 0, type, number of dimensions, then each dimension
// as a big-endian uint32, then the values. Other element types, short data
// and trailing bytes are errors.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer z.Close()
		br = bufio.NewReader(z)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("header: %w (not an IDX file)", noEOF(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("magic % x: not an IDX file (it starts 00 00 08 N)", magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("element type 0x%02x: only unsigned bytes (0x08) are supported", magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("%d dimensions: want 1 (labels) to 4", nd)
	}
	a := &IDX{Dims: make([]int, nd)}
	total := 1
	for i := range a.Dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("dimension %d: %w", i, noEOF(err))
		}
		a.Dims[i] = int(d)
		if d == 0 || int64(total)*int64(d) > MaxValues {
			return nil, fmt.Errorf("dimensions %v...: want sizes >= 1 and at most %d values in all", a.Dims[:i+1], MaxValues)
		}
		total *= int(d)
	}
	// Grow as data arrives, so a header that lies about the size costs no
	// more memory than the data present (and at most 64 MiB up front).
	data := make([]byte, 0, min(total, 1<<26))
	for len(data) < total {
		if len(data) == cap(data) {
			data = slices.Grow(data, min(total, 2*len(data))-len(data))
		}
		n, err := io.ReadFull(br, data[len(data):min(cap(data), total)])
		data = data[:len(data)+n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("data: the header promises %d values (%v) but the file holds %d", total, a.Dims, len(data))
		}
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
	}
	if n, _ := br.Discard(1); n != 0 {
		return nil, fmt.Errorf("data: bytes after the %d values the header promises", total)
	}
	a.Data = data
	return a, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadIDXFile reads one IDX file; errors name the path.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReadIDXPair reads an image file ([n, H, W] or [n, C, H, W], or [n, k]
// vectors) and its label file ([n]) into a set.
func ReadIDXPair(name, images, labels string) (*Set, error) {
	im, err := ReadIDXFile(images)
	if err != nil {
		return nil, fmt.Errorf("%s images: %w", name, err)
	}
	lb, err := ReadIDXFile(labels)
	if err != nil {
		return nil, fmt.Errorf("%s labels: %w", name, err)
	}
	return pairIDX(name, images, labels, im, lb)
}

func pairIDX(name, images, labels string, im, lb *IDX) (*Set, error) {
	if len(im.Dims) < 2 {
		return nil, fmt.Errorf("%s images: %s holds a %d-dimensional array: want [n, H, W], [n, C, H, W] or [n, k]", name, images, len(im.Dims))
	}
	if len(lb.Dims) != 1 {
		return nil, fmt.Errorf("%s labels: %s holds a %d-dimensional array: want [n] labels", name, labels, len(lb.Dims))
	}
	if im.Dims[0] != lb.Dims[0] {
		return nil, fmt.Errorf("%s: %s holds %d images but %s %d labels", name, images, im.Dims[0], labels, lb.Dims[0])
	}
	s := &Set{Name: name, Pixels: im.Data, Labels: lb.Data}
	switch shape := im.Dims[1:]; len(shape) {
	case 2:
		s.Shape = []int{1, shape[0], shape[1]}
	default:
		s.Shape = append([]int(nil), shape...)
	}
	return s, nil
}
