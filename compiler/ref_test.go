package compiler

import (
	"math"
	"slices"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/fixed"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

// refNet is the reference the compiled programs are checked against: the
// crossbar package driven directly, layer by layer, in the order and with
// the arithmetic the trainer uses (package train), for the forward pass,
// the loss, the backward pass and the updates.
type refNet struct {
	net    *model.Network
	layers []refLayer
	first  int
	eta    float64
	cfg    Config
}

type refLayer struct {
	l              model.Layer
	rows, cols     int
	rowB, colB     []int
	units          []*xbar.Unit // row-major over (row tile, column tile)
	pixels         int
	gather         []int32 // conv: input index of patch row r at pixel p, -1 for padding
	poolOffs       []int32
	inAct, outAct  []int16
	flags          []bool
	errs           []int16 // masked errors at the output, pixel-major
	argmax         []int32
	inSize, outLen int
	// A bias held in the vector unit (model.Layer.BiasOnCrossbar is
	// false): the copy products read and the one updates go to (the same
	// slice for inplace).
	biasRead, biasUpdate []int16
}

func newRefNet(net *model.Network, weights [][]float64, uc xbar.UnitConfig, cfg Config) (*refNet, error) {
	r := &refNet{net: net, first: -1, eta: -cfg.LR, cfg: cfg}
	for i, l := range net.Layers {
		rl := refLayer{l: l, inSize: l.InShape.Size(), outLen: l.OutShape.Size(), pixels: 1}
		if l.Trainable() {
			if r.first < 0 {
				r.first = i
			}
			rl.rows, rl.cols = l.CrossbarRows(uc.Size.Rows, cfg.Bias), l.CellCols()
			rl.rowB, rl.colB = xbar.TileBounds(rl.rows, uc.Size.Rows), xbar.TileBounds(rl.cols, uc.Size.Cols)
			m, _ := codes(weights[i])
			if l.Bias && !l.BiasOnCrossbar(uc.Size.Rows, cfg.Bias) {
				rl.biasUpdate = slices.Clone(m[l.FanIn()*rl.cols:])
				rl.biasRead = rl.biasUpdate
				if uc.Variant != xbar.Inplace {
					rl.biasRead = slices.Clone(rl.biasUpdate)
				}
			}
			for a := 0; a+1 < len(rl.rowB); a++ {
				for b := 0; b+1 < len(rl.colB); b++ {
					u, err := xbar.NewUnit(uc, rl.rowB[a+1]-rl.rowB[a], rl.colB[b+1]-rl.colB[b])
					if err != nil {
						return nil, err
					}
					var block []int16
					for row := rl.rowB[a]; row < rl.rowB[a+1]; row++ {
						block = append(block, m[row*rl.cols+rl.colB[b]:row*rl.cols+rl.colB[b+1]]...)
					}
					if err := u.Program(block); err != nil {
						return nil, err
					}
					rl.units = append(rl.units, u)
				}
			}
			if l.Kind == model.Conv2D {
				c, h, w := l.InShape[0], l.InShape[1], l.InShape[2]
				oh, ow := l.OutShape[1], l.OutShape[2]
				k := l.Kernel
				rl.pixels = oh * ow
				patch := l.FanIn()
				rl.gather = make([]int32, rl.pixels*patch)
				for y := range oh {
					for x := range ow {
						for ch := range c {
							for i := range k {
								for j := range k {
									iy, ix := y*l.Stride+i-l.Padding, x*l.Stride+j-l.Padding
									idx := int32(-1)
									if iy >= 0 && iy < h && ix >= 0 && ix < w {
										idx = int32((ch*h+iy)*w + ix)
									}
									rl.gather[(y*ow+x)*patch+(ch*k+i)*k+j] = idx
								}
							}
						}
					}
				}
			}
			rl.flags = make([]bool, rl.outLen)
			rl.errs = make([]int16, rl.outLen)
		}
		if l.Kind == model.MaxPool || l.Kind == model.AvgPool {
			h, w := l.InShape[1], l.InShape[2]
			oh, ow := l.OutShape[1], l.OutShape[2]
			for y := range oh {
				for x := range ow {
					for i := range l.Kernel {
						for j := range l.Kernel {
							iy, ix := y*l.Stride+i-l.Padding, x*l.Stride+j-l.Padding
							off := int32(-1) // average pooling's padding: a zero
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								off = int32(iy*w + ix)
							}
							rl.poolOffs = append(rl.poolOffs, off)
						}
					}
				}
			}
			rl.argmax = make([]int32, rl.outLen)
		}
		rl.outAct = make([]int16, rl.outLen)
		r.layers = append(r.layers, rl)
	}
	return r, nil
}

