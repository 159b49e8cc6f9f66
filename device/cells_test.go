package device

import (
	"math"
	"testing"

	"github.com/panther-xbar/panther/rng"
	"pgregory.net/rapid"
)

func mustTable(t testing.TB, path string) *Table {
	t.Helper()
	tab, err := ReadTableFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// trace runs a fixed sequence of writes and reads and returns every result's
// bits, stuck map included.
func trace(c Config, seed uint64) []uint64 {
	const levels, n = 64, 97
	d := NewCells(c, levels, n, rng.New(seed))
	var out []uint64
	for i := range n {
		l, s := d.Stuck(i)
		if s {
			l += 1000
		}
		out = append(out, uint64(l))
	}
	for k := range 2000 {
		delta := k%13 - 6
		if delta == 0 {
			delta = 9
		}
		out = append(out, uint64(d.Write(k%n, (k*7)%levels, delta)))
		out = append(out, math.Float64bits(d.ReadNoise(k%20)))
	}
	return out
}

func TestSameSeedSameBits(t *testing.T) {
	models := map[string]Config{
		"ideal":     {D2D: 0.1, C2C: 0.3, ReadNoise: 0.5},
		"nonlinear": {Kind: KindNonlinear, Alpha: 2, Sigma: 0.1, D2D: 0.05},
		"table":     {Kind: KindTable, Table: mustTable(t, "testdata/example_table.csv"), C2C: 0.1},
		"stuck":     {StuckLow: 0.1, StuckHigh: 0.2, C2C: 0.2},
	}
	for name, c := range models {
		t.Run(name, func(t *testing.T) {
			a, b, other := trace(c, 7), trace(c, 7), trace(c, 8)
			same, differs := true, false
			for i := range a {
				same = same && a[i] == b[i]
				differs = differs || a[i] != other[i]
			}
			if !same {
				t.Error("same seed gave different results")
			}
			if !differs {
				t.Error("different seeds gave identical results")
			}
		})
	}
}

func TestIdealExact(t *testing.T) {
	src := rng.New(1)
	d := NewCells(Config{}, 64, 10, src)
	for l := range 64 {
		for delta := -70; delta <= 70; delta++ {
			if got := d.Write(l%10, l, delta); got != l+delta {
				t.Fatalf("Write(%d, %+d) = %d, want %d", l, delta, got, l+delta)
			}
		}
	}
	if _, s := d.Stuck(3); s {
		t.Error("a cell is stuck without stuck fractions")
	}
	if d.ReadNoise(100) != 0 {
		t.Error("read noise without read_noise")
	}
	if src.Uint64() != rng.New(1).Uint64() {
		t.Error("ideal cells drew from the source")
	}
}

func TestStuck(t *testing.T) {
	const n, levels = 20000, 32
	d := NewCells(Config{StuckLow: 0.1, StuckHigh: 0.2}, levels, n, rng.New(3))
	var low, high int
	for i := range n {
		l, s := d.Stuck(i)
		if !s {
			if got := d.Write(i, 5, 3); got != 8 {
				t.Fatalf("free cell wrote %d, want 8", got)
			}
			continue
		}
		if got := d.Write(i, 5, 3); got != l {
			t.Fatalf("stuck cell wrote %d, want its level %d", got, l)
		}
		switch l {
		case 0:
			low++
		case levels - 1:
			high++
		default:
			t.Fatalf("stuck at %d", l)
		}
	}
	if f := float64(low) / n; math.Abs(f-0.1) > 0.01 {
		t.Errorf("stuck low fraction %v, want about 0.1", f)
	}
	if f := float64(high) / n; math.Abs(f-0.2) > 0.01 {
		t.Errorf("stuck high fraction %v, want about 0.2", f)
	}
}

func TestD2D(t *testing.T) {
	const n = 4000
	d := NewCells(Config{D2D: 0.2}, 256, n, rng.New(4))
	var sum, sum2 float64
	for i := range n {
		got := d.Write(i, 0, 100)
		if again := d.Write(i, 0, 100); again != got {
			t.Fatalf("cell %d: d2d without c2c is not deterministic per cell: %d then %d", i, got, again)
		}
		lm := math.Log(float64(got) / 100)
		sum += lm
		sum2 += lm * lm
	}
	mean, sd := sum/n, math.Sqrt(sum2/n-(sum/n)*(sum/n))
	if math.Abs(mean) > 0.02 || math.Abs(sd-0.2) > 0.02 {
		t.Errorf("log step multiplier mean %v sd %v, want about 0 and 0.2", mean, sd)
	}
}

func TestC2CAndReadNoise(t *testing.T) {
	const n = 40000
	d := NewCells(Config{C2C: 1, ReadNoise: 0.5}, 256, 1, rng.New(5))
	var s2, r2 float64
	for range n {
		e := float64(d.Write(0, 100, 4) - 104)
		s2 += e * e
		r := d.ReadNoise(16)
		r2 += r * r
	}
	// c2c sd is 1*sqrt(4) = 2; rounding adds variance 1/12.
	if sd := math.Sqrt(s2 / n); math.Abs(sd-math.Sqrt(4+1.0/12)) > 0.05 {
		t.Errorf("c2c sd %v, want about 2.02", sd)
	}
	if sd := math.Sqrt(r2 / n); math.Abs(sd-2) > 0.05 {
		t.Errorf("read noise sd %v, want 0.5*sqrt(16) = 2", sd)
	}
}

func TestNonlinearAlphaZeroIsIdeal(t *testing.T) {
	// With d2d both models draw the same multipliers and move by delta*m.
	for _, d2d := range []float64{0, 0.3} {
		lin := NewCells(Config{Kind: KindNonlinear, D2D: d2d}, 64, 8, rng.New(2))
		ideal := NewCells(Config{D2D: d2d}, 64, 8, rng.New(2))
		for l := range 64 {
			for delta := -63; delta <= 63; delta++ {
				if delta == 0 {
					continue
				}
				a, b := lin.Write(l%8, l, delta), ideal.Write(l%8, l, delta)
				if a != b || (d2d == 0 && a != l+delta) {
					t.Fatalf("d2d=%v Write(%d, %+d): nonlinear alpha=0 gives %d, ideal %d", d2d, l, delta, a, b)
				}
			}
		}
	}
}

// TestNonlinearFormula checks the stable rewriting against the formula as docs/devices.md writes it.
func TestNonlinearFormula(t *testing.T) {
	for _, alpha := range []float64{0.01, 0.5, 3, 8} {
		const R = 63.0
		d := NewCells(Config{Kind: KindNonlinear, Alpha: alpha}, 64, 1, rng.New(1))
		w0 := R / (1 - math.Exp(-alpha))
		for w := 0.0; w <= R; w++ {
			for _, step := range []float64{-40, -3, -1, 1, 3, 40} {
				dn := step / R
				want := (w0 - w) * (1 - math.Exp(-alpha*dn))
				if step < 0 {
					want = ((R - w0) - w) * (1 - math.Exp(alpha*dn))
				}
				if got := d.nonlinear(w, step); math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
					t.Fatalf("alpha=%v w=%v step=%v: %v, want %v", alpha, w, step, got, want)
				}
			}
		}
	}
}

func TestNonlinearMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		alpha := rapid.Float64Range(0.05, 6).Draw(t, "alpha")
		levels := 1 << rapid.IntRange(2, 8).Draw(t, "cell_bits")
		top := levels - 1
		l1 := rapid.IntRange(0, top-1).Draw(t, "l1")
		l2 := rapid.IntRange(l1+1, top).Draw(t, "l2")
		delta := rapid.IntRange(1, top).Draw(t, "delta")
		d := NewCells(Config{Kind: KindNonlinear, Alpha: alpha}, levels, 1, rng.New(0))

		// The model: potentiation shrinks as the level grows, depression as it falls.
		w1, w2, s := float64(l1), float64(l2), float64(delta)
		if p1, p2 := d.nonlinear(w1, s), d.nonlinear(w2, s); !(p1 > p2 && p2 > 0) {
			t.Fatalf("potentiation by %v: %v at %d, %v at %d", s, p1, l1, p2, l2)
		}
		if d1, d2 := d.nonlinear(w1, -s), d.nonlinear(w2, -s); !(d1 > d2 && d1 < 0) {
			t.Fatalf("depression by %v: %v at %d, %v at %d", s, d1, l1, d2, l2)
		}
		// Rounded writes keep the order, weakly.
		if a, b := d.Write(0, l1, delta)-l1, d.Write(0, l2, delta)-l2; a < b {
			t.Fatalf("potentiation write by %d: step %d at %d < step %d at %d", delta, a, l1, b, l2)
		}
		if a, b := d.Write(0, l1, -delta)-l1, d.Write(0, l2, -delta)-l2; a < b {
			t.Fatalf("depression write by %d: step %d at %d, step %d at %d", delta, a, l1, b, l2)
		}
	})
}

func TestNonlinearNoise(t *testing.T) {
	// sigma*sqrt(|delta|) levels: 0.5*sqrt(4) = 1, plus rounding's 1/12; alpha
	// tiny so the mean move is 4.
	const n = 40000
	d := NewCells(Config{Kind: KindNonlinear, Alpha: 1e-9, Sigma: 0.5}, 256, 1, rng.New(6))
	var s2 float64
	for range n {
		e := float64(d.Write(0, 100, 4) - 104)
		s2 += e * e
	}
	if sd := math.Sqrt(s2 / n); math.Abs(sd-math.Sqrt(1+1.0/12)) > 0.03 {
		t.Errorf("write noise sd %v, want about 1.04", sd)
	}
}

