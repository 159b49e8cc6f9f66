package arch

import "testing"

// A fault record entry holds its cell's position (14 bits on 128 x 128
// crossbars) and what its set needs: a read set the correction W - S
// (17 bits), an update set W (16 + 8 bits), an inplace set W and S (2 x 16).
func TestRecordBits(t *testing.T) {
	for _, c := range []struct {
		preset string
		bits   int
	}{
		{"panther", 31 + 38},
		{"panther-inplace", 46},
		{"panther-pipelined", 31 + 31 + 38},
	} {
		a, err := Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.RecordBits(); got != 0 {
			t.Errorf("%s without a record: %d bits", c.preset, got)
		}
		a.Crossbar.Device.FaultMap, a.Crossbar.Device.FaultRecord = true, 10
		if got := a.RecordBits(); got != 10*c.bits {
			t.Errorf("%s: %d bits per matrix unit, want %d", c.preset, got, 10*c.bits)
		}
		base := a.Area().CoreMM2
		a.Ops.FaultRecord.AreaMM2PerBit *= 2
		if got, want := a.Area().CoreMM2-base, float64(a.Structure.MatrixUnits*10*c.bits)*a.Ops.FaultRecord.AreaMM2PerBit/2; got < want*(1-1e-9) || got > want*(1+1e-9) {
			t.Errorf("%s: doubling the area per bit added %g mm^2 per core, want %g", c.preset, got, want)
		}
	}
}
