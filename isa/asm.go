package isa

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Assemble translates assembly source into Code for architecture a; file
// names the source in messages. The language is described in docs/isa.md
// (see Markdown). It reports every error it finds, up to MaxErrors, as an
// ErrorList of file:line:col messages.
func Assemble(a Arch, file string, src []byte) (Code, error) {
	if err := a.Validate(); err != nil {
		return Code{}, err
	}
	as := &assembler{
		a: a, file: file, tile: -1,
		consts:   map[string]constant{},
		sections: map[sectionKey]*section{},
		data:     map[int][]*dataSeg{},
	}
	for i, line := range strings.Split(string(src), "\n") {
		as.line(i+1, line)
	}
	keys := slices.SortedFunc(maps.Keys(as.sections), func(x, y sectionKey) int {
		return cmp.Or(cmp.Compare(x.tile, y.tile), cmp.Compare(x.core, y.core))
	})
	for _, k := range keys {
		as.resolve(as.sections[k])
	}
	code := as.code(keys)
	if len(as.errs) > 0 {
		return Code{}, as.errorList()
	}
	return code, nil
}

// sectionKey names a program: a tile's control unit (core -1) or a core.
type sectionKey struct{ tile, core int }

func (k sectionKey) String() string {
	if k.core < 0 {
		return fmt.Sprintf("tile %d", k.tile)
	}
	return fmt.Sprintf("tile %d core %d", k.tile, k.core)
}

type section struct {
	sectionKey
	pos    Pos
	stmts  []*stmt
	labels map[string]label
}

type label struct {
	index int // instruction the label stands before
	pos   Pos
}

// stmt is one instruction line, kept from the first pass (which learns all
// labels) to the second (which evaluates operands).
type stmt struct {
	def      *Def
	pos      Pos    // the mnemonic
	opName   *token // operation name, for rows whose first field is one
	operands []operand
	end      Pos // just past the last token
	inst     Inst
}

type operand struct {
	toks []token
	pos  Pos
}

type constant struct {
	value int
	pos   Pos
}

type dataSeg struct {
	Segment
	pos Pos
}

type assembler struct {
	a        Arch
	file     string
	errs     ErrorList
	consts   map[string]constant
	sections map[sectionKey]*section
	cur      *section // where instructions go; nil before the first section
	tile     int      // tile of the last .tile; -1 before it
	data     map[int][]*dataSeg
	seg      *dataSeg // where .word appends; nil when there is none
}

func (as *assembler) at(line, col int) Pos { return Pos{as.file, line, col} }

func (as *assembler) errorf(pos Pos, format string, args ...any) {
	as.errs = append(as.errs, &Error{pos, fmt.Sprintf(format, args...)})
}

// errorList sorts the errors by position and keeps the first MaxErrors.
func (as *assembler) errorList() ErrorList { return as.errs.Sorted() }

// line is the first pass over one source line.
func (as *assembler) line(n int, text string) {
	toks, col, msg := lexLine(text)
	if msg != "" {
		as.errorf(as.at(n, col), "%s", msg)
		return
	}
	if len(toks) >= 2 && toks[0].kind == tIdent && toks[0].text[0] != '.' && toks[1].text == ":" {
		as.defineLabel(toks[0].text, as.at(n, toks[0].col))
		toks = toks[2:]
	}
	if len(toks) == 0 {
		return
	}
	switch first := toks[0]; {
	case first.kind == tIdent && first.text[0] == '.':
		as.directive(n, toks)
	case first.kind == tIdent:
		as.instruction(n, toks)
	default:
		as.errorf(as.at(n, first.col), "expected an instruction, a label or a directive, found %q", first.text)
	}
}

func (as *assembler) defineLabel(name string, pos Pos) {
	if as.cur == nil {
		as.errorf(pos, "label %s is outside a section: start one with .tile T (and .core C)", name)
		return
	}
	if l, ok := as.cur.labels[name]; ok {
		as.errorf(pos, "label %s is already defined in %s at line %d; rename one", name, as.cur.sectionKey, l.pos.Line)
		return
	}
	if c, ok := as.consts[name]; ok {
		as.errorf(pos, "label %s has the name of the constant defined at line %d; rename one", name, c.pos.Line)
		return
	}
	as.cur.labels[name] = label{len(as.cur.stmts), pos}
}

