package sim

import "github.com/panther-xbar/panther/arch"

// Class is an operation class of the energy breakdown.
type Class uint8

// The classes. Control is instruction fetch, sequencing, the integer ALU and
// register moves; Leakage is every component's static power while powered.
const (
	ClassMVM Class = iota
	ClassMTVM
	ClassOPA
	ClassCRS
	ClassVector
	ClassMemory
	ClassNetwork
	ClassControl
	ClassLeakage
	numClasses
)

var classNames = [numClasses]string{"mvm", "mtvm", "opa", "crs", "vector", "memory", "network", "control", "leakage"}

func (c Class) String() string { return classNames[c] }

// Operations are the lines of the breakdown that compares designs: the
// classes, with the ADC's conversions taken out of MVM and MTVM, and the
// vector unit and control together. eval shows them beside panther's.
var Operations = []string{"mvm/mtvm", "adc", "update", "crs", "transfers", "memory", "vector+control", "leakage"}

// byOperation sums the ledger into the lines of Operations.
func (l *ledger) byOperation() []Share {
	line := [numClasses]int{ClassMVM: 0, ClassMTVM: 0, ClassOPA: 2, ClassCRS: 3, ClassNetwork: 4, ClassMemory: 5,
		ClassVector: 6, ClassControl: 6, ClassLeakage: 7}
	out := make([]Share, len(Operations))
	for i, name := range Operations {
		out[i].Name = name
	}
	for c := range numClasses {
		for id, pj := range l.pj[c] {
			i := line[c]
			if (c == ClassMVM || c == ClassMTVM) && arch.ComponentID(id) == arch.CompADC {
				i = 1
			}
			out[i].PJ += pj
		}
	}
	return out
}

// spareLines gives how much the spare lines of fault-aware mapping
// (docs/devices.md) raise a crossbar operation's energy. The presets'
// figures are for n x n arrays; with spares every row crosses
// n + spare_cols cells and every column n + spare_rows. An access draws
// current through every cell of the lines it drives, spare cells included,
// so it pays in proportion to the cells on its driven lines: driving rows
// (MVM, the row-by-row serial accesses of CRS) costs (n + spare_cols)/n
// times as much, driving columns (MTVM) (n + spare_rows)/n, and an OPA
// phase, which drives both, their mean. The ADC, the DACs and the buffers
// serve the matrix's own lines, as many as without spares.
func spareLines(a *arch.Arch) (row, col float64) {
	n, d := float64(a.Structure.CrossbarSize), a.Crossbar.Device
	return (n + float64(d.SpareCols)) / n, (n + float64(d.SpareRows)) / n
}

// powerWindow is the width, in cycles, of the windows over which peak power
// is measured; maxWindows bounds their number: a longer run doubles the
// width as often as needed (merging neighbours), so memory stays bounded.
const (
	powerWindow = 1000
	maxWindows  = 1 << 16
)

// ledger books every energy charge twice over: by class and component, and
// over time, in windows of width cycles, for the peak power.
type ledger struct {
	pj    [numClasses][arch.NumComponents]float64
	bins  []float64
	width int64
}

func newLedger() ledger { return ledger{width: powerWindow} }

// add charges pj to class c and component comp, spread evenly over the
// cycles [t0, t1) (a single cycle when t1 <= t0).
func (l *ledger) add(c Class, comp arch.ComponentID, pj float64, t0, t1 int64) {
	if pj == 0 {
		return
	}
	l.pj[c][comp] += pj
	if t1 <= t0 {
		t1 = t0 + 1
	}
	for (t1-1)/l.width >= maxWindows {
		l.coarsen()
	}
	last := int((t1 - 1) / l.width)
	for len(l.bins) <= last {
		l.bins = append(l.bins, 0)
	}
	first := int(t0 / l.width)
	if first == last {
		l.bins[first] += pj
		return
	}
	per := pj / float64(t1-t0)
	for b := first; b <= last; b++ {
		lo, hi := max(t0, int64(b)*l.width), min(t1, int64(b+1)*l.width)
		l.bins[b] += per * float64(hi-lo)
	}
}

// coarsen doubles the window width.
func (l *ledger) coarsen() {
	half := (len(l.bins) + 1) / 2
	for i := range half {
		sum := l.bins[2*i]
		if 2*i+1 < len(l.bins) {
			sum += l.bins[2*i+1]
		}
		l.bins[i] = sum
	}
	l.bins = l.bins[:half]
	l.width *= 2
}
