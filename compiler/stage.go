package compiler

import (
	"fmt"

	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/xbar"
)

// This file is the graph IR: the network as a chain of stages. A stage is
// one map-to-map step that runs on its own cores: a matrix product on
// crossbars (dense or convolution) or a pooling, each with the activation
// layers after it fused in, or, at the start of a network, activations
// alone. Flatten disappears: a dense layer after it reads the whole map as
// one window.

type stageKind uint8

const (
	stMatrix stageKind = iota // dense or conv2d on crossbars
	stPool                    // max or average pooling on the vector unit
	stVector                  // activations only
)

func (k stageKind) String() string { return [...]string{"matrix", "pool", "vector"}[k] }

// mapShape is a per-example tensor: C channels over H x W pixels, stored
// pixel-major (HWC) in shared memory. A vector of n values is n x 1 x 1.
type mapShape struct{ C, H, W int }

func (m mapShape) pixels() int { return m.H * m.W }
func (m mapShape) size() int   { return m.C * m.H * m.W }

func shapeOf(s model.Shape) mapShape {
	if len(s) == 3 {
		return mapShape{s[0], s[1], s[2]}
	}
	return mapShape{s.Size(), 1, 1}
}

// window is how a stage reads its input: kh x kw windows with strides and
// zero padding. Its rows, in model order, are (c*kh + i)*kw + j.
type window struct{ kh, kw, sh, sw, ph, pw int }

func (w window) offsets() int { return w.kh * w.kw }

// stage is one step of the chain.
type stage struct {
	idx   int
	kind  stageKind
	layer int // index of the matrix or pool layer in the network; -1 for vector stages
	spec  model.Layer
	acts  []model.Kind // activation layers after it, in order
	in    mapShape
	out   mapShape
	win   window
	fr    frame // how the input map is read (see frame.go)

	// Matrix stages: the cell matrix M in codes (rows in model order, bias
	// last) and its crossbar tiles. bias says whether the bias is a row of
	// the crossbars; vecBias is a bias the leads add instead, or nil
	// (model.Layer.BiasOnCrossbar decides).
	m          []int16
	rows, cols int
	bias       bool
	vecBias    []int16
	rowB, colB []int // tile boundaries, one more than tiles

	// train: the stage's output error is needed (it trains, or a stage
	// after it does); backIn: it passes an error to its input.
	train, backIn bool
	// groups split the output channels between the cores that finish them;
	// inGroups are the groups of the input map.
	groups   []*group
	inGroups []*group
}

func (s *stage) rowTiles() int { return len(s.rowB) - 1 }
func (s *stage) colTiles() int { return len(s.colB) - 1 }

func (s *stage) name() string {
	if s.layer < 0 {
		return fmt.Sprintf("stage %d (activation)", s.idx)
	}
	if s.spec.Source != "" {
		return fmt.Sprintf("layer %d (%s at %s)", s.layer+1, s.spec.Kind, s.spec.Source)
	}
	return fmt.Sprintf("layer %d (%s)", s.layer+1, s.spec.Kind)
}

// buildStages turns the layers into stages. weights are the cell matrices
// (real values) of the trainable layers; bias places their biases.
func buildStages(net *model.Network, weights [][]float64, size int, bias model.BiasPlacement, training bool) ([]*stage, error) {
	var stages []*stage
	cur := shapeOf(net.Input)
	flat := false
	for i, l := range net.Layers {
		switch l.Kind {
		case model.ReLU, model.Sigmoid, model.Tanh:
			if len(stages) == 0 {
				stages = append(stages, &stage{kind: stVector, layer: -1, in: cur, out: cur, win: window{1, 1, 1, 1, 0, 0}})
			}
			s := stages[len(stages)-1]
			s.acts = append(s.acts, l.Kind)
		case model.Flatten:
			flat = len(l.InShape) == 3
		case model.Dense, model.Conv2D:
			s := &stage{kind: stMatrix, layer: i, spec: l, in: cur, out: shapeOf(l.OutShape), bias: l.BiasOnCrossbar(size, bias)}
			switch {
			case l.Kind == model.Conv2D:
				s.win = window{l.Kernel, l.Kernel, l.Stride, l.Stride, l.Padding, l.Padding}
			case flat:
				s.win = window{cur.H, cur.W, cur.H, cur.W, 0, 0}
			default:
				s.in = mapShape{cur.size(), 1, 1}
				s.win = window{1, 1, 1, 1, 0, 0}
			}
			s.rows, s.cols = l.CellRows(), l.CellCols()
			if s.rows != s.in.C*s.win.offsets()+boolInt(l.Bias) {
				return nil, fmt.Errorf("%s: cell matrix of %d rows does not match its %dx%d window over %d channels", s.name(), s.rows, s.win.kh, s.win.kw, s.in.C)
			}
			if i >= len(weights) || len(weights[i]) != s.rows*s.cols {
				return nil, fmt.Errorf("%s: weights hold %d values; its cell matrix %dx%d needs %d", s.name(), lenOf(weights, i), s.rows, s.cols, s.rows*s.cols)
			}
			var sat int
			s.m, sat = codes(weights[i])
			if sat > 0 {
				return nil, fmt.Errorf("%s: %d weights lie outside Q4.12's range [-8, 8)", s.name(), sat)
			}
			if l.Bias && !s.bias {
				s.vecBias = s.m[l.FanIn()*s.cols:]
			}
			s.rowB, s.colB = xbar.TileBounds(l.CrossbarRows(size, bias), size), xbar.TileBounds(s.cols, size)
			stages = append(stages, s)
			flat = false
		case model.MaxPool, model.AvgPool:
			s := &stage{kind: stPool, layer: i, spec: l, in: cur, out: shapeOf(l.OutShape),
				win: window{l.Kernel, l.Kernel, l.Stride, l.Stride, l.Padding, l.Padding}}
			if l.Kind == model.AvgPool && l.Kernel*l.Kernel > maxAvgWindow {
				return nil, fmt.Errorf("%s: an average over %d values: the vector unit forms round(sum/n) exactly as the trainer does only for n <= %d (div by n x 4096 must fit 16 bits)", s.name(), l.Kernel*l.Kernel, maxAvgWindow)
			}
			stages = append(stages, s)
		default:
			return nil, fmt.Errorf("layer %d: kind %q is not supported by the compiler", i+1, l.Kind)
		}
		if len(l.OutShape) > 0 && l.Kind != model.Flatten {
			cur = shapeOf(l.OutShape)
		}
	}
	if len(stages) == 0 {
		stages = append(stages, &stage{kind: stVector, layer: -1, in: cur, out: cur, win: window{1, 1, 1, 1, 0, 0}})
	}
	first := -1
	for k, s := range stages {
		s.idx = k
		s.fr = newFrame(s.in, s.win)
		if s.kind == stMatrix && first < 0 {
			first = k
		}
		if training {
			s.train = first >= 0
			s.backIn = first >= 0 && k > first
		}
	}
	if training && first < 0 {
		return nil, fmt.Errorf("model %s has no dense or conv2d layer: nothing to train", net.Name)
	}
	return stages, nil
}

// maxAvgWindow is the largest average-pooling window: alui div by n x 4096
// rounds like the trainer's exact mean only while n x 4096 fits in 16 bits.
const maxAvgWindow = 7

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func lenOf(w [][]float64, i int) int {
	if i < len(w) {
		return len(w[i])
	}
	return 0
}

// rowPos decodes a model row of a window into channel and offset.
func (w window) rowPos(r int) (c, i, j int) {
	k := w.offsets()
	return r / k, (r % k) / w.kw, r % w.kw
}