var directives = []string{".tile", ".core", ".const", ".data", ".word"}

func (as *assembler) directive(n int, toks []token) {
	dir, args := toks[0], toks[1:]
	pos := as.at(n, dir.col)
	end := as.endOf(n, toks)
	switch dir.text {
	case ".tile":
		t, ok := as.evalArg(n, dir.text, args, end)
		if !ok {
			return
		}
		if t < 0 || t >= as.a.Tiles() {
			as.errorf(as.at(n, args[0].col), "tile %d does not exist: the architecture has %d tiles (0..%d)", t, as.a.Tiles(), as.a.Tiles()-1)
			return
		}
		as.tile = t
		as.open(sectionKey{t, -1}, pos)
	case ".core":
		if as.tile < 0 {
			as.errorf(pos, ".core needs a .tile line before it to say which tile the core is in")
			return
		}
		c, ok := as.evalArg(n, dir.text, args, end)
		if !ok {
			return
		}
		if c < 0 || c >= as.a.CoresPerTile {
			as.errorf(as.at(n, args[0].col), "core %d does not exist: a tile has %d cores (0..%d)", c, as.a.CoresPerTile, as.a.CoresPerTile-1)
			return
		}
		as.open(sectionKey{as.tile, c}, pos)
	case ".const":
		as.defineConst(n, args, end)
	case ".data":
		if as.tile < 0 {
			as.errorf(pos, ".data needs a .tile line before it to say whose shared memory it fills")
			return
		}
		addr, ok := as.evalArg(n, dir.text, args, end)
		if !ok {
			return
		}
		as.seg = &dataSeg{Segment{Addr: addr}, pos}
		as.data[as.tile] = append(as.data[as.tile], as.seg)
	case ".word":
		if as.seg == nil {
			as.errorf(pos, ".word needs a .data ADDR line before it (in the same section) to say where the words go")
			return
		}
		ops := splitOperands(as, n, args, end)
		if len(ops) == 0 {
			as.errorf(end, ".word needs at least one value")
		}
		for _, op := range ops {
			v, ok := as.eval(op, nil)
			if !ok {
				continue
			}
			if v < -1<<15 || v >= 1<<15 {
				as.errorf(op.pos, ".word value %d does not fit 16 bits (-32768..32767)", v)
				continue
			}
			as.seg.Words = append(as.seg.Words, int16(v))
		}
	default:
		as.errorf(pos, "unknown directive %s%s; directives are %s", dir.text, suggest(dir.text, directives), strings.Join(directives, ", "))
	}
}

// open starts section k. Reopening one is an error: a section's code must
// be in one place, or instruction indices would depend on the file's layout.
func (as *assembler) open(k sectionKey, pos Pos) {
	as.seg = nil
	as.cur = &section{sectionKey: k, pos: pos, labels: map[string]label{}}
	if prev, ok := as.sections[k]; ok {
		as.errorf(pos, "%s was already started at line %d; keep each section's code in one place", k, prev.pos.Line)
		return // as.cur stays a scratch section so that the lines below do not cascade errors
	}
	as.sections[k] = as.cur
}

func (as *assembler) defineConst(n int, args []token, end Pos) {
	if len(args) < 3 || args[0].kind != tIdent || args[1].text != "=" {
		as.errorf(end, ".const needs NAME = value")
		return
	}
	name := args[0].text
	pos := as.at(n, args[0].col)
	if _, isReg, _ := regSymbol(as.a, name); isReg || name[0] == '.' {
		as.errorf(pos, "%s cannot name a constant: it reads as a register or directive", name)
		return
	}
	if c, ok := as.consts[name]; ok {
		as.errorf(pos, "constant %s is already defined at line %d", name, c.pos.Line)
		return
	}
	for _, s := range as.sections {
		if l, ok := s.labels[name]; ok {
			as.errorf(pos, "constant %s has the name of the label at line %d; rename one", name, l.pos.Line)
			return
		}
	}
	v, ok := as.eval(operand{args[2:], as.at(n, args[2].col)}, nil)
	if ok {
		as.consts[name] = constant{v, pos}
	}
}

