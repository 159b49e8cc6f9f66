package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/panther-xbar/panther/model"
	pb "github.com/panther-xbar/panther/model/onnx/internal/onnxpb"
)

// Tensor is a dense tensor of real values, row-major (the last dimension
// varies fastest), as ONNX stores it.
type Tensor struct {
	Name string
	Dims []int
	Data []float64
}

// Size is the number of values the dimensions call for.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// ReadTensor decodes a serialized ONNX TensorProto, the .pb files of the
// ONNX test data sets.
func ReadTensor(data []byte) (Tensor, error) {
	var tp pb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return Tensor{}, fmt.Errorf("not an ONNX tensor: %w", err)
	}
	return tensor(&tp)
}

// ReadTensorFile reads a serialized ONNX TensorProto from a file.
func ReadTensorFile(path string) (Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Tensor{}, err
	}
	t, err := ReadTensor(b)
	if err != nil {
		return Tensor{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// elementBytes is the raw size of the element types we read.
var elementBytes = map[pb.TensorProto_DataType]int{
	pb.TensorProto_FLOAT: 4, pb.TensorProto_DOUBLE: 8,
	pb.TensorProto_INT64: 8, pb.TensorProto_INT32: 4,
}

// tensor converts a TensorProto, checking that its data matches its
// dimensions; weights and shapes are all we read, so integer and float
// types suffice.
func tensor(tp *pb.TensorProto) (Tensor, error) {
	t := Tensor{Name: tp.GetName()}
	n := 1
	for _, d := range tp.GetDims() {
		if d < 0 || d > model.MaxValues || n*int(d) > model.MaxValues {
			return Tensor{}, fmt.Errorf("tensor %q: dimensions %v hold more than %d values or are negative", t.Name, tp.GetDims(), model.MaxValues)
		}
		n *= int(d)
		t.Dims = append(t.Dims, int(d))
	}
	if tp.GetDataLocation() == pb.TensorProto_EXTERNAL {
		return Tensor{}, fmt.Errorf("tensor %q keeps its data in an external file, which is not supported: save the model with its weights inside", t.Name)
	}
	typ := pb.TensorProto_DataType(tp.GetDataType())
	size, ok := elementBytes[typ]
	if !ok {
		return Tensor{}, fmt.Errorf("tensor %q has element type %s: only float, double, int32 and int64 are supported", t.Name, typ)
	}
	// Sizes are checked before anything is allocated: the dimensions alone
	// may ask for far more than the file holds.
	if raw := tp.GetRawData(); len(raw) > 0 {
		if len(raw) != n*size {
			return Tensor{}, fmt.Errorf("tensor %q: %d bytes of raw data for dimensions %v of %s; want %d", t.Name, len(raw), t.Dims, typ, n*size)
		}
		t.Data = make([]float64, 0, n)
		for i := 0; i < len(raw); i += size {
			b := raw[i : i+size]
			switch typ {
			case pb.TensorProto_FLOAT:
				t.Data = append(t.Data, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
			case pb.TensorProto_DOUBLE:
				t.Data = append(t.Data, math.Float64frombits(binary.LittleEndian.Uint64(b)))
			case pb.TensorProto_INT32:
				t.Data = append(t.Data, float64(int32(binary.LittleEndian.Uint32(b))))
			case pb.TensorProto_INT64:
				t.Data = append(t.Data, float64(int64(binary.LittleEndian.Uint64(b))))
			}
		}
	} else {
		have := map[pb.TensorProto_DataType]int{pb.TensorProto_FLOAT: len(tp.GetFloatData()), pb.TensorProto_DOUBLE: len(tp.GetDoubleData()),
			pb.TensorProto_INT32: len(tp.GetInt32Data()), pb.TensorProto_INT64: len(tp.GetInt64Data())}[typ]
		if have != n {
			return Tensor{}, fmt.Errorf("tensor %q: %d values for dimensions %v; want %d", t.Name, have, t.Dims, n)
		}
		t.Data = make([]float64, 0, n)
		switch typ {
		case pb.TensorProto_FLOAT:
			for _, v := range tp.GetFloatData() {
				t.Data = append(t.Data, float64(v))
			}
		case pb.TensorProto_DOUBLE:
			t.Data = append(t.Data, tp.GetDoubleData()...)
		case pb.TensorProto_INT32:
			for _, v := range tp.GetInt32Data() {
				t.Data = append(t.Data, float64(v))
			}
		case pb.TensorProto_INT64:
			for _, v := range tp.GetInt64Data() {
				t.Data = append(t.Data, float64(v))
			}
		}
	}
	for i, v := range t.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Tensor{}, fmt.Errorf("tensor %q: value %d is %v; weights must be finite", t.Name, i, v)
		}
	}
	return t, nil
}
