package program

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/panther-xbar/panther/isa"
)

// The container directives: the lines of an assembly file that carry what a
// container holds besides code, so that Assemble(Disassemble(p)) is p.
// docs/isa.md describes them.
const (
	dirArch    = ".arch"    // .arch nodes=1, tiles-per-node=168, ...
	dirModel   = ".model"   // .model "name"
	dirOption  = ".option"  // .option "key", "value"
	dirWeights = ".weights" // .weights tile=T, core=C, unit=U, rows=R, cols=K, eta=E[, layer=L, block=B]
	dirOrder   = ".order"   // .order r, r, ...: the block row each crossbar row of the last .weights holds
	dirCodes   = ".codes"   // .codes v, v, ...: the next codes of the last .weights, row-major
)

// Directives lists the container directives, for docs and tests.
var Directives = []string{dirArch, dirModel, dirOption, dirWeights, dirOrder, dirCodes}

// ArchParam is one isa.Arch parameter, named as the .arch directive and
// the --arch-* flags of the command line write it.
type ArchParam struct {
	Name  string
	Value *int
	Usage string
}

// ArchParams lists the parameters of a, bound to it, in file order.
func ArchParams(a *isa.Arch) []ArchParam {
	return []ArchParam{
		{"nodes", &a.Nodes, "nodes"},
		{"tiles-per-node", &a.TilesPerNode, "tiles per node"},
		{"cores", &a.CoresPerTile, "cores per tile"},
		{"units", &a.MatrixUnits, "matrix units per core"},
		{"xbar", &a.CrossbarSize, "crossbar rows and columns"},
		{"registers", &a.RegisterWords, "words of core data memory"},
		{"shared", &a.SharedWords, "16-bit words of tile shared memory"},
		{"tile-imem", &a.TileInstMem, "tile instruction memory entries"},
		{"core-imem", &a.CoreInstMem, "core instruction memory entries"},
	}
}