// evalArg evaluates the one expression a directive takes.
func (as *assembler) evalArg(n int, dir string, args []token, end Pos) (int, bool) {
	if len(args) == 0 {
		as.errorf(end, "%s needs a value", dir)
		return 0, false
	}
	return as.eval(operand{args, as.at(n, args[0].col)}, nil)
}

// endOf is the position just past the last token of a line.
func (as *assembler) endOf(n int, toks []token) Pos {
	last := toks[len(toks)-1]
	return as.at(n, last.col+len(last.text))
}

func (as *assembler) instruction(n int, toks []token) {
	mn := toks[0]
	pos := as.at(n, mn.col)
	d := LookupName(mn.text)
	if d == nil {
		as.errorf(pos, "unknown instruction %q%s", mn.text, suggest(mn.text, mnemonics()))
		return
	}
	sec := as.cur
	switch {
	case sec == nil:
		as.errorf(pos, "%s is outside a section: start one with .tile T (tile code), then .core C (core code)", d.Name)
		return
	case d.Proc == OnCore && sec.core < 0:
		as.errorf(pos, "%s is a core instruction, but this is the code of %s's control unit; put it after a .core C line", d.Name, sec.sectionKey)
		return
	case d.Proc == OnTile && sec.core >= 0:
		as.errorf(pos, "%s is a tile instruction, but this is the code of %s; put it in the .tile section before the .core lines", d.Name, sec.sectionKey)
		return
	}
	capacity := as.a.CoreInstMem
	if sec.core < 0 {
		capacity = as.a.TileInstMem
	}
	if len(sec.stmts) == capacity {
		as.errorf(pos, "%s has more than %d instructions, the size of its instruction memory", sec.sectionKey, capacity)
	}
	s := &stmt{def: d, pos: pos, end: as.endOf(n, toks)}
	rest := toks[1:]
	if len(d.Fields) > 0 && d.Fields[0].Kind.syntax == synOpName {
		if len(rest) == 0 || rest[0].kind != tIdent {
			as.errorf(s.end, "%s needs an operation name right after it: %s", d.Name, d.usage(nil))
			return
		}
		s.opName = &rest[0]
		rest = rest[1:]
	}
	s.operands = splitOperands(as, n, rest, s.end)
	sec.stmts = append(sec.stmts, s)
}

// splitOperands splits tokens at commas outside parentheses. An empty
// operand is kept (no tokens) and positioned at the comma that ends it.
func splitOperands(as *assembler, n int, toks []token, end Pos) []operand {
	if len(toks) == 0 {
		return nil
	}
	var ops []operand
	depth, start := 0, 0
	add := func(stop int, stopPos Pos) {
		op := operand{toks: toks[start:stop], pos: stopPos}
		if len(op.toks) > 0 {
			op.pos = as.at(n, op.toks[0].col)
		}
		ops = append(ops, op)
	}
	for i, t := range toks {
		switch {
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
		case t.text == "," && depth == 0:
			add(i, as.at(n, t.col))
			start = i + 1
		}
	}
	add(len(toks), end)
	return ops
}

// resolve is the second pass over a section: it turns each statement into
// an Inst, now that every label is known.
func (as *assembler) resolve(sec *section) {
	for _, s := range sec.stmts {
		s.inst = as.build(sec, s)
	}
}

