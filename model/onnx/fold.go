package onnx

import (
	"fmt"
	"math"
	"slices"

	pb "github.com/panther-xbar/panther/model/onnx/internal/onnxpb"
)

// Nodes whose inputs are all constants are evaluated at load: weights that
// arrive transposed, and the small integer tensors from which exporters
// compute shapes and paddings (PyTorch computes F.pad's amounts from
// opset 11 on with ConstantOfShape, Concat, Reshape, Slice, Transpose and
// Cast).

// foldable lists the operators evaluated on constants, for messages.
const foldable = "Constant, Identity, Transpose, Gather, Unsqueeze, Concat, ConstantOfShape, Reshape, Slice and Cast"

// maxFolded bounds the values a node on constants may make: shape
// arithmetic needs a handful, and a malformed file must not ask for more.
const maxFolded = 1 << 12

// fold evaluates a node whose inputs are all constants.
func (c *converter) fold(where string, n *pb.NodeProto) error {
	op := n.GetOpType()
	var t Tensor
	var err error
	if op == "Constant" {
		t, err = constant(where, n)
	} else {
		ins := make([]Tensor, len(n.GetInput()))
		for k := range ins {
			if ins[k], err = c.weight(where, n, k, fmt.Sprintf("input %d", k)); err != nil {
				return err
			}
		}
		if len(ins) == 0 {
			return fmt.Errorf("%s has no inputs", where)
		}
		if len(ins) != 1 && slices.Contains([]string{"Identity", "Transpose", "ConstantOfShape", "Cast"}, op) {
			return fmt.Errorf("%s has %d inputs; want 1", where, len(ins))
		}
		switch op {
		case "Identity":
			t = ins[0]
		case "Transpose":
			t, err = transpose(where, n, ins[0])
		case "Gather":
			t, err = gather(where, n, ins)
		case "Unsqueeze":
			t, err = c.unsqueeze(where, n, ins)
		case "Concat":
			t, err = concat(where, ins)
		case "ConstantOfShape":
			t, err = constantOfShape(where, n, ins[0])
		case "Reshape":
			t, err = reshapeConst(where, ins)
		case "Slice":
			t, err = c.slice(where, n, ins)
		case "Cast":
			t, err = cast(where, n, ins[0])
		default:
			return fmt.Errorf("%s: operator %s on constants is not supported (only %s are folded)", where, op, foldable)
		}
	}
	if err != nil {
		return err
	}
	t.Name = n.GetOutput()[0]
	c.consts[t.Name] = t
	return nil
}

// constant reads a Constant node's value: a tensor, or (opset 12 on) one
// or more integers or floats.
func constant(where string, n *pb.NodeProto) (Tensor, error) {
	if len(n.GetAttribute()) != 1 {
		return Tensor{}, fmt.Errorf("%s: a Constant has exactly one value attribute, this one %d", where, len(n.GetAttribute()))
	}
	a := n.GetAttribute()[0]
	var t Tensor
	switch a.GetName() {
	case "value":
		var err error
		if t, err = tensor(a.GetT()); err != nil {
			return Tensor{}, fmt.Errorf("%s: %w", where, err)
		}
	case "value_int":
		t.Data = []float64{float64(a.GetI())}
	case "value_float":
		t.Data = []float64{float64(a.GetF())}
	case "value_ints":
		for _, v := range a.GetInts() {
			t.Data = append(t.Data, float64(v))
		}
		t.Dims = []int{len(t.Data)}
	case "value_floats":
		for _, v := range a.GetFloats() {
			t.Data = append(t.Data, float64(v))
		}
		t.Dims = []int{len(t.Data)}
	default:
		return Tensor{}, fmt.Errorf("%s: Constant attribute %q is not supported (value, value_int(s), value_float(s) are)", where, a.GetName())
	}
	for _, v := range t.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Tensor{}, fmt.Errorf("%s: the constant holds %v; values must be finite", where, v)
		}
	}
	return t, nil
}

// strides gives the row-major strides of dims.
func strides(dims []int) []int {
	s := make([]int, len(dims))
	k := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = k
		k *= dims[i]
	}
	return s
}