// Disassemble writes p as assembly that Assemble turns back into p, byte
// for byte once encoded: the architecture, the metadata, the code (see
// isa.Disassemble) and every weight image, one .codes line per row.
func Disassemble(w io.Writer, p *Program) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("program: %w", err)
	}
	var b bytes.Buffer
	params := ArchParams(&p.Arch)
	texts := make([]string, len(params))
	for i, ap := range params {
		texts[i] = fmt.Sprintf("%s=%d", ap.Name, *ap.Value)
	}
	fmt.Fprintf(&b, "%s %s\n", dirArch, strings.Join(texts, ", "))
	fmt.Fprintf(&b, "%s %s\n", dirModel, strconv.Quote(p.Meta.Model))
	for _, k := range slices.Sorted(maps.Keys(p.Meta.Options)) {
		fmt.Fprintf(&b, "%s %s, %s\n", dirOption, strconv.Quote(k), strconv.Quote(p.Meta.Options[k]))
	}
	b.WriteString("\n")
	if err := isa.Disassemble(&b, p.Arch, p.Code); err != nil {
		return err
	}
	for _, img := range p.Weights {
		fmt.Fprintf(&b, "\n%s tile=%d, core=%d, unit=%d, rows=%d, cols=%d, eta=%s",
			dirWeights, img.Tile, img.Core, img.Unit, img.Rows, img.Cols, strconv.FormatFloat(img.Eta, 'g', -1, 64))
		if o := img.Origin; o != nil {
			fmt.Fprintf(&b, ", layer=%d, block=%d", o.Layer, o.Block)
			if o.Rows != nil {
				fmt.Fprintf(&b, "\n%s %s", dirOrder, joinInts(o.Rows))
			}
		}
		b.WriteString("\n")
		for r := range img.Rows {
			row := img.Codes[r*img.Cols : (r+1)*img.Cols]
			fmt.Fprintf(&b, "%s %s\n", dirCodes, joinInts(row))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// AsmDefaults is what Assemble uses where the source says nothing.
type AsmDefaults struct {
	Arch isa.Arch // unless the source has an .arch line
	Meta Meta     // its model unless the source has .model; its options unless it has .model or .option
	// ArchFixed and ModelFixed say the caller has fixed Arch or the model
	// name (with command-line flags): an .arch or .model line that differs
	// is then an error.
	ArchFixed, ModelFixed bool
}

// Assemble reads an assembly file into a program: the container directives
// here, the code with isa.Assemble. file names the source in messages.
// Errors are an isa.ErrorList of file:line:col messages. A source with no
// code and no container directive (empty, or only comments and constants)
// is refused, so that it cannot become a program that does nothing.
func Assemble(file string, src []byte, def AsmDefaults) (*Program, error) {
	as := &containerAsm{file: file, arch: def.Arch}
	lines := strings.Split(string(src), "\n")
	for i, line := range lines {
		if as.line(i+1, line) {
			lines[i] = "" // the isa assembler sees the same line numbers, without this line
		}
	}
	if as.archPos != nil && def.ArchFixed && as.arch != def.Arch {
		as.errorf(*as.archPos, "%s", archDiff(def.Arch, as.arch))
	}
	if as.modelPos != nil && def.ModelFixed && as.model != def.Meta.Model {
		as.errorf(*as.modelPos, "%s names %q where the command line gives %q; give the name in one place", dirModel, as.model, def.Meta.Model)
	}
	p := &Program{Arch: as.arch, Meta: def.Meta}
	if as.modelPos != nil || as.options != nil {
		// A source with metadata carries all of it: no default options.
		p.Meta = Meta{Model: def.Meta.Model, Options: as.options}
		if as.modelPos != nil {
			p.Meta.Model = as.model
		}
	}
	if err := p.Arch.Validate(); err != nil {
		pos := isa.Pos{File: file, Line: 1, Col: 1}
		if as.archPos != nil {
			pos = *as.archPos
		}
		as.errorf(pos, "%v", err)
		return nil, as.errorList()
	}
	code, err := isa.Assemble(p.Arch, file, []byte(strings.Join(lines, "\n")))
	if list, ok := err.(isa.ErrorList); ok {
		as.errs = append(as.errs, list...)
	} else if err != nil {
		return nil, err
	}
	p.Code = code
	if err == nil && len(code.Tiles) == 0 && !as.anyDirective {
		as.errorf(isa.Pos{File: file, Line: 1, Col: 1}, "nothing to assemble: the file has no .tile section and no container directive (it is empty, or holds only comments and constants); a program needs code: start it with .tile T")
	}
	for i := range as.images {
		img := &as.images[i]
		p.Weights = append(p.Weights, img.Weights)
		if err := p.checkWeights(i); err != nil && !img.bad {
			as.errorf(img.pos, "%s: %v", dirWeights, err)
		}
	}
	if len(as.errs) > 0 {
		return nil, as.errorList()
	}
	return p, nil
}

// archDiff says how the source's architecture differs from the fixed one.
func archDiff(fixed, got isa.Arch) string {
	fp, gp := ArchParams(&fixed), ArchParams(&got)
	var diffs []string
	for i := range fp {
		if *fp[i].Value != *gp[i].Value {
			diffs = append(diffs, fmt.Sprintf("%s=%d where the command line gives %d", gp[i].Name, *gp[i].Value, *fp[i].Value))
		}
	}
	return fmt.Sprintf("%s sets %s; give the architecture in one place", dirArch, strings.Join(diffs, ", "))
}

// containerAsm collects the container directives of one source.
type containerAsm struct {
	file         string
	errs         isa.ErrorList
	anyDirective bool
	arch         isa.Arch
	archPos      *isa.Pos
	model        string
	modelPos     *isa.Pos
	options      map[string]string
	optionPos    map[string]isa.Pos
	images       []image
}

type image struct {
	Weights
	pos isa.Pos
	bad bool // its .weights line had an error
}

func (as *containerAsm) errorf(pos isa.Pos, format string, args ...any) {
	as.errs = append(as.errs, &isa.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// errorList sorts the errors by position and keeps the first isa.MaxErrors.
func (as *containerAsm) errorList() isa.ErrorList { return as.errs.Sorted() }

// arg is one comma-separated operand of a container directive: a value,
// or name=value.
type arg struct {
	name, value string
	quoted      bool // value was a quoted string, now unquoted
	pos         isa.Pos
}

// line reads line n if it is a container directive and reports whether it
// was one.
func (as *containerAsm) line(n int, text string) bool {
	body := strings.TrimLeft(text, " \t")
	end := strings.IndexAny(body, " \t\r#;")
	if end < 0 {
		end = len(body)
	}
	dir := body[:end]
	if !slices.Contains(Directives, dir) {
		return false
	}
	as.anyDirective = true
	col := len(text) - len(body) + 1
	pos := isa.Pos{File: as.file, Line: n, Col: col}
	args, ok := as.args(n, col+end, body[end:])
	if !ok {
		return true
	}
	switch dir {
	case dirArch:
		as.archLine(pos, args)
	case dirModel:
		as.modelLine(pos, args)
	case dirOption:
		as.optionLine(pos, args)
	case dirWeights:
		as.weightsLine(pos, args)
	case dirOrder:
		as.orderLine(pos, args)
	case dirCodes:
		as.codesLine(pos, args)
	}
	return true
}

// args splits the operands of a directive: text starts at column col of
// line n. Quoted strings are Go string literals; # or ; outside one starts
// a comment.
func (as *containerAsm) args(n, col int, text string) ([]arg, bool) {
	var args []arg
	i := 0
	skip := func() {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r') {
			i++
		}
	}
	at := func() isa.Pos { return isa.Pos{File: as.file, Line: n, Col: col + i} }
	for {
		skip()
		if i == len(text) || text[i] == '#' || text[i] == ';' {
			if len(args) > 0 {
				as.errorf(at(), "missing value after the last comma")
				return nil, false
			}
			return nil, true
		}
		a := arg{pos: at()}
		if j := strings.IndexAny(text[i:], "=,\"#; \t\r"); j > 0 && i+j < len(text) && text[i+j] == '=' {
			a.name = text[i : i+j]
			i += j + 1
			skip()
		}
		switch {
		case i < len(text) && text[i] == '"':
			lit, err := strconv.QuotedPrefix(text[i:])
			if err != nil {
				as.errorf(at(), "unterminated or malformed string: write it as a Go string literal, e.g. \"name\"")
				return nil, false
			}
			a.value, _ = strconv.Unquote(lit)
			a.quoted = true
			i += len(lit)
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(",#; \t\r", rune(text[j])) {
				j++
			}
			if j == i {
				as.errorf(at(), "missing value")
				return nil, false
			}
			a.value = text[i:j]
			i = j
		}
		args = append(args, a)
		skip()
		switch {
		case i == len(text) || text[i] == '#' || text[i] == ';':
			return args, true
		case text[i] == ',':
			i++
		default:
			as.errorf(at(), "unexpected %q: separate operands with commas", text[i:i+1])
			return nil, false
		}
	}
}

// named reads name=number operands into the fields of want (each at most
// once) and reports whether all but those in optional were there.
func (as *containerAsm) named(pos isa.Pos, dir string, args []arg, want, optional []string, set func(name string, a arg) bool) bool {
	given := map[string]bool{}
	ok := true
	for _, a := range args {
		switch {
		case a.name == "":
			as.errorf(a.pos, "%s takes name=value operands: %s", dir, strings.Join(want, ", "))
			return false
		case !slices.Contains(want, a.name):
			as.errorf(a.pos, "%s has no operand %q; operands are %s", dir, a.name, strings.Join(want, ", "))
			return false
		case given[a.name]:
			as.errorf(a.pos, "%s is given twice", a.name)
			return false
		}
		given[a.name] = true
		ok = set(a.name, a) && ok
	}
	var missing []string
	for _, name := range want {
		if !given[name] && !slices.Contains(optional, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		as.errorf(pos, "%s needs %s", dir, strings.Join(missing, ", "))
		return false
	}
	return ok
}

// number reads a whole number operand.
func (as *containerAsm) number(a arg, lo, hi int) (int, bool) {
	v, err := strconv.Atoi(a.value)
	if a.quoted || err != nil || v < lo || v > hi {
		as.errorf(a.pos, "want a whole number in %d..%d, got %q", lo, hi, a.value)
		return 0, false
	}
	return v, true
}

// once records at *seen the line of a directive that may be given once,
// and reports whether this is its first.
func (as *containerAsm) once(pos isa.Pos, dir string, seen **isa.Pos) bool {
	if *seen != nil {
		as.errorf(pos, "%s is already given at line %d", dir, (*seen).Line)
		return false
	}
	*seen = &pos
	return true
}

func (as *containerAsm) archLine(pos isa.Pos, args []arg) {
	if !as.once(pos, dirArch, &as.archPos) {
		return
	}
	params := ArchParams(&as.arch)
	names := make([]string, len(params))
	for i, ap := range params {
		names[i] = ap.Name
	}
	as.named(pos, dirArch, args, names, nil, func(name string, a arg) bool {
		v, ok := as.number(a, 0, math.MaxUint32)
		*params[slices.Index(names, name)].Value = v
		return ok
	})
}

// quoted reads the quoted strings of .model (one) and .option (two).
func (as *containerAsm) quoted(pos isa.Pos, dir string, args []arg, n int, example string) ([]string, bool) {
	if len(args) != n {
		as.errorf(pos, "%s takes %d quoted string(s), e.g. %s %s", dir, n, dir, example)
		return nil, false
	}
	var out []string
	for _, a := range args {
		if !a.quoted || a.name != "" {
			as.errorf(a.pos, "want a quoted string, e.g. %s %s", dir, example)
			return nil, false
		}
		if !utf8.ValidString(a.value) {
			as.errorf(a.pos, "the string is not valid UTF-8")
			return nil, false
		}
		out = append(out, a.value)
	}
	return out, true
}

func (as *containerAsm) modelLine(pos isa.Pos, args []arg) {
	if !as.once(pos, dirModel, &as.modelPos) {
		return
	}
	if s, ok := as.quoted(pos, dirModel, args, 1, `"mlp"`); ok {
		as.model = s[0]
	}
}

func (as *containerAsm) optionLine(pos isa.Pos, args []arg) {
	s, ok := as.quoted(pos, dirOption, args, 2, `"batch", "4"`)
	if !ok {
		return
	}
	k, v := s[0], s[1]
	if k == "" {
		as.errorf(args[0].pos, "an option key must not be empty")
		return
	}
	if prev, ok := as.optionPos[k]; ok {
		as.errorf(pos, "option %q is already given at line %d", k, prev.Line)
		return
	}
	if as.options == nil {
		as.options, as.optionPos = map[string]string{}, map[string]isa.Pos{}
	}
	as.options[k], as.optionPos[k] = v, pos
}

func (as *containerAsm) weightsLine(pos isa.Pos, args []arg) {
	img := image{pos: pos}
	var origin Origin
	fields := map[string]*int{"tile": &img.Tile, "core": &img.Core, "unit": &img.Unit, "rows": &img.Rows, "cols": &img.Cols,
		"layer": &origin.Layer, "block": &origin.Block}
	given := map[string]bool{}
	ok := as.named(pos, dirWeights, args, []string{"tile", "core", "unit", "rows", "cols", "eta", "layer", "block"}, []string{"layer", "block"}, func(name string, a arg) bool {
		given[name] = true
		if name == "eta" {
			eta, err := strconv.ParseFloat(a.value, 64)
			if a.quoted || err != nil || math.IsNaN(eta) || math.IsInf(eta, 0) {
				as.errorf(a.pos, "eta: want a finite number, got %q", a.value)
				return false
			}
			img.Eta = eta
			return true
		}
		v, ok := as.number(a, 0, math.MaxUint32)
		*fields[name] = v
		return ok
	})
	switch {
	case given["layer"] != given["block"]:
		as.errorf(pos, "%s gives one of layer and block: an origin needs both", dirWeights)
		ok = false
	case given["layer"]:
		img.Origin = &origin
	}
	// A bad .weights line still opens an image, so that its .codes lines
	// do not each report a missing .weights; its own error is enough.
	img.bad = !ok
	as.images = append(as.images, img)
}

func (as *containerAsm) orderLine(pos isa.Pos, args []arg) {
	if len(as.images) == 0 || as.images[len(as.images)-1].Origin == nil {
		as.errorf(pos, "%s needs a %s line with layer= and block= before it to say whose rows these are", dirOrder, dirWeights)
		return
	}
	as.imageValues(pos, args, dirOrder, 0, math.MaxInt32, func(img *image, v int) {
		// Hold at most one row past the image, enough for the count check.
		if len(img.Origin.Rows) <= img.Rows {
			img.Origin.Rows = append(img.Origin.Rows, v)
		}
	})
}

func (as *containerAsm) codesLine(pos isa.Pos, args []arg) {
	if len(as.images) == 0 {
		as.errorf(pos, "%s needs a %s line before it to say whose codes these are", dirCodes, dirWeights)
		return
	}
	as.imageValues(pos, args, dirCodes, math.MinInt16, math.MaxInt16, func(img *image, v int) {
		// Hold at most one code past the image, enough for the count check.
		if uint64(len(img.Codes)) <= uint64(img.Rows)*uint64(img.Cols) {
			img.Codes = append(img.Codes, int16(v))
		}
	})
}

// imageValues reads the plain values in lo..hi of a directive that adds to
// the last weight image (there is one), handing each to add.
func (as *containerAsm) imageValues(pos isa.Pos, args []arg, dir string, lo, hi int, add func(img *image, v int)) {
	img := &as.images[len(as.images)-1]
	if len(args) == 0 {
		as.errorf(pos, "%s needs at least one value", dir)
	}
	for _, a := range args {
		if a.name != "" {
			as.errorf(a.pos, "%s takes plain values, not name=value", dir)
			return
		}
		v, ok := as.number(a, lo, hi)
		if !ok {
			return
		}
		add(img, v)
	}
}

// joinInts writes values as a directive's comma-separated operands.
func joinInts[T int | int16](values []T) string {
	texts := make([]string, len(values))
	for i, v := range values {
		texts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(texts, ", ")
}