// build evaluates the operands of s. On an error it records it and returns
// what it has; the caller then returns no Code.
func (as *assembler) build(sec *section, s *stmt) Inst {
	d := s.def
	in := Inst{Op: d.Op}
	ops := s.operands
	next := 0
	for i := range d.Fields {
		f := &d.Fields[i]
		switch {
		case f.Kind.syntax == synOpName:
			v, ok := as.opName(s, f)
			if !ok {
				return in
			}
			f.set(&in, v)
		case f.Named || f.unused != nil && f.unused(in):
			// named operands come after the positional ones; unused ones are 0
		case f.Kind.syntax == synMask:
			v, used, ok := as.mask(s, f, ops[next:])
			if !ok {
				return in
			}
			next += used
			f.set(&in, v)
		default:
			if next >= len(ops) {
				as.errorf(s.end, "missing operand %s: write %s", f.Name, d.usage(&in))
				return in
			}
			op := ops[next]
			next++
			labelsFrom := (*section)(nil)
			if f.Kind.syntax == synLabel {
				labelsFrom = sec
			}
			v, ok := as.eval(op, labelsFrom)
			if !ok {
				return in
			}
			if msg := f.problem(as.a, in, v); msg != "" {
				as.errorf(op.pos, "%s %s: %s", d.Name, f.Name, msg)
				return in
			}
			f.set(&in, v)
		}
	}
	if as.namedOperands(d, &in, ops[next:]) && d.rule != nil {
		if msg := d.rule(as.a, in); msg != "" {
			as.errorf(s.pos, "%s: %s", d.Name, msg)
		}
	}
	return in
}

// namedOperands reads the name=value operands left after the positional ones.
func (as *assembler) namedOperands(d *Def, in *Inst, ops []operand) bool {
	given := map[string]bool{}
	for _, op := range ops {
		if len(op.toks) < 2 || op.toks[0].kind != tIdent || op.toks[1].text != "=" {
			as.errorf(op.pos, "too many operands: write %s", d.usage(in))
			return false
		}
		name := op.toks[0].text
		f := d.namedField(name)
		if f == nil {
			as.errorf(op.pos, "%s has no operand named %s: write %s", d.Name, name, d.usage(in))
			return false
		}
		if given[name] {
			as.errorf(op.pos, "%s is given twice", name)
			return false
		}
		given[name] = true
		if len(op.toks) == 2 {
			as.errorf(op.pos, "%s= needs a value", name)
			return false
		}
		v, ok := as.eval(operand{op.toks[2:], Pos{op.pos.File, op.pos.Line, op.toks[2].col}}, nil)
		if !ok {
			return false
		}
		if msg := f.problem(as.a, *in, v); msg != "" {
			as.errorf(op.pos, "%s %s: %s", d.Name, f.Name, msg)
			return false
		}
		f.set(in, v)
	}
	return true
}

func (d *Def) namedField(name string) *Field {
	for i := range d.Fields {
		if d.Fields[i].Named && d.Fields[i].Name == name {
			return &d.Fields[i]
		}
	}
	return nil
}

// usage is how to write d: with in, for that instruction's operation (alu
// sig has no r2); with nil, the general form used in docs.
func (d *Def) usage(in *Inst) string {
	var b strings.Builder
	b.WriteString(d.Name)
	sep := " "
	for i := range d.Fields {
		f := &d.Fields[i]
		switch {
		case f.Kind.syntax == synOpName: // right after the mnemonic, no comma
			name := f.Name
			if in != nil {
				name = f.Kind.text(Arch{}, f.get(in))
			}
			b.WriteString(" " + name)
			continue
		case f.unused != nil && in != nil && f.unused(*in):
			continue
		case f.unused != nil:
			b.WriteString(sep + "[" + f.Name + "]")
		case f.Named:
			b.WriteString(sep + "[" + f.Name + "=N]")
		default:
			b.WriteString(sep + f.Name)
		}
		sep = ", "
	}
	return b.String()
}