func (rl *refLayer) patch(in []int16, p int) []int16 {
	x := make([]int16, rl.rows)
	patch := rl.l.FanIn()
	if rl.gather == nil {
		copy(x, in)
	} else {
		for row, idx := range rl.gather[p*patch : (p+1)*patch] {
			if idx >= 0 {
				x[row] = in[idx]
			}
		}
	}
	if rl.rows > patch {
		x[patch] = alu.One
	}
	return x
}

// forward runs one example and returns the output (CHW).
func (r *refNet) forward(x []int16) []int16 {
	in := x
	for i := range r.layers {
		rl := &r.layers[i]
		rl.inAct = in
		out := rl.outAct
		l := rl.l
		switch l.Kind {
		case model.Dense, model.Conv2D:
			nr, nc := len(rl.rowB)-1, len(rl.colB)-1
			for p := range rl.pixels {
				xp := rl.patch(in, p)
				for j := range nc {
					c0, c1 := rl.colB[j], rl.colB[j+1]
					parts, flags := make([][]int16, nr), make([][]bool, nr)
					for t := range nr {
						parts[t], flags[t] = make([]int16, c1-c0), make([]bool, c1-c0)
						must(rl.units[t*nc+j].MVM(xp[rl.rowB[t]:rl.rowB[t+1]], parts[t], flags[t]))
					}
					sum, sf := make([]int16, c1-c0), make([]bool, c1-c0)
					_, err := xbar.TreeSum(parts, flags, sum, sf)
					must(err)
					for k := range sum {
						if rl.biasRead != nil {
							var sat bool
							sum[k], sat = alu.Add(sum[k], rl.biasRead[c0+k])
							sf[k] = sf[k] || sat
						}
						out[(c0+k)*rl.pixels+p], rl.flags[(c0+k)*rl.pixels+p] = sum[k], sf[k]
					}
				}
			}
		case model.ReLU:
			for k, v := range in {
				out[k] = alu.Relu(v)
			}
		case model.Sigmoid:
			for k, v := range in {
				out[k], _ = alu.Sig(v)
			}
		case model.Tanh:
			for k, v := range in {
				out[k], _ = alu.Tanh(v)
			}
		case model.MaxPool, model.AvgPool:
			kk := l.Kernel * l.Kernel
			plane, outPlane := l.InShape[1]*l.InShape[2], l.OutShape[1]*l.OutShape[2]
			for o := range out {
				c, q := o/outPlane, o%outPlane
				offs := rl.poolOffs[q*kk : (q+1)*kk]
				base := c * plane
				if l.Kind == model.MaxPool {
					best := base + int(offs[0])
					for _, off := range offs[1:] {
						if in[base+int(off)] > in[best] {
							best = base + int(off)
						}
					}
					out[o], rl.argmax[o] = in[best], int32(best)
					continue
				}
				var s int64
				for _, off := range offs {
					if off >= 0 {
						s += int64(in[base+int(off)])
					}
				}
				out[o] = int16(roundDiv(s, int64(kk)))
			}
		case model.Flatten:
			copy(out, in)
		}
		in = out
	}
	return in
}