func TestExtremeParametersStayFinite(t *testing.T) {
	for _, c := range []Config{
		{Kind: KindNonlinear, Alpha: 1e-310},
		{Kind: KindNonlinear, Alpha: 1000},
		{D2D: 500},
		{Kind: KindNonlinear, Alpha: 1, Sigma: 1e300, C2C: 1e300},
	} {
		d := NewCells(c, 16, 50, rng.New(9))
		for i := range 50 {
			for _, delta := range []int{-15, -1, 1, 15} {
				if got := d.Write(i, 7, delta); got < -maxTarget || got > maxTarget {
					t.Fatalf("%v: Write = %d", c, got)
				}
			}
		}
	}
}

func TestTableConstantStepsIsIdeal(t *testing.T) {
	const levels = 16
	L := float64(levels - 1)
	tab := &Table{Level: []float64{0, 0.3, 1}, Pot: []float64{1 / L, 1 / L, 1 / L}, Dep: []float64{-1 / L, -1 / L, -1 / L}}
	d := NewCells(Config{Kind: KindTable, Table: tab}, levels, 1, rng.New(1))
	for l := range levels {
		for delta := -l; delta < levels-l; delta++ {
			if got := d.Write(0, l, delta); got != l+delta {
				t.Fatalf("Write(%d, %+d) = %d, want %d", l, delta, got, l+delta)
			}
		}
	}
	// The state clamps at the ends after each pulse.
	if got := d.Write(0, levels-2, 5); got != levels-1 {
		t.Errorf("Write(top-1, +5) = %d, want %d", got, levels-1)
	}
	if got := d.Write(0, 1, -5); got != 0 {
		t.Errorf("Write(1, -5) = %d, want 0", got)
	}
}

func BenchmarkWriteIdeal(b *testing.B) {
	d := NewCells(Config{}, 64, 1024, rng.New(1))
	for i := 0; b.Loop(); i++ {
		d.Write(i&1023, 32, i%7-3)
	}
}

func BenchmarkWriteNonlinear(b *testing.B) {
	d := NewCells(Config{Kind: KindNonlinear, Alpha: 2, Sigma: 0.1, D2D: 0.05, C2C: 0.1}, 64, 1024, rng.New(1))
	for i := 0; b.Loop(); i++ {
		d.Write(i&1023, 32, i%7-3)
	}
}

// TestReadNoiseScale checks, draw for draw, that read_noise_scale range
// multiplies the level reading's noise by the cell range L: both streams
// draw the same N(0, 1) values from the same seed.
func TestReadNoiseScale(t *testing.T) {
	const levels = 4 // L = 3
	perLevel := NewCells(Config{ReadNoise: 0.01}, levels, 1, rng.New(11))
	perRange := NewCells(Config{ReadNoise: 0.01, ReadNoiseScale: ReadNoisePerRange}, levels, 1, rng.New(11))
	norm := rng.New(11)
	for _, active := range []int{1, 7, 128, 0, 64} {
		want, wantRange := 0.0, 0.0
		if active > 0 {
			z := norm.Norm()
			want, wantRange = 0.01*math.Sqrt(float64(active))*z, (0.01*3)*math.Sqrt(float64(active))*z
		}
		if got := perLevel.ReadNoise(active); got != want {
			t.Errorf("level reading, %d active: %v, want %v", active, got, want)
		}
		if got := perRange.ReadNoise(active); got != wantRange || active > 0 && got == want {
			t.Errorf("range reading, %d active: %v, want %v", active, got, wantRange)
		}
	}
}

// TestSigmaUpdate checks both readings of the write noise's update against
// the formula, with the same N(0, 1) draw: g/R gives sigma*sqrt(|g|) levels,
// g gives sigma*sqrt(R*|g|).
func TestSigmaUpdate(t *testing.T) {
	const levels, alpha, sigma, level, delta = 64, 1.5, 0.3, 20, 5
	top := float64(levels - 1)
	norm := rng.New(3).Norm()
	e := math.Expm1(-alpha * delta / top)
	move := top*e/math.Expm1(-alpha) + level*e
	for _, tc := range []struct {
		update string
		noise  float64
	}{{"", sigma * math.Sqrt(delta)}, {SigmaUpdateScaled, sigma * math.Sqrt(delta)}, {SigmaUpdateLevels, sigma * math.Sqrt(top*delta)}} {
		d := NewCells(Config{Kind: KindNonlinear, Alpha: alpha, Sigma: sigma, SigmaUpdate: tc.update}, levels, 1, rng.New(3))
		want := int(math.Round(level + move + tc.noise*norm))
		if got := d.Write(0, level, delta); got != want {
			t.Errorf("sigma_update %q: write lands at %d, want %d", tc.update, got, want)
		}
	}
}