// remap builds a tensor of dims whose value at each index (row-major) is
// t's value at flat position src(index).
func remap(t Tensor, dims []int, src func(idx []int) int) Tensor {
	out := Tensor{Dims: dims}
	size := Tensor{Dims: dims}.Size()
	idx := make([]int, len(dims))
	for range size {
		out.Data = append(out.Data, t.Data[src(idx)])
		for a := len(idx) - 1; a >= 0; a-- { // the next index, last axis fastest
			if idx[a]++; idx[a] < dims[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out
}

// transpose permutes the axes (by default reverses them).
func transpose(where string, n *pb.NodeProto, t Tensor) (Tensor, error) {
	r := len(t.Dims)
	perm := ints(n, "perm")
	if perm == nil {
		for a := r - 1; a >= 0; a-- {
			perm = append(perm, int64(a))
		}
	}
	seen := make([]bool, r)
	if len(perm) != r {
		return Tensor{}, fmt.Errorf("%s: perm %v is not a permutation of the %d axes of %q", where, perm, r, t.Name)
	}
	for _, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			return Tensor{}, fmt.Errorf("%s: perm %v is not a permutation of the %d axes of %q", where, perm, r, t.Name)
		}
		seen[p] = true
	}
	dims := make([]int, r)
	for a, p := range perm {
		dims[a] = t.Dims[p]
	}
	st := strides(t.Dims)
	return remap(t, dims, func(idx []int) int {
		k := 0
		for a, p := range perm {
			k += idx[a] * st[p]
		}
		return k
	}), nil
}

// gather takes the values of a vector at the indices, shaped as the
// indices are.
func gather(where string, n *pb.NodeProto, ins []Tensor) (Tensor, error) {
	if len(ins) != 2 || len(ins[0].Dims) != 1 || intAttr(n, "axis", 0) != 0 {
		return Tensor{}, fmt.Errorf("%s: only Gather of a 1-D constant along axis 0 is supported", where)
	}
	data, idx := ins[0], ins[1]
	out := Tensor{Dims: idx.Dims}
	for _, i := range idx.Data {
		k := int(i)
		if k < 0 {
			k += len(data.Data)
		}
		if k < 0 || k >= len(data.Data) || float64(int(i)) != i {
			return Tensor{}, fmt.Errorf("%s: index %v is outside the %d values of %q", where, i, len(data.Data), data.Name)
		}
		out.Data = append(out.Data, data.Data[k])
	}
	return out, nil
}

// unsqueeze inserts axes of size one (given by an attribute before opset
// 13, by input 1 from it on); the values keep their order.
func (c *converter) unsqueeze(where string, n *pb.NodeProto, ins []Tensor) (Tensor, error) {
	axes := ints(n, "axes")
	if c.opset >= 13 {
		if len(ins) != 2 {
			return Tensor{}, fmt.Errorf("%s: opset %d takes the axes as input 1", where, c.opset)
		}
		axes = nil
		for _, v := range ins[1].Data {
			axes = append(axes, int64(v))
		}
	}
	rank := int64(len(ins[0].Dims) + len(axes))
	dims := make([]int, rank)
	for _, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank || dims[a] != 0 {
			return Tensor{}, fmt.Errorf("%s: axes %v do not fit a result of rank %d", where, axes, rank)
		}
		dims[a] = 1
	}
	k := 0
	for i := range dims {
		if dims[i] == 0 {
			dims[i] = ins[0].Dims[k]
			k++
		}
	}
	return Tensor{Dims: dims, Data: ins[0].Data}, nil
}

// concat joins vectors.
func concat(where string, ins []Tensor) (Tensor, error) {
	out := Tensor{Dims: []int{0}}
	for _, t := range ins {
		if len(t.Dims) != 1 {
			return Tensor{}, fmt.Errorf("%s: only Concat of 1-D constants is supported; %q has dimensions %v", where, t.Name, t.Dims)
		}
		out.Data = append(out.Data, t.Data...)
	}
	out.Dims[0] = len(out.Data)
	return out, nil
}

// foldedDims reads a shape tensor of a folded result, bounding its size.
func foldedDims(where string, t Tensor) ([]int, error) {
	dims := make([]int, len(t.Data))
	size := 1
	for i, v := range t.Data {
		if v < 0 || v > maxFolded || v != math.Trunc(v) {
			return nil, fmt.Errorf("%s: shape %v: want whole sizes making at most %d values", where, t.Data, maxFolded)
		}
		dims[i] = int(v)
		if size *= dims[i]; size > maxFolded {
			return nil, fmt.Errorf("%s: shape %v makes more than %d values: only small shape arithmetic is folded", where, t.Data, maxFolded)
		}
	}
	return dims, nil
}

// constantOfShape fills a tensor of the given shape with one value (0 by
// default).
func constantOfShape(where string, n *pb.NodeProto, shape Tensor) (Tensor, error) {
	dims, err := foldedDims(where, shape)
	if err != nil {
		return Tensor{}, err
	}
	v := 0.0
	if a := attr(n, "value"); a != nil {
		t, err := tensor(a.GetT())
		if err != nil || len(t.Data) != 1 {
			return Tensor{}, fmt.Errorf("%s: value must be a tensor of one element", where)
		}
		v = t.Data[0]
	}
	out := Tensor{Dims: dims}
	out.Data = slices.Repeat([]float64{v}, out.Size())
	return out, nil
}

