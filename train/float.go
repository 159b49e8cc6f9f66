package train

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/panther-xbar/panther/model"
)

// floating is the element type of the reference trainer: float32 for runs,
// float64 for the gradient check.
type floating interface{ float32 | float64 }

// floatNet is the floating-point reference of the same architecture and the
// same initial weights (the Q4.12 codes of the crossbar run, exactly). It
// trains with plain mini-batch SGD on the batch-mean loss.
type floatNet[T floating] struct {
	// axpy (y += a x) and dot are the inner loops: SIMD (gonum's BLAS) for
	// float32, plain loops for float64.
	axpy   func(a T, x, y []T)
	dot    func(x, y []T) T
	net    *model.Network
	layers []flayer[T]
	first  int
	lr     float64
	scale  [256]T // pixel value to value/255
	shards [floatShards]*fshard[T]
}

// floatShards is the fixed number of gradient accumulators a batch is split
// into (example k goes to shard k mod floatShards); shards are summed in
// order, so the bits do not depend on how many cores run them.
const floatShards = 2

type flayer[T floating] struct {
	spec   model.Layer
	outLen int
	prod   product
	pool   pooling
	m      []T // cell matrix M = W^T, rows x cols, row-major
}

// fshard is one accumulator's scratch: activations, errors, gradients.
type fshard[T floating] struct {
	acts         [][]T
	argmax       [][]int32
	grads        [][]T // per trainable layer, like m
	patch, col   []T
	dA, dB, dcol []T
}

func newFloatNet[T floating](net *model.Network, cfg Config) *floatNet[T] {
	n := &floatNet[T]{net: net, lr: cfg.FP32LR, first: -1, axpy: axpy[T], dot: dot[T]}
	if f, ok := any(n).(*floatNet[float32]); ok {
		f.axpy, f.dot = axpy32, dot32
	}
	for v := range n.scale {
		n.scale[v] = T(float64(v) / 255)
	}
	maxLen, maxRows := net.Input.Size(), 1
	for i, l := range net.Layers {
		fl := flayer[T]{spec: l, outLen: l.OutShape.Size()}
		maxLen = max(maxLen, fl.outLen)
		switch {
		case l.Trainable():
			if n.first < 0 {
				n.first = i
			}
			fl.prod = newProduct(l, l.Bias)
			maxRows = max(maxRows, fl.prod.rows, fl.prod.cols)
			codes := cfg.initialCodes(l, i)
			fl.m = make([]T, len(codes))
			for k, q := range codes {
				fl.m[k] = T(float64(q) / 4096)
			}
		case l.Kind == model.MaxPool || l.Kind == model.AvgPool:
			fl.pool = newPooling(l)
		}
		n.layers = append(n.layers, fl)
	}
	for s := range n.shards {
		sh := &fshard[T]{acts: make([][]T, len(n.layers)+1), argmax: make([][]int32, len(n.layers)), grads: make([][]T, len(n.layers)),
			patch: make([]T, maxRows), col: make([]T, maxRows), dcol: make([]T, maxRows), dA: make([]T, maxLen), dB: make([]T, maxLen)}
		sh.acts[0] = make([]T, net.Input.Size())
		for i, l := range n.layers {
			sh.acts[i+1] = make([]T, l.outLen)
			if l.spec.Trainable() {
				sh.grads[i] = make([]T, len(l.m))
			}
			if l.spec.Kind == model.MaxPool {
				sh.argmax[i] = make([]int32, l.outLen)
			}
		}
		n.shards[s] = sh
	}
	return n
}

func axpy[T floating](a T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

func axpy32(a float32, x, y []float32) {
	blas32.Axpy(a, blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(x), Inc: 1, Data: y[:len(x)]})
}

func dot32(x, y []float32) float32 {
	return blas32.Dot(blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(x), Inc: 1, Data: y[:len(x)]})
}