// opName reads the operation name written after the mnemonic.
func (as *assembler) opName(s *stmt, f *Field) (int, bool) {
	t := s.opName
	pos := as.at(s.pos.Line, t.col)
	v := slices.Index(f.Kind.names, t.text)
	if v < 0 {
		as.errorf(pos, "unknown %s operation %q%s; operations: %s", s.def.Name, t.text, suggest(t.text, f.Kind.names), strings.Join(f.Kind.names, ", "))
		return 0, false
	}
	if msg := f.Kind.problem(as.a, v); msg != "" {
		as.errorf(pos, "%s %s: %s", s.def.Name, f.Name, msg)
		return 0, false
	}
	return v, true
}

// isUnitName reports whether text reads as a matrix unit, u followed by digits.
func isUnitName(text string) bool {
	return len(text) > 1 && text[0] == 'u' && allDigits(text[1:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// mask reads the matrix-unit operands at the start of ops: "u0:mvm+opa" items
// for mvm, "u0" items for crs. It returns the mask and how many operands it used.
func (as *assembler) mask(s *stmt, f *Field, ops []operand) (int, int, bool) {
	example := "u0:mvm+opa, u1:mtvm"
	if f.Kind.opsPerUnit == 1 {
		example = "u0, u1"
	}
	used, mask := 0, 0
	for ; used < len(ops); used++ {
		op := ops[used]
		if len(op.toks) == 0 || op.toks[0].kind != tIdent || !isUnitName(op.toks[0].text) {
			break
		}
		unitTok := op.toks[0]
		unit, err := strconv.Atoi(unitTok.text[1:])
		if err != nil || unit >= as.a.MatrixUnits {
			as.errorf(op.pos, "matrix unit %s does not exist: %s", unitTok.text, unitsText(as.a))
			return 0, 0, false
		}
		unitBits := 1<<f.Kind.opsPerUnit - 1
		shift := f.Kind.opsPerUnit * unit
		if mask>>shift&unitBits != 0 {
			as.errorf(op.pos, "%s is named twice; name each unit once with all its operations, e.g. %s", unitTok.text, example)
			return 0, 0, false
		}
		bits, ok := as.unitOps(s, f, op)
		if !ok {
			return 0, 0, false
		}
		mask |= bits << shift
	}
	if used == 0 {
		pos := s.end
		if len(ops) > 0 {
			pos = ops[0].pos
		}
		as.errorf(pos, "%s needs matrix units first, e.g. %s %s", s.def.Name, s.def.Name, example)
		return 0, 0, false
	}
	if msg := f.Kind.problem(as.a, mask); msg != "" {
		as.errorf(ops[0].pos, "%s %s: %s", s.def.Name, f.Name, msg)
		return 0, 0, false
	}
	return mask, used, true
}

// unitOps reads what follows a unit name in a mask item: nothing for crs,
// ":op+op" for mvm. It returns the unit's mask bits.
func (as *assembler) unitOps(s *stmt, f *Field, op operand) (int, bool) {
	unit := op.toks[0].text
	rest := op.toks[1:]
	if f.Kind.opsPerUnit == 1 {
		if len(rest) > 0 {
			as.errorf(as.at(op.pos.Line, rest[0].col), "unexpected %q after %s: %s takes matrix units only, e.g. %s u0, u1", rest[0].text, unit, s.def.Name, s.def.Name)
			return 0, false
		}
		return 1, true
	}
	if len(rest) < 2 || rest[0].text != ":" {
		as.errorf(op.pos, "%s needs its operations, e.g. %s:mvm, %s:mtvm+opa", unit, unit, unit)
		return 0, false
	}
	bits := 0
	for i := 1; i < len(rest); i += 2 {
		t := rest[i]
		k := slices.Index(xbarOpNames[:], t.text)
		if k < 0 || t.kind != tIdent {
			as.errorf(as.at(op.pos.Line, t.col), "unknown crossbar operation %q for %s; use mvm, mtvm or opa joined by +", t.text, unit)
			return 0, false
		}
		if bits>>k&1 == 1 {
			as.errorf(as.at(op.pos.Line, t.col), "%s is named twice for %s", t.text, unit)
			return 0, false
		}
		bits |= 1 << k
		if i+1 < len(rest) && rest[i+1].text != "+" {
			as.errorf(as.at(op.pos.Line, rest[i+1].col), "unexpected %q in the operations of %s; join them with +, e.g. %s:mvm+opa", rest[i+1].text, unit, unit)
			return 0, false
		}
		if i+1 == len(rest)-1 {
			as.errorf(as.at(op.pos.Line, rest[i+1].col), "an operation must follow + in the operations of %s", unit)
			return 0, false
		}
	}
	return bits, true
}

// valueLimit bounds intermediate values so that sums cannot overflow; every
// field is far narrower.
const valueLimit = 1 << 40

// maxNesting bounds parentheses and unary signs, so that no input can
// exhaust the stack.
const maxNesting = 64

// eval evaluates an operand expression: numbers, named constants, register
// names and (when sec is not nil) the labels of sec, joined by + and -.
func (as *assembler) eval(op operand, sec *section) (int, bool) {
	if len(op.toks) == 0 {
		as.errorf(op.pos, "missing value")
		return 0, false
	}
	p := exprParser{as: as, toks: op.toks, line: op.pos.Line, sec: sec}
	v, ok := p.expr(0)
	if ok && p.i < len(p.toks) {
		t := p.toks[p.i]
		as.errorf(as.at(p.line, t.col), "unexpected %q; join values with + or -", t.text)
		return 0, false
	}
	return int(v), ok
}

type exprParser struct {
	as   *assembler
	toks []token
	i    int
	line int
	sec  *section
}

func (p *exprParser) fail(t token, format string, args ...any) (int64, bool) {
	p.as.errorf(p.as.at(p.line, t.col), format, args...)
	return 0, false
}

func (p *exprParser) expr(depth int) (int64, bool) {
	v, ok := p.term(depth)
	for ok && p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.kind != tPunct || t.text != "+" && t.text != "-" {
			break
		}
		p.i++
		var w int64
		if w, ok = p.term(depth); !ok {
			break
		}
		if t.text == "-" {
			w = -w
		}
		if v += w; v > valueLimit || v < -valueLimit {
			return p.fail(t, "value too large")
		}
	}
	return v, ok
}

func (p *exprParser) term(depth int) (int64, bool) {
	if p.i >= len(p.toks) {
		last := p.toks[len(p.toks)-1]
		return p.fail(token{col: last.col + len(last.text)}, "missing value after %q", last.text)
	}
	if depth > maxNesting {
		return p.fail(p.toks[p.i], "expression nested too deeply")
	}
	t := p.toks[p.i]
	p.i++
	switch {
	case t.text == "-":
		v, ok := p.term(depth + 1)
		return -v, ok
	case t.text == "(":
		v, ok := p.expr(depth + 1)
		if !ok {
			return 0, false
		}
		if p.i >= len(p.toks) || p.toks[p.i].text != ")" {
			return p.fail(t, "this ( is not closed")
		}
		p.i++
		return v, true
	case t.kind == tNumber:
		v, err := strconv.ParseInt(t.text, 0, 64)
		if err != nil || v > valueLimit {
			return p.fail(t, "bad number %q", t.text)
		}
		return v, true
	case t.kind == tIdent:
		return p.name(t)
	}
	return p.fail(t, "unexpected %q where a value should be", t.text)
}

// name resolves an identifier: a label of the section (for branch targets),
// a constant, or a register.
func (p *exprParser) name(t token) (int64, bool) {
	if p.sec != nil {
		if l, ok := p.sec.labels[t.text]; ok {
			return int64(l.index), true
		}
	}
	if c, ok := p.as.consts[t.text]; ok {
		return int64(c.value), true
	}
	v, isReg, msg := regSymbol(p.as.a, t.text)
	switch {
	case msg != "":
		return p.fail(t, "%s", msg)
	case isReg:
		return int64(v), true
	case p.sec != nil:
		return p.fail(t, "undefined label %s in %s; define it with \"%s:\" before an instruction of this section", t.text, p.sec.sectionKey, t.text)
	}
	return p.fail(t, "undefined name %s: not a constant (.const), a register (rN, xinM.K, xoutM.K) or, here, a label", t.text)
}

// regSymbol reads register names: xinM.K and xoutM.K (K one of mvm, mtvm,
// opa) for the crossbar buffers of matrix unit M, rN for data-memory word N.
// It reports whether name has that shape, and if so what is wrong with it.
func regSymbol(a Arch, name string) (int, bool, string) {
	if n, ok := strings.CutPrefix(name, "r"); ok && allDigits(n) {
		w, err := strconv.Atoi(n)
		if err != nil || w >= a.RegisterWords {
			return 0, true, fmt.Sprintf("%s is beyond data memory: it has %d words (r0..r%d)", name, a.RegisterWords, a.RegisterWords-1)
		}
		return a.DataBase() + w, true, ""
	}
	area, rest := "xin", ""
	switch {
	case strings.HasPrefix(name, "xin"):
		rest = name[3:]
	case strings.HasPrefix(name, "xout"):
		area, rest = "xout", name[4:]
	default:
		return 0, false, ""
	}
	unitText, bufText, found := strings.Cut(rest, ".")
	if !found || !allDigits(unitText) {
		return 0, false, ""
	}
	unit, err := strconv.Atoi(unitText)
	if err != nil || unit >= a.MatrixUnits {
		return 0, true, fmt.Sprintf("%s: matrix unit %s does not exist: %s", name, unitText, unitsText(a))
	}
	k := slices.Index(xbarOpNames[:], bufText)
	if k < 0 {
		return 0, true, fmt.Sprintf("%s: unknown buffer %q; use %s%d.mvm, %s%d.mtvm or %s%d.opa", name, bufText, area, unit, area, unit, area, unit)
	}
	if area == "xin" {
		return a.XbarIn(unit, XbarOp(k)), true, ""
	}
	return a.XbarOut(unit, XbarOp(k)), true, ""
}

// code collects the assembled sections and data into Code, checking that the
// data segments of each tile fit shared memory and do not overlap.
func (as *assembler) code(keys []sectionKey) Code {
	var c Code
	for _, k := range keys {
		sec := as.sections[k]
		var insts []Inst // nil when empty, as the program reader returns
		for _, s := range sec.stmts {
			insts = append(insts, s.inst)
		}
		if k.core < 0 {
			c.Tiles = append(c.Tiles, TileCode{Tile: k.tile, Insts: insts, Data: as.segments(k.tile)})
			continue
		}
		t := &c.Tiles[len(c.Tiles)-1] // the tile's own section sorts first and always exists
		t.Cores = append(t.Cores, CoreCode{Core: k.core, Insts: insts})
	}
	return c
}

func (as *assembler) segments(tile int) []Segment {
	segs := as.data[tile]
	slices.SortStableFunc(segs, func(x, y *dataSeg) int { return cmp.Compare(x.Addr, y.Addr) })
	var out []Segment
	prevEnd, prevLine := 0, 0
	for _, s := range segs {
		end := s.Addr + len(s.Words)
		switch {
		case len(s.Words) == 0:
			as.errorf(s.pos, ".data %d has no words: follow it with .word lines", s.Addr)
		case s.Addr < 0 || end > as.a.SharedWords:
			as.errorf(s.pos, "data at %d..%d lies outside shared memory (0..%d)", s.Addr, end-1, as.a.SharedWords-1)
		case len(out) > 0 && s.Addr < prevEnd:
			as.errorf(s.pos, "data at %d..%d overlaps the data from line %d (ending at %d)", s.Addr, end-1, prevLine, prevEnd-1)
		default:
			out = append(out, s.Segment)
			prevEnd, prevLine = end, s.pos.Line
		}
	}
	return out
}

func mnemonics() []string {
	names := make([]string, len(table))
	for i, d := range table {
		names[i] = d.Name
	}
	return names
}

// suggest returns "; did you mean X?" for the candidate closest to word, if
// it is close enough to be a likely typo.
func suggest(word string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
