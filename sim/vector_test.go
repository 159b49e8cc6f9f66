package sim

import (
	"slices"
	"testing"

	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/rng"
)

// testdata/vector.s against package alu called directly.
func TestVectorOperationsMatchALU(t *testing.T) {
	a := preset(t, "panther")
	src := rng.New(3)
	av, bv := codes(src, 64, 1<<15), codes(src, 64, 1<<14)
	av[0], av[1], bv[2], bv[3] = 0, -300, 0, 0 // zeros: log of 0, division by 0, relud at 0
	p := assemble(t, a, "vector.s")
	addData(t, p, 0, 0, slices.Concat(av, bv))
	const seed = 9
	s, r := simulate(t, a, p, Options{Seed: seed})
	k := s.coreOf(t, 0, 0)

	rand := coreStream(seed, a.ISA(), 0, 0)
	events := 0
	want := func(op alu.Op, b []int16) []int16 {
		out := make([]int16, 64)
		n, err := alu.Apply(op, out, av, b, rand)
		if err != nil {
			t.Fatal(err)
		}
		events += n
		return out
	}
	fill := func(v int16) []int16 {
		out := make([]int16, 64)
		for i := range out {
			out[i] = v
		}
		return out
	}
	relud := make([]int16, 64)
	for i := range relud {
		if bv[i] > 0 {
			relud[i] = av[i]
		}
	}
	ops := []struct {
		name string
		reg  int
		want []int16
	}{
		{"add", 200, want(alu.OpAdd, bv)}, {"sub", 264, want(alu.OpSub, bv)}, {"mul", 328, want(alu.OpMul, bv)},
		{"div", 392, want(alu.OpDiv, bv)}, {"and", 456, want(alu.OpAnd, bv)}, {"or", 520, want(alu.OpOr, bv)},
		{"not", 584, want(alu.OpNot, nil)}, {"eq", 648, want(alu.OpEq, bv)}, {"neq", 712, want(alu.OpNeq, bv)},
		{"lt", 776, want(alu.OpLt, bv)}, {"leq", 840, want(alu.OpLeq, bv)}, {"gt", 904, want(alu.OpGt, bv)},
		{"geq", 968, want(alu.OpGeq, bv)}, {"min", 1032, want(alu.OpMin, bv)}, {"max", 1096, want(alu.OpMax, bv)},
		{"sig", 1160, want(alu.OpSig, nil)}, {"tanh", 1224, want(alu.OpTanh, nil)}, {"exp", 1288, want(alu.OpExp, nil)},
		{"log", 1352, want(alu.OpLog, nil)}, {"relu", 1416, want(alu.OpRelu, nil)}, {"relud", 1480, relud},
		{"log_softmax", 1544, want(alu.OpLogSoftmax, nil)}, {"log_softmax_d", 1608, want(alu.OpLogSoftmaxD, bv)},
		{"rand_cmp", 1672, want(alu.OpRandCmp, nil)},
		{"alui mul", 1736, want(alu.OpMul, fill(-1234))}, {"alui max", 1800, want(alu.OpMax, fill(100))},
	}
	for _, op := range ops {
		if got := k.data(op.reg, 64); !slices.Equal(got, op.want) {
			t.Errorf("%s: got %v\nwant %v", op.name, got[:8], op.want[:8])
		}
	}
	// An overlapping result reads its operands first: r1865+i = a[i] + b[i].
	overlap := make([]int16, 63)
	for i := range overlap {
		var sat bool
		if overlap[i], sat = alu.Add(av[i], bv[i]); sat {
			events++
		}
	}
	if got := k.data(1865, 63); !slices.Equal(got, overlap) {
		t.Errorf("overlapping add: got %v, want %v", got[:4], overlap[:4])
	}
	if got := k.data(1928, 64); !slices.Equal(got, bv) {
		t.Errorf("overlapping copy: got %v, want %v", got[:4], bv[:4])
	}
	if r.Numeric.VectorSat != int64(events) || events == 0 {
		t.Errorf("%d vector saturations counted, alu counts %d", r.Numeric.VectorSat, events)
	}
}
