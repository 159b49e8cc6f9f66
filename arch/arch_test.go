package arch

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/xbar"
)

func TestPresetsLoadAndRoundTrip(t *testing.T) {
	want := []string{"cmos-op", "digital", "panther", "panther-accumulate", "panther-inplace", "panther-pipelined", "puma", "serial"}
	if got := Presets(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Presets() = %v, want %v", got, want)
	}
	for _, name := range want {
		a, err := Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Name != name {
			t.Errorf("preset %s is named %q", name, a.Name)
		}
		var buf bytes.Buffer
		if err := a.WriteYAML(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(name+".yaml", buf.Bytes())
		if err != nil {
			t.Fatalf("%s: the printed file does not parse: %v\n%s", name, err, buf.String())
		}
		if !reflect.DeepEqual(a, back) {
			t.Errorf("%s: printing and parsing changed the architecture", name)
		}
		if _, err := json.Marshal(a); err != nil {
			t.Errorf("%s: json: %v", name, err)
		}
	}
}

// The presets differ from panther only where their design does: the
// baselines have one weight set of 8 slices updated at once (no CRS), and
// digital has digital matrix units in place of the analog parts.
func TestPresetDifferences(t *testing.T) {
	base := Default()
	load := func(n string) *Arch {
		a, err := Preset(n)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if v := load("panther-inplace").Crossbar.Variant; v != xbar.Inplace {
		t.Errorf("panther-inplace variant %v", v)
	}
	if v := load("panther-pipelined").Crossbar.Variant; v != xbar.Pipelined {
		t.Errorf("panther-pipelined variant %v", v)
	}
	if !base.HasCRS() || base.WeightSets() != 2 {
		t.Errorf("panther: CRS %v, %d weight sets", base.HasCRS(), base.WeightSets())
	}
	for _, n := range []string{"cmos-op", "serial", "digital"} {
		a := load(n)
		oneSet := base.Crossbar
		oneSet.Variant, oneSet.InplacePlan, oneSet.OPAMode = xbar.Inplace, xbar.MustPlan("2x8"), xbar.Resolved
		if n == "digital" {
			oneSet.ADC = xbar.ADC{Ideal: true}
		}
		if !reflect.DeepEqual(a.Structure, base.Structure) || !reflect.DeepEqual(a.Network, base.Network) || !reflect.DeepEqual(a.Crossbar, oneSet) {
			t.Errorf("%s differs from panther outside ops and components, or has not one 2x8 set resolved at once", n)
		}
		if n != "digital" && !reflect.DeepEqual(a.Components, base.Components) {
			t.Errorf("%s: components differ from panther's", n)
		}
		if a.HasCRS() || a.WeightSets() != 1 || a.SliceArrays() != 8 {
			t.Errorf("%s: CRS %v, %d weight sets, %d slice arrays; want none, 1, 8", n, a.HasCRS(), a.WeightSets(), a.SliceArrays())
		}
	}
	if u := load("cmos-op").Ops.Update; u.Mechanism != UpdateDigital || u.LatencyNS != 256 || u.PowerMW != 1.134 {
		t.Errorf("cmos-op update %+v", u)
	}
	if u := load("serial").Ops.Update; u.Mechanism != UpdateSerial || u.LatencyNS != 475 || u.PowerMW != 238.06 {
		t.Errorf("serial update %+v", u)
	}
	d := load("digital")
	if m := d.Ops.MVM; m.Mechanism != MVMDigital || m.LatencyNS != 897 || m.PowerMW != 1.274 {
		t.Errorf("digital mvm %+v", m)
	}
	if u := d.Ops.Update; u.Mechanism != UpdateSRAM || u.LatencyNS != 256 || u.PowerMW != 1.134 {
		t.Errorf("digital update %+v", u)
	}
	for _, id := range []ComponentID{CompADC, CompDAC, CompSampleHold, CompShiftAdd} {
		if n := d.Count(id); n != 0 {
			t.Errorf("digital has %d %v per core", n, id)
		}
	}
	p := load("puma")
	if p.Ops.Update.Mechanism != UpdateNone || p.Components.ADC.LatencyNS != 12.5*8 {
		t.Errorf("puma: update %q, adc %v ns", p.Ops.Update.Mechanism, p.Components.ADC.LatencyNS)
	}
}

func TestComponentNamesMatchTags(t *testing.T) {
	ty := reflect.TypeFor[Components]()
	if ty.NumField() != int(NumComponents) {
		t.Fatalf("Components has %d fields, ComponentID %d values", ty.NumField(), NumComponents)
	}
	var c Components
	all := c.all()
	for i := range ty.NumField() {
		id := ComponentID(i)
		if key := yamlKey(ty.Field(i)); key != id.String() {
			t.Errorf("field %d: yaml key %q, ComponentID name %q", i, key, id)
		}
		if all[i] != (*Component)(reflect.ValueOf(&c).Elem().Field(i).Addr().UnsafePointer()) {
			t.Errorf("Get(%v) does not return field %d", id, i)
		}
	}
}

// A component's access costs its power for 1 ns (the link: 5 ns), whatever
// its latency: the figures of the reference tables.
func TestAccessEnergyIsPerAccess(t *testing.T) {
	p, err := Preset("puma")
	if err != nil {
		t.Fatal(err)
	}
	c := &p.Components
	for _, tc := range []struct {
		id   ComponentID
		want float64
	}{{CompADC, 1.8}, {CompEDRAM, 8.6}, {CompNodeLink, 52000}, {CompDataMemory, 0.57}} {
		if got := c.Get(tc.id).AccessPJ(); got != tc.want {
			t.Errorf("%v: %v pJ per access, want %v (latency %v ns)", tc.id, got, tc.want, c.Get(tc.id).LatencyNS)
		}
	}
	if got := c.XbarInBuffer.WritePJ(); got != 0.16 {
		t.Errorf("input buffer write %v pJ, want 0.16", got)
	}
}

// digital's node is its own parts: the digital matrix units (1.7402 mm^2
// each) in place of slice arrays, ADCs, DACs, sample-and-holds and
// shift-and-adds.
func TestDigitalArea(t *testing.T) {
	d, err := Preset("digital")
	if err != nil {
		t.Fatal(err)
	}
	ar := d.Area()
	core := 2*1.7402 + 12*0.00078 + 0.004032 + 0.0003 + 0.00392 + 0.00108 + 0.00326
	tile := 0.086 + 0.090 + 0.00145 + 0.0116 + 0.0044 + 0.0116 + 0.00145 + 8*core
	node := 42*0.047 + 22.88 + 168*tile
	if math.Abs(ar.CoreMM2-core) > 1e-9 || math.Abs(ar.NodeMM2-node) > 1e-6 {
		t.Errorf("digital core %v node %v mm^2, want %v and %v", ar.CoreMM2, ar.NodeMM2, core, node)
	}
}

// The default core, tile and node areas, summed by hand from the table.
func TestDefaultArea(t *testing.T) {
	ar := Default().Area()
	// accumulate: 8 read + 12 update slice arrays per unit, 2 units.
	core := 40*2.5e-5 + // crossbar arrays
		4*0.0012 + // ADC: 2 per unit
		11*2*128*1.67e-7 + // DAC: 11 arrays of 128 per unit
		2*2*128*3.9e-8 + // sample and hold
		4*6e-5 + // shift and add
		6*0.00078 + 6*0.00078 + // input and output buffers: 3 each per unit
		0.004032 + 0.0003 + 0.00392 + 0.00108 + 0.00326 // ALU, transcendental, data and instruction memory, control
	tileOwn := 0.086 + 0.090 + 0.00145 + 0.0116 + 0.0044 + 0.0116 + 0.00145
	tile := tileOwn + 8*core
	node := 42*0.047 + 22.88 + 168*tile // 168/4 = 42 routers, one link
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"core", ar.CoreMM2, core}, {"tile", ar.TileMM2, tile}, {"node", ar.NodeMM2, node}, {"system", ar.SystemMM2, node}} {
		if math.Abs(c.got-c.want) > 1e-9*c.want {
			t.Errorf("%s area %.9f mm^2, want %.9f", c.name, c.got, c.want)
		}
	}
	if math.Abs(core-0.02848224) > 1e-12 || math.Abs(node-97.82613056) > 1e-9 {
		t.Errorf("hand sums moved: core %.9f node %.9f", core, node)
	}
}

