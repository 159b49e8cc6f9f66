package onnx

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/panther-xbar/panther/model/onnx/internal/onnxpb"
)

// FuzzReadTensor: ReadTensor never panics or allocates beyond its input;
// what it accepts holds exactly the values its dimensions call for, all
// finite.
func FuzzReadTensor(f *testing.F) {
	for _, tp := range []*pb.TensorProto{
		{Name: proto.String("raw"), Dims: []int64{2}, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), RawData: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}},
		{Name: proto.String("floats"), Dims: []int64{1, 3}, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: []float32{1, 2, 3}},
		{Name: proto.String("shape"), Dims: []int64{2}, DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: []int64{1, -1}},
		{Name: proto.String("doubles"), Dims: []int64{1}, DataType: proto.Int32(int32(pb.TensorProto_DOUBLE)), DoubleData: []float64{0.5}},
		{Name: proto.String("huge"), Dims: []int64{1 << 40, 1 << 40}, DataType: proto.Int32(int32(pb.TensorProto_FLOAT))},
	} {
		b, err := proto.Marshal(tp)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tn, err := ReadTensor(data)
		if err != nil {
			return
		}
		if len(tn.Data) != tn.Size() {
			t.Fatalf("%d values for dimensions %v", len(tn.Data), tn.Dims)
		}
		for i, v := range tn.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("value %d is %v", i, v)
			}
		}
	})
}
