package xbar

import (
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/panther-xbar/panther/device"
	"pgregory.net/rapid"
)

// Products read the cells as the last write left them, whatever came
// before: Program, OPA, CRS, ResetCounters and Restore in any order, each followed
// by products, from the accumulators and, after pairsAfter of them, from
// the narrow copies they then keep.
func TestProductsFollowEveryWrite(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		plan := genPlan(t, rapid.SampledFrom([]int{0, 8}).Draw(t, "max f"))
		rows, cols := rapid.IntRange(1, 70).Draw(t, "rows"), rapid.IntRange(1, 70).Draw(t, "cols")
		s := newTestSet(t, plan, ADC{Ideal: true}, rows, cols)
		if err := s.Program(genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "weights")); err != nil {
			t.Fatal(err)
		}
		saved, err := s.State()
		if err != nil {
			t.Fatal(err)
		}
		for step := range rapid.IntRange(1, 8).Draw(t, "steps") {
			for range rapid.IntRange(1, pairsAfter+2).Draw(t, "products") {
				x := genSparseCodes(t, rows, "x")
				d := genSparseCodes(t, cols, "d")
				y, yt := make([]int16, cols), make([]int16, rows)
				if err := s.MVM(x, y, nil); err != nil {
					t.Fatal(err)
				}
				if err := s.MTVM(d, yt, nil); err != nil {
					t.Fatal(err)
				}
				if want := bigExactProduct(s, x, false); !slices.Equal(y, want) {
					t.Fatalf("step %d: MVM %v, exact %v", step, y, want)
				}
				if want := bigExactProduct(s, d, true); !slices.Equal(yt, want) {
					t.Fatalf("step %d: MTVM %v, exact %v", step, yt, want)
				}
			}
			switch rapid.IntRange(0, 4).Draw(t, "write") {
			case 0:
				if err := s.Program(genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "weights")); err != nil {
					t.Fatal(err)
				}
			case 1:
				x, d := genCodes(t, rows, -4096, 4096, "x"), genCodes(t, cols, -4096, 4096, "d")
				if err := s.OPA(x, d, -math.Ldexp(1, rapid.IntRange(-8, 2).Draw(t, "etaExp"))); err != nil {
					t.Fatal(err)
				}
			case 2:
				s.CRS()
			case 3:
				s.ResetCounters()
			case 4:
				if err := s.Restore(saved); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// genSparseCodes draws codes of which a random share is zero, as after a
// ReLU.
func genSparseCodes(t *rapid.T, n int, label string) []int16 {
	v := genCodes(t, n, math.MinInt16, math.MaxInt16, label)
	zero := rapid.Float64Range(0, 1).Draw(t, label+" zero share")
	for i, b := range rapid.SliceOfN(rapid.Float64Range(0, 1), n, n).Draw(t, label+" zeros") {
		if b < zero {
			v[i] = 0
		}
	}
	return v
}

// Readers running at the same time give the set's own products and, once
// flushed, add the counts its own products add.
func TestReadersEqualTheSetsProducts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		adc := rapid.SampledFrom([]ADC{{Ideal: true}, {Bits: 8}, {Bits: 4}}).Draw(t, "adc")
		s := drawSet(t, adc)
		type product struct{ x, d, y, yt []int16 }
		products := make([][]product, 3)
		for k := range products {
			for range rapid.IntRange(1, 4).Draw(t, "products") {
				products[k] = append(products[k], product{x: genSparseCodes(t, s.rows, "x"), d: genSparseCodes(t, s.cols, "d"),
					y: make([]int16, s.cols), yt: make([]int16, s.rows)})
			}
		}
		start := s.Counters()
		var wg sync.WaitGroup
		readers := make([]*Reader, len(products))
		for k := range products {
			readers[k] = s.NewReader()
			wg.Go(func() {
				for _, p := range products[k] {
					if err := readers[k].MVM(p.x, p.y, nil); err != nil {
						t.Error(err)
					}
					if err := readers[k].MTVM(p.d, p.yt, nil); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for _, rd := range readers {
			rd.Flush()
		}
		afterReaders := s.Counters()
		for _, ps := range products {
			for _, p := range ps {
				y, yt := make([]int16, s.cols), make([]int16, s.rows)
				s.MVM(p.x, y, nil)
				s.MTVM(p.d, yt, nil)
				if !slices.Equal(y, p.y) || !slices.Equal(yt, p.yt) {
					t.Fatalf("reader gave MVM %v and MTVM %v, the set %v and %v", p.y, p.yt, y, yt)
				}
			}
		}
		if diff := cmp.Diff(countsBetween(start, afterReaders), countsBetween(afterReaders, s.Counters())); diff != "" {
			t.Fatalf("counts of the readers (-) and the set (+):\n%s", diff)
		}
	})
}

// countsBetween is b - a, field by field.
func countsBetween(a, b Counters) Counters {
	d := b.clone()
	va, vd := reflect.ValueOf(a), reflect.ValueOf(&d).Elem()
	for i := range vd.NumField() {
		if f := vd.Field(i); f.Kind() == reflect.Int64 {
			f.SetInt(f.Int() - va.Field(i).Int())
		}
	}
	for i := range d.SliceSat {
		d.SliceSat[i] -= a.SliceSat[i]
	}
	return d
}

// add covers every counter: each field of the sum is the sum of the fields.
func TestCountersAddCoversEveryField(t *testing.T) {
	var a Counters
	va := reflect.ValueOf(&a).Elem()
	for i := range va.NumField() {
		switch f := va.Field(i); f.Kind() {
		case reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Slice:
			a.SliceSat = []int64{3, 5}
		default:
			t.Fatalf("counter %s has kind %v: teach add and this test about it", va.Type().Field(i).Name, f.Kind())
		}
	}
	sum := a.clone()
	sum.add(a)
	if diff := cmp.Diff(countsBetween(a, sum), a); diff != "" {
		t.Errorf("a + a - a differs from a (-got +want):\n%s", diff)
	}
}

// The paired lanes of the exact products hold at their limits: the largest
// weights of either sign times inputs at, just past and far past the
// largest magnitude that goes four to a lane, on odd and even lines. With
// one weight everywhere the lanes fill up (and the outputs saturate); with
// w and -w-1 in alternate rows the sums stay in range.
func TestProductsAtExtremes(t *testing.T) {
	for _, shape := range [][2]int{{9, 7}, {8, 70}, {65, 3}} {
		rows, cols := shape[0], shape[1]
		for _, pattern := range []struct {
			w         int16
			alternate bool
		}{{math.MaxInt16, false}, {math.MinInt16, false}, {1, false}, {math.MaxInt16, true}, {math.MinInt16, true}} {
			w := pattern.w
			for _, x := range []int16{pairMaxMag, pairMaxMag + 1, -pairMaxMag, -pairMaxMag - 1, math.MaxInt16, math.MinInt16} {
				s := newTestSet(t, DefaultReadPlan, ADC{Ideal: true}, rows, cols)
				m := make([]int16, rows*cols)
				for i := range m {
					m[i] = w
					if pattern.alternate && i/cols%2 == 1 {
						m[i] = ^w
					}
				}
				if err := s.Program(m); err != nil {
					t.Fatal(err)
				}
				in, inT := make([]int16, rows), make([]int16, cols)
				for i := range in {
					in[i] = x
				}
				for i := range inT {
					inT[i] = x
				}
				y, yt := make([]int16, cols), make([]int16, rows)
				s.MVM(in, y, nil)
				s.MTVM(inT, yt, nil)
				if want := bigExactProduct(s, in, false); !slices.Equal(y, want) {
					t.Errorf("%dx%d, weights %+v, inputs %d: MVM %v, exact %v", rows, cols, pattern, x, y, want)
				}
				if want := bigExactProduct(s, inT, true); !slices.Equal(yt, want) {
					t.Errorf("%dx%d, weights %+v, inputs %d: MTVM %v, exact %v", rows, cols, pattern, x, yt, want)
				}
			}
		}
	}
}

// A unit's CRS hands over only the rows that OPAs drove since the last
// one; the sets and counters equal those of a unit that hands over every
// row each time.
func TestCRSOfDrivenRowsEqualsWholeCRS(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := DefaultUnitConfig()
		cfg.Variant = rapid.SampledFrom([]Variant{Accumulate, Pipelined}).Draw(t, "variant")
		cfg.Size = Size{Rows: 64, Cols: 64}
		if rapid.Bool().Draw(t, "stuck cells") {
			cfg.Device = device.Config{StuckLow: 0.05, StuckHigh: 0.05}
		}
		rows, cols := rapid.IntRange(1, 20).Draw(t, "rows"), rapid.IntRange(1, 20).Draw(t, "cols")
		var units [2]*Unit // [1] hands over every row
		for k := range units {
			u, err := NewUnit(cfg, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			units[k] = u
		}
		m := genCodes(t, rows*cols, math.MinInt16, math.MaxInt16, "weights")
		for step := range rapid.IntRange(1, 8).Draw(t, "steps") {
			x, d := genSparseCodes(t, rows, "x"), genSparseCodes(t, cols, "d")
			eta := -math.Ldexp(1, rapid.IntRange(-12, 0).Draw(t, "etaExp"))
			op := rapid.IntRange(0, 3).Draw(t, "op")
			for k, u := range units {
				switch op {
				case 0:
					if err := u.Program(m); err != nil {
						t.Fatal(err)
					}
				case 1, 2:
					if err := u.OPA(x, d, eta); err != nil {
						t.Fatal(err)
					}
				default:
					if k == 1 {
						u.changeAll()
					}
					u.CRS()
				}
			}
			var states [2]UnitState
			for k, u := range units {
				st, err := u.State()
				if err != nil {
					t.Fatal(err)
				}
				states[k] = st
			}
			if !reflect.DeepEqual(states[0], states[1]) { // cmp.Diff alone is slow
				t.Fatalf("step %d (op %d): driven rows (-) and every row (+) differ:\n%s", step, op, cmp.Diff(states[0], states[1]))
			}
		}
	})
}