// reshapeConst gives a constant new dimensions: 0 keeps the input's, one
// -1 takes what is left.
func reshapeConst(where string, ins []Tensor) (Tensor, error) {
	if len(ins) != 2 {
		return Tensor{}, fmt.Errorf("%s: Reshape takes data and shape", where)
	}
	t, shape := ins[0], ins[1]
	dims := make([]int, len(shape.Data))
	infer, known := -1, 1
	for i, v := range shape.Data {
		switch {
		case v == 0 && i < len(t.Dims):
			dims[i] = t.Dims[i]
		case v == -1 && infer < 0:
			infer = i
			continue
		case v >= 1 && v <= maxFolded && v == math.Trunc(v):
			dims[i] = int(v)
		default:
			return Tensor{}, fmt.Errorf("%s: shape %v does not fit %q of dimensions %v", where, shape.Data, t.Name, t.Dims)
		}
		known *= dims[i]
		if known > maxFolded {
			return Tensor{}, fmt.Errorf("%s: shape %v makes more than %d values", where, shape.Data, maxFolded)
		}
	}
	if infer >= 0 && known > 0 && len(t.Data)%known == 0 {
		dims[infer] = len(t.Data) / known
		known *= dims[infer]
	}
	if known != len(t.Data) {
		return Tensor{}, fmt.Errorf("%s: shape %v does not fit the %d values of %q", where, shape.Data, len(t.Data), t.Name)
	}
	return Tensor{Dims: dims, Data: t.Data}, nil
}

// slice takes starts[i]:ends[i]:steps[i] along axes[i] (inputs from opset
// 10 on, attributes before; axes default to the first ones, steps to 1).
func (c *converter) slice(where string, n *pb.NodeProto, ins []Tensor) (Tensor, error) {
	t := ins[0]
	r := len(t.Dims)
	var starts, ends, axes, steps []int64
	if c.opset >= 10 {
		if len(ins) < 3 {
			return Tensor{}, fmt.Errorf("%s: opset %d takes starts and ends as inputs", where, c.opset)
		}
		vals := make([][]int64, 4)
		for k := 1; k < len(ins) && k <= 4; k++ {
			for _, v := range ins[k].Data {
				vals[k-1] = append(vals[k-1], int64(max(min(v, math.MaxInt32), math.MinInt32)))
			}
		}
		starts, ends, axes, steps = vals[0], vals[1], vals[2], vals[3]
	} else {
		starts, ends, axes = ints(n, "starts"), ints(n, "ends"), ints(n, "axes")
	}
	if axes == nil {
		for a := range starts {
			axes = append(axes, int64(a))
		}
	}
	if steps == nil {
		steps = slices.Repeat([]int64{1}, len(starts))
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return Tensor{}, fmt.Errorf("%s: starts, ends, axes and steps differ in length", where)
	}
	// Per axis: first index, step, count.
	first, step, dims := make([]int, r), slices.Repeat([]int{1}, r), slices.Clone(t.Dims)
	for i, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a >= int64(r) || steps[i] == 0 {
			return Tensor{}, fmt.Errorf("%s: axis %d or step %d does not fit %q of rank %d", where, axes[i], steps[i], t.Name, r)
		}
		d, s := int64(t.Dims[a]), steps[i]
		clamp := func(v int64, lo, hi int64) int64 {
			if v < 0 {
				v += d
			}
			return min(max(v, lo), hi)
		}
		var b, e int64
		if s > 0 {
			b, e = clamp(starts[i], 0, d), clamp(ends[i], 0, d)
			dims[a] = int(max(0, (e-b+s-1)/s))
		} else {
			b, e = clamp(starts[i], 0, d-1), clamp(ends[i], -1, d-1)
			dims[a] = int(max(0, (b-e-s-1)/-s))
		}
		first[a], step[a] = int(b), int(s)
	}
	st := strides(t.Dims)
	return remap(t, dims, func(idx []int) int {
		k := 0
		for a, i := range idx {
			k += (first[a] + i*step[a]) * st[a]
		}
		return k
	}), nil
}

// cast converts to another element type: integers truncate toward zero,
// float rounds to float32, bool is 0 or 1.
func cast(where string, n *pb.NodeProto, t Tensor) (Tensor, error) {
	to := pb.TensorProto_DataType(intAttr(n, "to", 0))
	out := Tensor{Dims: t.Dims, Data: make([]float64, len(t.Data))}
	for i, v := range t.Data {
		switch to {
		case pb.TensorProto_INT8, pb.TensorProto_INT16, pb.TensorProto_INT32, pb.TensorProto_INT64,
			pb.TensorProto_UINT8, pb.TensorProto_UINT16, pb.TensorProto_UINT32, pb.TensorProto_UINT64:
			out.Data[i] = math.Trunc(v)
		case pb.TensorProto_FLOAT:
			out.Data[i] = float64(float32(v))
		case pb.TensorProto_DOUBLE:
			out.Data[i] = v
		case pb.TensorProto_BOOL:
			if v != 0 {
				out.Data[i] = 1
			}
		default:
			return Tensor{}, fmt.Errorf("%s: Cast to %s is not supported", where, to)
		}
	}
	return out, nil
}
