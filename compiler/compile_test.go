package compiler

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/xbar"
)

func compileCNN(t *testing.T) (*Result, isa.Arch) {
	t.Helper()
	net := yamlNet(t, cnnYAML)
	_, a := testArch(t, 32, 2, 8192)
	cfg := DefaultConfig()
	cfg.Batch, cfg.Examples = 2, 3
	res, err := Compile(Model{Net: net}, a, Options{Train: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return res, a
}

// TestDeterministic: the same input gives the same program bytes.
func TestDeterministic(t *testing.T) {
	var first []byte
	for range 3 {
		res, _ := compileCNN(t)
		b, err := program.Encode(res.Program)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatal("two compilations of the same model differ")
		}
	}
}

// TestAsmRoundTrip: the annotated assembly assembles back into the
// program's code.
func TestAsmRoundTrip(t *testing.T) {
	res, a := compileCNN(t)
	var src bytes.Buffer
	if err := res.WriteAsm(&src); err != nil {
		t.Fatal(err)
	}
	code, err := isa.Assemble(a, "cnn.s", src.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(code, res.Program.Code) {
		t.Fatal("the assembly does not assemble back into the program")
	}
	if !strings.Contains(src.String(), "# 0: ") {
		t.Error("the assembly carries no notes")
	}
}

// TestReport checks the report against the program it describes.
func TestReport(t *testing.T) {
	res, _ := compileCNN(t)
	r := res.Report
	insts, cores := 0, 0
	for _, tc := range res.Program.Code.Tiles {
		for _, c := range tc.Cores {
			insts += len(c.Insts)
			cores++
		}
	}
	if r.Mode != "training" || r.Variant != "accumulate" || r.Examples != 3 {
		t.Errorf("mode %q variant %q examples %d", r.Mode, r.Variant, r.Examples)
	}
	// A batch of 2: both its examples overlap.
	if r.InFlight != 2 || r.InFlightLimit != "every example between two carry resolutions" {
		t.Errorf("%d examples in flight (%s), want 2 (the batch)", r.InFlight, r.InFlightLimit)
	}
	if r.MatrixUnits != len(res.Program.Weights) || r.Cores != cores || r.CoreInstructions != insts || r.Tiles != len(res.Program.Code.Tiles) || r.Nodes != 1 {
		t.Errorf("report %+v does not match the program (%d units, %d cores, %d instructions)", r, len(res.Program.Weights), cores, insts)
	}
	units := 0
	for _, l := range r.Layers {
		units += l.MatrixUnits
	}
	if units != r.MatrixUnits || len(r.Layers) != 4 {
		t.Errorf("layers %+v hold %d units of %d", r.Layers, units, r.MatrixUnits)
	}
	// With 32 x 32 crossbars and two cores a tile, the layers talk across
	// tiles; every core loads and stores.
	if tr := r.Traffic; tr.NetworkWords == 0 || tr.NetworkMessages == 0 || tr.SharedLoadWords == 0 || tr.SharedStoreWords == 0 {
		t.Errorf("traffic %+v", tr)
	}
	if u := r.Utilisation; u.Cells <= 0 || u.Cells > 1 || u.CoreSlots <= 0 || u.CoreSlots > 1 || u.UnitSlots <= 0 || u.UnitSlots > 1 {
		t.Errorf("utilisation %+v", u)
	}
	most := 0
	for _, c := range r.CoresDetail {
		most = max(most, c.DataWords)
		if c.DataWords <= 0 {
			t.Errorf("core %d of tile %d uses no data memory", c.Core, c.Tile)
		}
	}
	if most != r.MaxDataWords || most > res.Program.Arch.RegisterWords {
		t.Errorf("fullest core data memory %d, the cores' largest %d, the core has %d", r.MaxDataWords, most, res.Program.Arch.RegisterWords)
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), "occupies") || !strings.Contains(text.String(), "2 example(s) at once (every example between") {
		t.Errorf("text report: %v\n%s", err, text.String())
	}
	if err := r.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"matrix_units"`) {
		t.Errorf("JSON report: %v", err)
	}
}

// TestCompileErrors: models the compiler cannot place say why, and the
// failures to fit the architecture are CapacityErrors.
func TestCompileErrors(t *testing.T) {
	mlp := func(out int) *model.Network {
		return yamlNet(t, "input: [300]\nlayers:\n  - dense: {out: 64}\n  - relu\n  - dense: {out: "+strconv.Itoa(out)+"}\nloss: mse\n")
	}
	small := arch.Default()
	small.Structure.TilesPerNode, small.Structure.CoresPerTile = 1, 2
	// A CNN whose maps and rings do not fit 1536 or 3072 words with one
	// example in flight.
	cnn := yamlNet(t, "input: [1, 16, 16]\nlayers:\n  - conv2d: {out: 6, kernel: 5, padding: 2}\n  - relu\n  - maxpool: {kernel: 2}\n"+
		"  - conv2d: {out: 8, kernel: 3}\n  - relu\n  - maxpool: {kernel: 2}\n  - flatten\n  - dense: {out: 10}\n")
	_, shared1536 := testArch(t, 128, 8, 1536)
	_, shared3072 := testArch(t, 128, 8, 3072)
	one := DefaultConfig()
	one.Batch, one.Examples = 1, 1
	with := func(set func(s *arch.Structure)) isa.Arch {
		a := arch.Default()
		set(&a.Structure)
		return a.ISA()
	}
	tileInst := with(func(s *arch.Structure) { s.TileInstMem = 16 })
	coreInst := with(func(s *arch.Structure) { s.CoreInstMem = 64 })
	dataMem := with(func(s *arch.Structure) { s.RegisterWords = 64 })
	cases := []struct {
		name     string
		net      *model.Network
		a        isa.Arch
		opt      Options
		want     string
		capacity bool // a CapacityError
	}{
		{"too few nodes", mlp(10), small.ISA(), Options{Train: DefaultConfig()}, "the model needs 3 tiles, 3 nodes of 1 tiles; the architecture has 1 node(s)", true},
		{"loss too wide", mlp(300), arch.Default().ISA(), Options{Train: DefaultConfig()}, "has 300 outputs: the loss and the output head need them in one core, at most 256", true},
		{"wrong input size", mlp(10), arch.Default().ISA(), Options{Infer: true, Data: &Dataset{Inputs: [][]int16{make([]int16, 7)}}}, "example 0 holds 7 values; model", false},
		{"no data", mlp(10), arch.Default().ISA(), Options{Infer: true}, "an inference program needs its input examples", false},
		{"no examples", mlp(10), arch.Default().ISA(), Options{Infer: true, Data: &Dataset{}}, "0 examples given: a program streams 1 to 4096", false},
		{"one example does not fit", cnn, shared1536, Options{Train: one},
			"tile 4 needs more than its 1536 words of shared memory with one example in flight: input errors of stage 2 (layer 4 (conv2d at test.yaml:6:5)) needs 144 words, 100 are left; " +
				"give the architecture more shared memory per tile (shared_words, at least 1580)", true},
		{"the examples do not fit", cnn, shared3072, Options{Train: DefaultConfig()},
			"tile 0 needs more than its 3072 words of shared memory with one example in flight: the network input, channels 0..0 of every example, needs 3288 words, 3072 are left; " +
				"stream fewer than 8 examples per program (examples), or give the architecture more shared memory per tile (shared_words, at least 3288)", true},
		{"tile instruction memory", mlp(10), tileInst, Options{Train: DefaultConfig()},
			"tile 0 needs 33 transfer instructions for 8 examples (4 per example); its instruction memory holds 16: stream fewer examples per program", true},
		{"core instruction memory", mlp(10), coreInst, Options{Train: DefaultConfig()},
			"tile 0 core 0 (layer 1 (dense at test.yaml:3:5), crossbars rows [0 1] column 0) needs 143 instructions; a core's instruction memory holds 64", true},
		{"core data memory", mlp(10), dataMem, Options{Train: DefaultConfig()},
			"tile 0 core 0 (layer 1 (dense at test.yaml:3:5), crossbars rows [0 1] column 0) needs more than the 64 words of core data memory (a window row is the 100 words that do not fit)", true},
		{"wide average", yamlNet(t, "input: [1, 9, 9]\nlayers:\n  - avgpool: {kernel: 3}\n  - flatten\n  - dense: {out: 2}\nloss: mse\n"),
			arch.Default().ISA(), Options{Train: DefaultConfig()}, "an average over 9 values", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(Model{Net: c.net}, c.a, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			var ce *CapacityError
			if errors.As(err, &ce) != c.capacity {
				t.Errorf("a CapacityError: %v, want %v", !c.capacity, c.capacity)
			}
		})
	}
}

// ReadOutputs lays results out in the model's order and names what it
// cannot read.
func TestReadOutputs(t *testing.T) {
	res := &Result{Report: Report{Examples: 2}, Outputs: []OutputRegion{
		{Tile: 3, Addr: 10, C0: 0, C1: 2, Pixels: 2},
		{Tile: 4, Addr: 0, C0: 2, C1: 3, Pixels: 2},
	}}
	mem := map[int][]int16{3: make([]int16, 32), 4: make([]int16, 8)}
	// Tile 3: example e, pixel p, channel c at 10 + (2e + p)*2 + c.
	for e := range 2 {
		for p := range 2 {
			for c := range 2 {
				mem[3][10+(2*e+p)*2+c] = int16(100*e + 10*c + p)
			}
			mem[4][2*e+p] = int16(100*e + 20 + p)
		}
	}
	shared := func(tile int) ([]int16, bool) { m, ok := mem[tile]; return m, ok }
	ys, err := res.ReadOutputs(shared)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int16{{0, 1, 10, 11, 20, 21}, {100, 101, 110, 111, 120, 121}}
	if !slices.Equal(ys[0], want[0]) || !slices.Equal(ys[1], want[1]) {
		t.Errorf("outputs %v, want %v", ys, want)
	}
	mem[4] = mem[4][:3]
	if _, err := res.ReadOutputs(shared); err == nil || !strings.Contains(err.Error(), "outputs of tile 4 end at word 4") {
		t.Errorf("short memory: %v", err)
	}
	delete(mem, 4)
	if _, err := res.ReadOutputs(shared); err == nil || !strings.Contains(err.Error(), "tile 4, which the run does not have") {
		t.Errorf("missing tile: %v", err)
	}
	if _, err := (&Result{}).ReadOutputs(shared); err == nil || !strings.Contains(err.Error(), "only inference programs") {
		t.Errorf("training program: %v", err)
	}
}

// A design without CRS (NoCRS) gets a training program with no crs; the
// same program for PANTHER resolves after every batch.
func TestNoCRS(t *testing.T) {
	count := func(noCRS bool) int {
		cfg := DefaultConfig()
		cfg.Variant, cfg.NoCRS = xbar.Inplace, noCRS
		net := yamlNet(t, "input: [20]\nlayers:\n  - dense: {out: 8}\n  - relu\n  - dense: {out: 4}\nloss: mse\n")
		res, err := Compile(Model{Net: net}, arch.Default().ISA(), Options{Train: cfg})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, tc := range res.Program.Code.Tiles {
			for _, c := range tc.Cores {
				for _, in := range c.Insts {
					if in.Op == isa.OpCrs {
						n++
					}
				}
			}
		}
		return n
	}
	if with, without := count(false), count(true); with == 0 || without != 0 {
		t.Errorf("crs instructions: %d with CRS, %d without; want some and none", with, without)
	}
}

// TestMemoryRetryDuringGeneration: when a tile's shared memory runs out
// while the cores' code is generated (here the inplace variant's error
// map rows, beside biases held in the vector unit), placement puts fewer
// cores on that tile and the next build starts clean. At 6800 words the
// first placement of this network overflows tile 2 that way; a failure
// kept from that build used to fail every later one (VGG-16, inplace,
// batch 1 failed so in panther eval).
func TestMemoryRetryDuringGeneration(t *testing.T) {
	const shared = 6800
	net := yamlNet(t, "input: [32, 4, 4]\nlayers:\n  - conv2d: {out: 64, kernel: 3, padding: 1}\n  - conv2d: {out: 32, kernel: 3, padding: 1}\n  - flatten\n  - dense: {out: 10}\n")
	_, a := testArch(t, 32, 8, shared)
	cfg := DefaultConfig()
	cfg.Variant, cfg.Batch, cfg.Examples = xbar.Inplace, 1, 1
	res, err := Compile(Model{Net: net}, a, Options{Train: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.MaxSharedWords > shared {
		t.Errorf("fullest tile uses %d words of %d", res.Report.MaxSharedWords, shared)
	}
}