// Spare lines enlarge every crossbar array by (128+rows)(128+cols)/128^2
// and nothing else.
func TestSpareLinesArea(t *testing.T) {
	a := Default()
	base := a.Area()
	a.Crossbar.Device.FaultMap, a.Crossbar.Device.SpareRows, a.Crossbar.Device.SpareCols = true, 4, 8
	ar := a.Area()
	arrays := 40 * 2.5e-5 // crossbar arrays of the default core
	want := base.CoreMM2 + arrays*(132.0*136.0/(128*128)-1)
	if math.Abs(ar.CoreMM2-want) > 1e-12 {
		t.Errorf("core area with 4 spare rows and 8 spare columns %.12f mm^2, want %.12f", ar.CoreMM2, want)
	}
}

func TestRouterCycles(t *testing.T) {
	n := Default().Network
	for _, c := range []struct {
		rate float64
		want int64
	}{
		{0, 29}, {0.001, 29}, {0.003, 30}, // 29 + 0.5 x 2
		{0.005, 31}, {0.0075, 33}, // 31 + 0.5 x 3 = 32.5, rounded up
		{0.02, 54}, {0.0225, 85}, // 54 + 0.5 x 61 = 84.5
		{0.025, 115}, {0.5, 115},
	} {
		if got := n.RouterCycles(c.rate); got != c.want {
			t.Errorf("RouterCycles(%v) = %d, want %d", c.rate, got, c.want)
		}
	}
}

