package train

import (
	"fmt"

	"github.com/panther-xbar/panther/model"
)

// product describes a trainable layer as a sequence of products on one cell
// matrix, one per output pixel (a dense layer has one pixel): the patch of
// pixel p is gathered from the layer's input, multiplied, and the result is
// the layer's output at p for every column (output channel).
type product struct {
	rows, cols int // the rows multiplied, bias row included where it is one
	bias       bool
	patch      int // rows without the bias row
	pixels     int
	// gather[p*patch + r] is the input index of patch row r at pixel p, or
	// -1 for padding; nil for a dense layer, whose patch is its input.
	gather []int32
}

// newProduct makes the products of layer l; biasRow says whether its bias
// is a row of the product (with input one) or, where the layer has one but
// biasRow is false, is added outside it.
func newProduct(l model.Layer, biasRow bool) product {
	p := product{rows: l.FanIn() + b2i(biasRow), cols: l.CellCols(), bias: biasRow, patch: l.FanIn(), pixels: 1}
	if l.Kind != model.Conv2D {
		return p
	}
	c, h, w := l.InShape[0], l.InShape[1], l.InShape[2]
	oh, ow := l.OutShape[1], l.OutShape[2]
	k := l.Kernel
	p.pixels = oh * ow
	p.gather = make([]int32, p.pixels*p.patch)
	for y := range oh {
		for x := range ow {
			g := p.gather[(y*ow+x)*p.patch:]
			for ch := range c {
				for i := range k {
					for j := range k {
						iy, ix := y*l.Stride+i-l.Padding, x*l.Stride+j-l.Padding
						idx := int32(-1)
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							idx = int32((ch*h+iy)*w + ix)
						}
						g[(ch*k+i)*k+j] = idx // the unrolled row order of model.Layer
					}
				}
			}
		}
	}
	return p
}

// patchOf writes pixel p's patch of in into dst (rows long), with the bias
// input one in the last row, and returns dst.
func patchOf[T any](pr *product, in []T, p int, one T, dst []T) []T {
	dst = dst[:pr.rows]
	if pr.gather == nil {
		copy(dst, in)
	} else {
		var zero T
		for r, idx := range pr.gather[p*pr.patch : (p+1)*pr.patch] {
			if idx < 0 {
				dst[r] = zero
			} else {
				dst[r] = in[idx]
			}
		}
	}
	if pr.bias {
		dst[pr.patch] = one
	}
	return dst
}

// pooling describes a max or average pooling layer.
type pooling struct {
	inPlane       int // H*W of the input
	outPlane      int // positions per channel in the output
	window        int // k*k, the divisor of a mean (padding counts)
	inverseWindow float64
	// offsets[starts[q]:starts[q+1]] are the input offsets within a channel
	// of window q's values; padding positions are left out (they add zero).
	offsets []int32
	starts  []int32
}

func newPooling(l model.Layer) pooling {
	h, w := l.InShape[1], l.InShape[2]
	oh, ow := l.OutShape[1], l.OutShape[2]
	k := l.Kernel
	pl := pooling{inPlane: h * w, outPlane: oh * ow, window: k * k, inverseWindow: 1 / float64(k*k)}
	pl.offsets = make([]int32, 0, pl.outPlane*pl.window)
	pl.starts = make([]int32, 0, pl.outPlane+1)
	for y := range oh {
		for x := range ow {
			pl.starts = append(pl.starts, int32(len(pl.offsets)))
			for i := range k {
				for j := range k {
					iy, ix := y*l.Stride+i-l.Padding, x*l.Stride+j-l.Padding
					if iy >= 0 && iy < h && ix >= 0 && ix < w {
						pl.offsets = append(pl.offsets, int32(iy*w+ix))
					}
				}
			}
		}
	}
	pl.starts = append(pl.starts, int32(len(pl.offsets)))
	return pl
}

// windowOf returns the input indices of output element o's window.
func (pl *pooling) windowOf(o int) (base int, offsets []int32) {
	c, q := o/pl.outPlane, o%pl.outPlane
	return c * pl.inPlane, pl.offsets[pl.starts[q]:pl.starts[q+1]]
}

// maxPool writes each window's largest input (the first on ties) and the
// input index it came from.
func maxPool[T int16 | float32 | float64](pl *pooling, in, out []T, chosen []int32) {
	for o := range out {
		base, offs := pl.windowOf(o)
		best := base + int(offs[0])
		for _, off := range offs[1:] {
			if in[base+int(off)] > in[best] {
				best = base + int(off)
			}
		}
		out[o], chosen[o] = in[best], int32(best)
	}
}

// checkFits reports whether a dataset's examples fit the network.
func checkFits(net *model.Network, exampleSize, classes int) error {
	if in := net.Input.Size(); in != exampleSize {
		return fmt.Errorf("model %s reads %d values (input %s), but the dataset's examples hold %d: change the model's input", net.Name, in, net.Input, exampleSize)
	}
	if out := net.Output().Size(); out != classes {
		return fmt.Errorf("model %s gives %d outputs, but the dataset has %d classes: make the last layer dense with out: %d", net.Name, out, classes, classes)
	}
	return nil
}
