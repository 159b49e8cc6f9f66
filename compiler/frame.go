package compiler

// A frame is how a stage reads its input map through windows, laid out so
// that every stored word is read the same number of times.
//
// Shared memory frees a word after the number of reads its store announced,
// and a store gives one count to all the words it writes. Windows at the
// border of a map read fewer words than windows inside, so the compiler
// runs the window loop over "origins" that extend past the real outputs:
// origin (y', x') reads frame rows y'*sh + i and columns x'*sw + j for i,
// j below the effective kernel kh2 = sh*ceil(kh/sh). Every data word is
// then read exactly (kh2/sh) x (kw2/sw) times per pass of each reader; the
// origins that are not real outputs only load. Pads around the data hold
// zeros that are never counted: pad rows point at one constant zero row,
// pad columns live beside the data in each row slot.
type frame struct {
	in       mapShape
	win      window
	outH     int // real output rows and columns
	outW     int
	kh2, kw2 int // effective kernel, a multiple of the stride
	ar, ac   int // pad rows and columns before the data
	qy, qx   int // the origin of real output (0, 0)
	ny, nx   int // origins per column and per row
	hs, ws   int // frame rows and columns
}

func newFrame(in mapShape, w window) frame {
	f := frame{in: in, win: w}
	f.outH = (in.H+2*w.ph-w.kh)/w.sh + 1
	f.outW = (in.W+2*w.pw-w.kw)/w.sw + 1
	f.kh2, f.ar, f.qy, f.ny, f.hs = axis(in.H, w.kh, w.sh, w.ph, f.outH)
	f.kw2, f.ac, f.qx, f.nx, f.ws = axis(in.W, w.kw, w.sw, w.pw, f.outW)
	return f
}

// axis lays out one dimension: n data positions read by windows of k with
// stride s and padding p, giving out real outputs.
func axis(n, k, s, p, out int) (k2, a, q, origins, frameLen int) {
	k2 = s * ((k + s - 1) / s)
	// Data must start at least k2-s in (so the first data position has all
	// its origins) and p in (real windows), at a multiple of s past p.
	a = max(p, k2-s)
	a += (p - a%s + s) % s
	q = (a - p) / s
	origins = max((a+n-1)/s+1, q+out)
	frameLen = (origins-1)*s + k2
	return
}

// padRows reports whether some frame rows lie outside the data (and so
// read a zero row).
func (f frame) padRows() bool { return f.ar > 0 || f.hs > f.ar+f.in.H }

// inputRows is how many row slots one example of an input region takes:
// its data rows, and a zero row of its own when the frame has pad rows (so
// that pad rows too move with the example offset).
func (f frame) inputRows() int {
	if f.padRows() {
		return f.in.H + 1
	}
	return f.in.H
}

// reads is how often each data word is read in one pass of one reader.
func (f frame) reads() int { return (f.kh2 / f.win.sh) * (f.kw2 / f.win.sw) }

// realRow and realCol report whether origin row y' and column x' are those
// of a real output.
func (f frame) realRow(y int) bool { return y >= f.qy && y < f.qy+f.outH }
func (f frame) realCol(x int) bool { return x >= f.qx && x < f.qx+f.outW }

// colReads is how often column x of a frame row is read by one reader per
// read of its row: data columns kw2/sw times, pad columns fewer.
func (f frame) colReads(x int) int {
	n := 0
	for o := 0; o < f.nx; o++ {
		if d := x - o*f.win.sw; d >= 0 && d < f.kw2 {
			n++
		}
	}
	return n
}

// accFrame is the layout of an error map accumulated in backward: the real
// padded extent (pads are ordinary words there, read and dropped), rows
// entering and leaving a ring as the windows pass.
type accFrame struct {
	in       mapShape
	win      window
	outH     int
	outW     int
	rows     int // frame rows: pads, data, and rows below the last window
	cols     int
	ringRows int // rows alive at once
}

func newAccFrame(f frame) accFrame {
	w := f.win
	a := accFrame{in: f.in, win: w, outH: f.outH, outW: f.outW}
	// Rows run to the end of the last window and of the last stride, so
	// that every pixel row hands out sh rows.
	a.rows = max(w.ph+f.in.H, (f.outH-1)*w.sh+w.kh, f.outH*w.sh)
	a.cols = max(w.pw+f.in.W, (f.outW-1)*w.sw+w.kw)
	a.ringRows = min(a.rows, w.kh+w.sh)
	return a
}
