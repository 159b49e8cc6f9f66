package eval

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/compiler"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/xbar"
)

// The report files are byte for byte the same whether the points run one
// at a time or two at once, and whether each point compiles its own
// program or shares it with the designs that compile the same one.
func TestParallelRunsSameFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and simulates")
	}
	o := Options{Workloads: []string{"vgg-f", "vgg-g"}, Batches: []int{1, 4}, Designs: append(Designs(), GPUDesign), GPU: "rtx2080ti"}
	files := func(name string, procs int, o Options) map[string][]byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range res.Rows {
			res.Rows[i].WallSeconds = 0 // the one figure that is this machine's
		}
		dir := filepath.Join(t.TempDir(), name)
		if err := res.WriteFiles(dir); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, f := range Files(dir) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got[filepath.Base(f)] = b
		}
		return got
	}
	each := o
	each.Jobs, each.simulate = 1, simulate // a program compiled for every point
	want := files("each", 1, each)
	one := o
	one.Jobs = 1
	two := o
	two.Jobs, two.MemoryBytes = 2, 1<<30
	for name, got := range map[string]map[string][]byte{"one": files("one", 1, one), "two": files("two", 2, two)} {
		for f, b := range want {
			if !bytes.Equal(got[f], b) {
				t.Errorf("%s differs between one point at a time with a program each and %s", f, name)
			}
		}
	}
}

// No more points run at once than the jobs allow, nor more than the
// memory bound lets fit; a point larger than the bound still runs, alone.
func TestJobsWithinBounds(t *testing.T) {
	var inFlight, most atomic.Int32
	o := fakeOptions()
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		// Give any other job the chance to start beside this one.
		for range 10000 {
			if m := most.Load(); n > m {
				most.CompareAndSwap(m, n)
			}
			n = inFlight.Load()
			runtime.Gosched()
		}
		return fake(ctx, w, a, b, k, bias, stage)
	}
	for _, c := range []struct {
		jobs   int
		memory int64
		most   int32
	}{
		{jobs: 1, most: 1},
		{jobs: 3, memory: 1, most: 1}, // every point exceeds the bound
		{jobs: 3, most: 3},
	} {
		most.Store(0)
		o.Jobs, o.MemoryBytes = c.jobs, c.memory
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 12 {
			t.Errorf("jobs %d, memory %d: %d rows, want 12", c.jobs, c.memory, len(res.Rows))
		}
		if got := most.Load(); got > c.most {
			t.Errorf("jobs %d, memory %d: %d points at once, want at most %d", c.jobs, c.memory, got, c.most)
		}
	}
}

// Designs that differ only in what the simulator charges share one
// compiled program; those that compile differently do not.
func TestJobsShareProgram(t *testing.T) {
	o := fakeOptions()
	o.Designs = append(Designs(), GPUDesign)
	o.Workloads, o.Batches = []string{"mlp-l4"}, []int{1}
	pts, _, err := o.points(GPUs["v100"])
	if err != nil {
		t.Fatal(err)
	}
	js, _, err := o.jobs(pts)
	if err != nil {
		t.Fatal(err)
	}
	var groups [][]string
	for _, j := range js {
		var ds []string
		for _, i := range j.points {
			ds = append(ds, pts[i].d)
		}
		groups = append(groups, ds)
	}
	// panther and pipelined compile alike, inplace differs in its
	// variant; cmos-op, serial and digital compile the inplace variant
	// without a CRS.
	want := "[[panther panther-pipelined] [panther-inplace] [cmos-op serial digital] [gpu]]"
	if got := fmt.Sprint(groups); got != want {
		t.Errorf("jobs %s, want %s", got, want)
	}
}

// The compiler builds the same program for the accumulate and pipelined
// variants but for the variant it records, so their designs can share it
// (programKey).
func TestVariantsCompileAlike(t *testing.T) {
	for _, name := range []string{"mlp-l4", "lenet"} {
		net, err := model.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		a, err := arch.Preset("panther")
		if err != nil {
			t.Fatal(err)
		}
		var progs []*program.Program
		for _, v := range []xbar.Variant{xbar.Accumulate, xbar.Pipelined} {
			a.Crossbar.Variant = v
			res, err := compiler.Compile(compiler.Model{Net: net}, a.ISA(), compiler.Options{Train: trainConfig(a, 2, 2, model.BiasAuto)})
			if err != nil {
				t.Fatal(err)
			}
			progs = append(progs, res.Program)
		}
		if got := progs[1].Meta.Options["variant"]; got != "pipelined" {
			t.Fatalf("%s: the pipelined program records variant %q", name, got)
		}
		progs[1].Meta.Options["variant"] = progs[0].Meta.Options["variant"]
		if !reflect.DeepEqual(progs[0], progs[1]) {
			t.Errorf("%s: the accumulate and pipelined programs differ beyond the variant they record", name)
		}
	}
}