func roundDiv(s, n int64) int64 {
	if s >= 0 {
		return (2*s + n) / (2 * n)
	}
	return -((-2*s + n) / (2 * n))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// lossError is the error at the output: the instruction set's softmax
// cross entropy (log_softmax, then log_softmax_d of -onehot) or MSE.
func (r *refNet) lossError(out []int16, label int) []int16 {
	d := make([]int16, len(out))
	t := make([]int16, len(out))
	if r.net.Loss == model.MSE {
		t[label] = alu.One
		for i := range out {
			d[i], _ = alu.Sub(out[i], t[i])
		}
		return d
	}
	t[label] = -alu.One
	lp := make([]int16, len(out))
	alu.LogSoftmax(lp, out)
	alu.LogSoftmaxD(d, t, lp)
	return d
}

// backward mirrors the trainer's backward pass; the saturation mask is the
// compiler's stand-in (an output at a limit of Q4.12).
func (r *refNet) backward(d []int16) {
	for i := len(r.layers) - 1; i >= r.first; i-- {
		rl := &r.layers[i]
		l := rl.l
		in := rl.inAct
		dIn := make([]int16, len(in))
		switch l.Kind {
		case model.Dense, model.Conv2D:
			P := rl.pixels
			for k, v := range d {
				z := rl.outAct[k]
				if z == math.MaxInt16 || z == math.MinInt16 {
					v = 0
				}
				rl.errs[(k%P)*rl.cols+k/P] = v
			}
			if i == r.first {
				return
			}
			nr, nc := len(rl.rowB)-1, len(rl.colB)-1
			patch := l.FanIn()
			for p := range P {
				e := rl.errs[p*rl.cols : (p+1)*rl.cols]
				dpatch := make([]int16, rl.rows)
				for t := range nr {
					r0, r1 := rl.rowB[t], rl.rowB[t+1]
					parts := make([][]int16, nc)
					for j := range nc {
						parts[j] = make([]int16, r1-r0)
						must(rl.units[t*nc+j].MTVM(e[rl.colB[j]:rl.colB[j+1]], parts[j], nil))
					}
					_, err := xbar.TreeSum(parts, nil, dpatch[r0:r1], nil)
					must(err)
				}
				if rl.gather == nil {
					copy(dIn, dpatch[:patch])
					continue
				}
				for row, idx := range rl.gather[p*patch : (p+1)*patch] {
					if idx >= 0 {
						dIn[idx], _ = alu.Add(dIn[idx], dpatch[row])
					}
				}
			}
		case model.ReLU, model.Sigmoid, model.Tanh:
			out := rl.outAct
			for k, dv := range d {
				var deriv int16
				switch l.Kind {
				case model.ReLU:
					deriv = alu.Relud(in[k])
				case model.Sigmoid:
					c, _ := alu.Sub(alu.One, out[k])
					deriv, _ = alu.Mul(out[k], c)
				case model.Tanh:
					sq, _ := alu.Mul(out[k], out[k])
					deriv, _ = alu.Sub(alu.One, sq)
				}
				dIn[k], _ = alu.Mul(dv, deriv)
			}
		case model.MaxPool:
			for o, dv := range d {
				idx := rl.argmax[o]
				dIn[idx], _ = alu.Add(dIn[idx], dv)
			}
		case model.AvgPool:
			kk := l.Kernel * l.Kernel
			plane, outPlane := l.InShape[1]*l.InShape[2], l.OutShape[1]*l.OutShape[2]
			for o, dv := range d {
				share := int16(roundDiv(int64(dv), int64(kk)))
				c, q := o/outPlane, o%outPlane
				for _, off := range rl.poolOffs[q*kk : (q+1)*kk] {
					if off < 0 {
						continue
					}
					idx := c*plane + int(off)
					dIn[idx], _ = alu.Add(dIn[idx], share)
				}
			}
		case model.Flatten:
			copy(dIn, d)
		}
		d = dIn
	}
}

// update applies every trainable layer's OPAs for the example just run.
func (r *refNet) update() {
	for i := range r.layers {
		rl := &r.layers[i]
		if !rl.l.Trainable() {
			continue
		}
		nc := len(rl.colB) - 1
		eta, _, _ := fixed.Q4_12.FromFloat(r.eta)
		for p := range rl.pixels {
			x := rl.patch(rl.inAct, p)
			e := rl.errs[p*rl.cols : (p+1)*rl.cols]
			for c, d := range e {
				if rl.biasUpdate != nil {
					u, _ := alu.Mul(d, eta)
					rl.biasUpdate[c], _ = alu.Add(rl.biasUpdate[c], u)
				}
			}
			for t, u := range rl.units {
				a, b := t/nc, t%nc
				must(u.OPA(x[rl.rowB[a]:rl.rowB[a+1]], e[rl.colB[b]:rl.colB[b+1]], r.eta))
			}
		}
	}
}

// train runs the examples in order with CRSs as the configuration says.
func (r *refNet) train(ds Dataset) {
	for e, x := range ds.Inputs {
		out := r.forward(x)
		r.backward(r.lossError(out, ds.Labels[e]))
		r.update()
		if r.cfg.CRSAfter(e) {
			for _, rl := range r.layers {
				for _, u := range rl.units {
					u.CRS()
				}
				copy(rl.biasRead, rl.biasUpdate)
			}
		}
	}
}