func dot[T floating](x, y []T) T {
	y = y[:len(x)]
	var s T
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// forward runs an example through the network; it returns the output.
func (n *floatNet[T]) forward(sh *fshard[T], pixels []uint8) []T {
	for i, v := range pixels {
		sh.acts[0][i] = n.scale[v]
	}
	for i := range n.layers {
		l := &n.layers[i]
		in, out := sh.acts[i], sh.acts[i+1]
		switch l.spec.Kind {
		case model.Dense, model.Conv2D:
			pr := &l.prod
			for p := range pr.pixels {
				x := patchOf(pr, in, p, 1, sh.patch)
				y := sh.col[:pr.cols]
				if pr.pixels == 1 {
					y = out
				}
				clear(y)
				for r, xv := range x {
					if xv != 0 { // inputs after ReLU and image borders are often 0
						n.axpy(xv, l.m[r*pr.cols:(r+1)*pr.cols], y)
					}
				}
				if pr.pixels > 1 {
					for c, v := range y {
						out[c*pr.pixels+p] = v
					}
				}
			}
		case model.ReLU:
			for k, v := range in {
				out[k] = max(v, 0)
			}
		case model.Sigmoid:
			for k, v := range in {
				out[k] = T(1 / (1 + math.Exp(-float64(v))))
			}
		case model.Tanh:
			for k, v := range in {
				out[k] = T(math.Tanh(float64(v)))
			}
		case model.MaxPool:
			maxPool(&l.pool, in, out, sh.argmax[i])
		case model.AvgPool:
			pl := &l.pool
			for o := range out {
				base, offs := pl.windowOf(o)
				var s T
				for _, off := range offs {
					s += in[base+int(off)]
				}
				out[o] = s * T(pl.inverseWindow)
			}
		case model.Flatten:
			copy(out, in)
		}
	}
	return sh.acts[len(n.layers)]
}

// lossGrad fills d with dLoss/dOutput and returns the loss.
func (n *floatNet[T]) lossGrad(out []T, label int, d []T) float64 {
	if n.net.Loss == model.MSE {
		var l float64
		for i, v := range out {
			t := 0.0
			if i == label {
				t = 1
			}
			diff := float64(v) - t
			d[i] = T(diff)
			l += diff * diff / 2
		}
		return l
	}
	m := float64(out[argmax(out)])
	var sum float64
	for _, v := range out {
		sum += math.Exp(float64(v) - m)
	}
	for i, v := range out {
		p := math.Exp(float64(v)-m) / sum
		if i == label {
			p--
		}
		d[i] = T(p)
	}
	return math.Log(sum) + m - float64(out[label])
}

// backward adds the example's gradients to the shard's accumulators.
func (n *floatNet[T]) backward(sh *fshard[T], d []T) {
	other := sh.dB
	for i := len(n.layers) - 1; i >= n.first; i-- {
		l := &n.layers[i]
		in := sh.acts[i]
		dIn := other[:len(in)]
		switch l.spec.Kind {
		case model.Dense, model.Conv2D:
			pr := &l.prod
			g := sh.grads[i]
			needIn := i > n.first
			if needIn {
				clear(dIn)
			}
			for p := range pr.pixels {
				dc := d
				if pr.pixels > 1 {
					dc = sh.dcol[:pr.cols]
					for c := range dc {
						dc[c] = d[c*pr.pixels+p]
					}
				}
				x := patchOf(pr, in, p, 1, sh.patch)
				for r, xv := range x {
					if xv != 0 {
						n.axpy(xv, dc, g[r*pr.cols:(r+1)*pr.cols])
					}
				}
				if !needIn {
					continue
				}
				for r := range pr.patch {
					v := n.dot(l.m[r*pr.cols:(r+1)*pr.cols], dc)
					if pr.gather == nil {
						dIn[r] = v
					} else if idx := pr.gather[p*pr.patch+r]; idx >= 0 {
						dIn[idx] += v
					}
				}
			}
			if !needIn {
				return
			}
		case model.ReLU:
			for k, dv := range d {
				if in[k] > 0 {
					dIn[k] = dv
				} else {
					dIn[k] = 0
				}
			}
		case model.Sigmoid:
			out := sh.acts[i+1]
			for k, dv := range d {
				dIn[k] = dv * out[k] * (1 - out[k])
			}
		case model.Tanh:
			out := sh.acts[i+1]
			for k, dv := range d {
				dIn[k] = dv * (1 - out[k]*out[k])
			}
		case model.MaxPool:
			clear(dIn)
			for o, dv := range d {
				dIn[sh.argmax[i][o]] += dv
			}
		case model.AvgPool:
			clear(dIn)
			pl := &l.pool
			for o, dv := range d {
				share := dv * T(pl.inverseWindow)
				base, offs := pl.windowOf(o)
				for _, off := range offs {
					dIn[base+int(off)] += share
				}
			}
		case model.Flatten:
			copy(dIn, d)
		}
		d, other = dIn, d[:cap(d)]
	}
}

// trainBatch takes one SGD step on the batch-mean loss. Shards run on their
// own goroutines; each handles every floatShards-th example in order.
func (n *floatNet[T]) trainBatch(examples []int, pixels func(int) []uint8, labels []uint8, results []exampleResult) {
	var wg sync.WaitGroup
	for s, sh := range n.shards {
		wg.Go(func() {
			for i := range n.layers {
				clear(sh.grads[i])
			}
			for k := s; k < len(examples); k += floatShards {
				e := examples[k]
				out := n.forward(sh, pixels(e))
				label := int(labels[e])
				d := sh.dA[:len(out)]
				results[k] = exampleResult{loss: n.lossGrad(out, label, d), correct: argmax(out) == label}
				n.backward(sh, d)
			}
		})
	}
	wg.Wait()
	step := T(n.lr / float64(len(examples)))
	for i := range n.layers {
		l := &n.layers[i]
		if !l.spec.Trainable() {
			continue
		}
		g := n.shards[0].grads[i]
		for _, sh := range n.shards[1:] {
			n.axpy(1, sh.grads[i], g)
		}
		n.axpy(-step, g, l.m)
	}
}

// evaluate runs the forward pass of every example (in parallel shards) and
// writes each result.
func (n *floatNet[T]) evaluate(examples int, pixels func(int) []uint8, labels []uint8, results []exampleResult) {
	var wg sync.WaitGroup
	for s, sh := range n.shards {
		wg.Go(func() {
			for k := s; k < examples; k += floatShards {
				out := n.forward(sh, pixels(k))
				label := int(labels[k])
				results[k] = exampleResult{loss: n.lossGrad(out, label, sh.dA[:len(out)]), correct: argmax(out) == label}
			}
		})
	}
	wg.Wait()
}
