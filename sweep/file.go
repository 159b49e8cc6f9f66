package sweep

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Sweep is a sweep file, checked and expanded into its points.
type Sweep struct {
	// Path is the file read; Source its content.
	Path   string
	Source []byte
	Kind   string
	Runner Runner
	// Points are the resolved parameters, in order: a grid's last key
	// varies fastest, a list keeps its order.
	Points []Params
	// IDs identify the points (see Record.ID).
	IDs []string
	// Varied are the keys the grid or list sets, in file order.
	Varied []string
	Slurm  Slurm
}

// Slurm holds the resources each array task asks for (the sweep file's
// slurm section); empty fields are left to the cluster's defaults.
type Slurm struct {
	Time      string   `json:"time,omitempty"`
	CPUs      int      `json:"cpus,omitempty"`
	Mem       string   `json:"mem,omitempty"`
	Partition string   `json:"partition,omitempty"`
	Account   string   `json:"account,omitempty"`
	Chunk     int      `json:"chunk,omitempty"` // points per array task (default 1)
	Options   []string `json:"options,omitempty"`
}

// The top-level keys of a sweep file and of its slurm section.
var (
	topKeys   = []string{"kind", "base", "grid", "list", "slurm"}
	slurmKeys = []string{"time", "cpus", "mem", "partition", "account", "chunk", "options"}
)

// MaxPoints bounds the points of one sweep.
const MaxPoints = 1 << 20

// ReadFile reads and checks a sweep file.
func ReadFile(path string) (*Sweep, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep file: %w", err)
	}
	return Parse(path, src)
}

// parser collects errors with their positions.
type parser struct {
	name string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d:%d: %s", p.name, n.Line, n.Column, fmt.Sprintf(format, args...)))
}

// mapping walks a mapping node's pairs, rejecting repeated keys.
func (p *parser) mapping(n *yaml.Node, what string, each func(k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping of key: value", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: a key must be a plain name", what)
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "%s: key %s given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		each(k, v)
	}
}