func TestCheckProgram(t *testing.T) {
	a := Default()
	if err := a.CheckProgram(isa.DefaultArch()); err != nil {
		t.Fatalf("the default architectures disagree: %v", err)
	}
	other := isa.DefaultArch()
	other.MatrixUnits = 4
	err := a.CheckProgram(other)
	if err == nil || !strings.Contains(err.Error(), "MatrixUnits = 4") || !strings.Contains(err.Error(), "structure.matrix_units = 2") {
		t.Errorf("got %v", err)
	}
}

func TestUserFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.yaml")
	src := "base: panther-inplace\nname: mine\nstructure:\n  tiles_per_node: 8\ncomponents:\n  adc:\n    leak_mw: 0.3\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "mine" || a.Structure.TilesPerNode != 8 || a.Components.ADC.LeakMW != 0.3 ||
		a.Components.ADC.AreaMM2 != 0.0012 || a.Crossbar.Variant != xbar.Inplace {
		t.Errorf("overrides not applied over the base: %+v", a.Structure)
	}
	if a.Routers() != 2 {
		t.Errorf("8 tiles, 4 per router: %d routers", a.Routers())
	}
	unnamed := filepath.Join(dir, "unnamed.yaml")
	if err := os.WriteFile(unnamed, []byte("base: panther\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, err := Load(unnamed); err != nil || a.Name != "unnamed" {
		t.Errorf("a file without a name: %v, named %q, want the file's name", err, a.Name)
	}
}

func TestStrictErrors(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"unknown key", "base: panther\nstructure:\n  tiles: 4\n", []string{"f.yaml:3:3", `unknown key "tiles" in structure`, "tiles_per_node"}},
		{"wrong type", "base: panther\nstructure:\n  nodes: two\n", []string{"f.yaml:3:10", "structure.nodes", "want an integer", `"two"`}},
		{"out of range", "base: panther\nstructure:\n  matrix_units: 9\n", []string{"f.yaml:3:17", "structure.matrix_units = 9 is out of range [1, 8]"}},
		{"negative power", "base: panther\ncomponents:\n  adc:\n    leak_mw: -1\n", []string{"f.yaml:4:14", "components.adc.leak_mw = -1 is out of range [0, 1e+06]"}},
		{"digital update on two sets", "base: panther\nops:\n  update:\n    mechanism: serial\n", []string{"f.yaml:4:16",
			"ops.update.mechanism serial reads, adds and writes back one weight set: it needs crossbar.variant: inplace and crossbar.opa_mode: resolved (got accumulate and chunked)"}},
		{"resolved in-crossbar OPA", "base: panther\ncrossbar:\n  opa_mode: resolved\n", []string{"f.yaml:3:13",
			"crossbar.opa_mode resolved is the update of ops.update.mechanism digital, serial or sram, not of crossbar"}},
		{"bad enum", "base: panther\nops:\n  update:\n    mechanism: magic\n", []string{"f.yaml:4:16", `ops.update.mechanism = "magic": want one of crossbar, digital, serial, sram, none`}},
		{"bad plan", "base: panther\ncrossbar:\n  read_plan: 2x7\n", []string{"f.yaml:3:14", "crossbar.read_plan", "must add up to 16"}},
		{"bad variant", "base: panther\ncrossbar:\n  variant: sideways\n", []string{"f.yaml:3:12", "want one of inplace, accumulate, pipelined"}},
		{"duplicate", "base: panther\nname: a\nname: b\n", []string{"f.yaml:3:1", `key "name" appears twice`}},
		{"unknown base", "base: pantera\n", []string{"f.yaml:1:7", `"pantera" is not a preset`}},
		{"missing field", "name: bare\n", []string{"f.yaml: structure.nodes = 0 is out of range [1, 256] (the field is not set"}},
		{"not a mapping", "- 1\n- 2\n", []string{"f.yaml:1:1: want a mapping"}},
		{"empty", "", []string{"f.yaml: the file is empty"}},
		{"list for scalar", "base: panther\nname: [a, b]\n", []string{"f.yaml:2:7", "name: want a single value"}},
		{"scalar for mapping", "base: panther\nstructure: 4\n", []string{"f.yaml:2:12", "structure: want a mapping"}},
		{"rates out of order", "base: panther\nnetwork:\n  router_latency:\n    - {rate: 0.01, cycles: 3}\n    - {rate: 0.001, cycles: 4}\n",
			[]string{"f.yaml:5:7", "rates must increase"}},
		{"extra on wrong component", "base: panther\ncomponents:\n  adc:\n    mul_mw: 1\n", []string{"f.yaml:4:13", "mul_mw applies only to vector_alu"}},
		{"per_bit digital", "base: cmos-op\nops:\n  update:\n    per_bit: true\n", []string{"f.yaml:4:14", "per_bit applies only to mechanism crossbar"}},
		{"syntax", "base: panther\nname: [\n", []string{"f.yaml:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.src))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range Presets() {
		src, _ := PresetSource(n)
		f.Add(src)
	}
	f.Add([]byte("base: panther\nstructure: {nodes: 2}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		a, err := Parse("fuzz.yaml", src)
		if err == nil {
			a.Area()
			a.ISA()
		}
	})
}