// Parse checks a sweep file's content (name is used in messages) and
// expands its points. Every error carries name:line:column; all are
// reported together.
func Parse(name string, src []byte) (*Sweep, error) {
	p := &parser{name: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s:1:1: empty sweep file: want kind, base and a grid or a list", name)
	}
	root := doc.Content[0]
	s := &Sweep{Path: name, Source: src}
	sections := map[string]*yaml.Node{}
	p.mapping(root, "sweep file", func(k, v *yaml.Node) {
		if !slices.Contains(topKeys, k.Value) {
			p.errorf(k, "unknown key %q: want one of %s", k.Value, strings.Join(topKeys, ", "))
			return
		}
		sections[k.Value] = k
		sections[k.Value+":value"] = v
	})
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	kindNode := sections["kind:value"]
	if kindNode == nil {
		return nil, fmt.Errorf("%s:%d:%d: no kind: want kind: one of %s", name, root.Line, root.Column, strings.Join(Kinds(), ", "))
	}
	s.Kind = kindNode.Value
	r, ok := lookup(s.Kind)
	if kindNode.Kind != yaml.ScalarNode || !ok {
		p.errorf(kindNode, "unknown kind %q: want one of %s", kindNode.Value, strings.Join(Kinds(), ", "))
		return nil, errors.Join(p.errs...)
	}
	s.Runner = r
	keys := r.Keys()

	// The base: defaults, overridden by the file's base section.
	base := Params{}
	for _, k := range keys {
		v, err := k.Parse(k.Default)
		if err != nil {
			return nil, fmt.Errorf("sweep: kind %s: default of %s: %w", s.Kind, k.Name, err) // a bug in the Runner's table
		}
		base[k.Name] = v
	}
	inBase := map[string]bool{}
	if n := sections["base:value"]; n != nil && !isNull(n) {
		p.mapping(n, "base", func(k, v *yaml.Node) {
			if val, ok := p.value(keys, k, v); ok {
				base[k.Value] = val
				inBase[k.Value] = true
			}
		})
	}

	grid, list := sections["grid:value"], sections["list:value"]
	var points []Params
	switch {
	case grid != nil && list != nil:
		p.errorf(sections["list"], "give either a grid or a list, not both")
	case grid != nil:
		points = p.grid(s, keys, base, inBase, grid)
	case list != nil:
		points = p.list(s, keys, base, inBase, list)
	default:
		p.errorf(root, "no points: give a grid (key: [values...]) or a list of points")
	}
	if n := sections["slurm:value"]; n != nil && !isNull(n) {
		p.slurm(&s.Slurm, n)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	// Every point must make a valid run before anything starts.
	where := sections["grid"]
	if where == nil {
		where = sections["list"]
	}
	for i, pt := range points {
		if err := r.Check(pt); err != nil {
			n := where
			if list != nil && list.Kind == yaml.SequenceNode && i < len(list.Content) {
				n = list.Content[i]
			}
			p.errorf(n, "point %d (%s): %v", i, describe(pt, s.Varied), err)
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	s.Points = points
	for _, pt := range points {
		s.IDs = append(s.IDs, id(s.Kind, pt))
	}
	return s, nil
}

// value parses one key's scalar value with the key's parser.
func (p *parser) value(keys []Key, k, v *yaml.Node) (any, bool) {
	key, ok := findKey(keys, k.Value)
	if !ok {
		p.errorf(k, "unknown key %q: want one of %s", k.Value, strings.Join(keyNames(keys), ", "))
		return nil, false
	}
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, "%s: want a single value", k.Value)
		return nil, false
	}
	val, err := key.Parse(v.Value)
	if err != nil {
		p.errorf(v, "%s: %v", k.Value, err)
		return nil, false
	}
	return val, true
}

// grid expands a cartesian product; the last key varies fastest.
func (p *parser) grid(s *Sweep, keys []Key, base Params, inBase map[string]bool, n *yaml.Node) []Params {
	type axis struct {
		key    string
		values []any
	}
	var axes []axis
	p.mapping(n, "grid", func(k, v *yaml.Node) {
		if inBase[k.Value] {
			p.errorf(k, "%s is set in base too: give it in one place", k.Value)
			return
		}
		if v.Kind != yaml.SequenceNode {
			p.errorf(v, "grid %s: want a list of values, such as [a, b]", k.Value)
			return
		}
		if len(v.Content) == 0 {
			p.errorf(v, "grid %s: empty list of values", k.Value)
			return
		}
		a := axis{key: k.Value}
		var nodes []*yaml.Node
		for _, e := range v.Content {
			val, ok := p.value(keys, k, e)
			if !ok {
				continue
			}
			// A value given twice would run every point it is in twice.
			if j := slices.Index(a.values, val); j >= 0 {
				p.errorf(e, "grid %s: %s is the value at %d:%d again: give each value once", k.Value, e.Value, nodes[j].Line, nodes[j].Column)
				continue
			}
			a.values = append(a.values, val)
			nodes = append(nodes, e)
		}
		if len(a.values) == len(v.Content) {
			axes = append(axes, a)
		}
	})
	if n.Kind == yaml.MappingNode && len(n.Content) == 0 {
		p.errorf(n, "empty grid: give at least one key with a list of values")
	}
	if len(p.errs) > 0 {
		return nil
	}
	total := 1
	for _, a := range axes {
		if total *= len(a.values); total > MaxPoints {
			p.errorf(n, "the grid has more than %d points", MaxPoints)
			return nil
		}
	}
	points := []Params{base}
	for _, a := range axes {
		s.Varied = append(s.Varied, a.key)
		next := make([]Params, 0, len(points)*len(a.values))
		for _, pt := range points {
			for _, v := range a.values {
				q := maps.Clone(pt)
				q[a.key] = v
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

// list reads explicit points.
func (p *parser) list(s *Sweep, keys []Key, base Params, inBase map[string]bool, n *yaml.Node) []Params {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "list: want a sequence of points, each a mapping of key: value")
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "empty list: give at least one point")
		return nil
	}
	var points []Params
	first := map[string]*yaml.Node{} // by point id
	for _, e := range n.Content {
		pt := maps.Clone(base)
		p.mapping(e, "list point", func(k, v *yaml.Node) {
			if inBase[k.Value] {
				p.errorf(k, "%s is set in base too: give it in one place", k.Value)
				return
			}
			if val, ok := p.value(keys, k, v); ok {
				pt[k.Value] = val
				if !slices.Contains(s.Varied, k.Value) {
					s.Varied = append(s.Varied, k.Value)
				}
			}
		})
		if f := first[id(s.Kind, pt)]; f != nil {
			p.errorf(e, "list point %d is the point at %d:%d again: give each point once (vary the seed to repeat a run)", len(points), f.Line, f.Column)
		} else {
			first[id(s.Kind, pt)] = e
		}
		points = append(points, pt)
	}
	return points
}

func (p *parser) slurm(out *Slurm, n *yaml.Node) {
	p.mapping(n, "slurm", func(k, v *yaml.Node) {
		if !slices.Contains(slurmKeys, k.Value) {
			p.errorf(k, "unknown slurm key %q: want one of %s", k.Value, strings.Join(slurmKeys, ", "))
			return
		}
		if k.Value == "options" {
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "slurm options: want a list of sbatch options, such as [--qos=short]")
				return
			}
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode || !strings.HasPrefix(e.Value, "--") || strings.ContainsAny(e.Value, "\n\r") {
					p.errorf(e, "slurm options: want an sbatch option starting with --, on one line")
					continue
				}
				out.Options = append(out.Options, e.Value)
			}
			return
		}
		if v.Kind != yaml.ScalarNode || strings.ContainsAny(v.Value, "\n\r") {
			p.errorf(v, "slurm %s: want a single value on one line", k.Value)
			return
		}
		switch k.Value {
		case "cpus", "chunk":
			i, err := strconv.Atoi(v.Value)
			if err != nil || i < 1 {
				p.errorf(v, "slurm %s: want a whole number of at least 1, got %q", k.Value, v.Value)
				return
			}
			if k.Value == "cpus" {
				out.CPUs = i
			} else {
				out.Chunk = i
			}
		case "time":
			out.Time = v.Value
		case "mem":
			out.Mem = v.Value
		case "partition":
			out.Partition = v.Value
		case "account":
			out.Account = v.Value
		}
	})
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }
