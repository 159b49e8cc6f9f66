package arch

import (
	"embed"
	"encoding"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed presets/*.yaml
var presetFS embed.FS

// Presets lists the names of the embedded presets, sorted.
func Presets() []string {
	entries, _ := presetFS.ReadDir("presets") // embedded at build time
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// PresetSource returns the YAML text of a preset.
func PresetSource(name string) ([]byte, error) {
	b, err := presetFS.ReadFile("presets/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no preset %q: the presets are %s", name, strings.Join(Presets(), ", "))
	}
	return b, nil
}

// Load returns a preset by name, or else reads the YAML file at nameOrPath.
func Load(nameOrPath string) (*Arch, error) {
	if slices.Contains(Presets(), nameOrPath) {
		return Preset(nameOrPath)
	}
	src, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && filepath.Ext(nameOrPath) == "" {
			return nil, fmt.Errorf("architecture %q is neither a preset (%s) nor a file", nameOrPath, strings.Join(Presets(), ", "))
		}
		return nil, err
	}
	a, err := Parse(nameOrPath, src)
	if err != nil {
		return nil, err
	}
	if err := a.loadDeviceTable(filepath.Dir(nameOrPath)); err != nil {
		return nil, err
	}
	return a, nil
}

// Preset returns an embedded preset.
func Preset(name string) (*Arch, error) {
	src, err := PresetSource(name)
	if err != nil {
		return nil, err
	}
	return Parse("presets/"+name+".yaml", src)
}

// Default is the preset panther.
func Default() *Arch {
	a, err := Preset("panther")
	if err != nil {
		panic(err) // the embedded presets are checked by the tests
	}
	return a
}

// Parse decodes and validates an architecture file. file names the source
// in errors.
func Parse(file string, src []byte) (*Arch, error) {
	d := &decoder{pos: map[string]string{}}
	a := &Arch{}
	if err := d.file(a, file, src, 0); err != nil {
		return nil, err
	}
	if err := a.validate(file, d.pos); err != nil {
		return nil, err
	}
	return a, nil
}

// loadDeviceTable reads a device table named relative to the file's folder.
func (a *Arch) loadDeviceTable(dir string) error {
	dev := &a.Crossbar.Device
	if dev.TablePath != "" && !filepath.IsAbs(dev.TablePath) {
		dev.TablePath = filepath.Join(dir, dev.TablePath)
	}
	if err := dev.Load(); err != nil {
		return fmt.Errorf("crossbar.device: %w", err)
	}
	return nil
}

// maxBaseDepth bounds chains of base presets.
const maxBaseDepth = 8

// decoder fills an Arch from YAML nodes, strictly: every key must name a
// field, every value must have the field's type. It records where each field
// was set, so that validation can point at it.
type decoder struct {
	pos map[string]string // field path -> "file:line:col"
}

func (d *decoder) file(a *Arch, file string, src []byte, depth int) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("%s: %v", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return fmt.Errorf("%s: the file is empty: give an architecture, e.g. base: panther", file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d:%d: want a mapping of architecture keys (base, name, structure, ...)", file, root.Line, root.Column)
	}
	if base := lookup(root, "base"); base != nil {
		if depth >= maxBaseDepth {
			return fmt.Errorf("%s:%d:%d: base presets nest deeper than %d", file, base.Line, base.Column, maxBaseDepth)
		}
		src, err := PresetSource(base.Value)
		if base.Kind != yaml.ScalarNode || err != nil {
			return fmt.Errorf("%s:%d:%d: base: %q is not a preset; the presets are %s", file, base.Line, base.Column, base.Value, strings.Join(Presets(), ", "))
		}
		if err := d.file(a, "presets/"+base.Value+".yaml", src, depth+1); err != nil {
			return err
		}
	}
	if err := d.value(file, root, reflect.ValueOf(a).Elem(), "", 0); err != nil {
		return err
	}
	if depth == 0 && lookup(root, "name") == nil && lookup(root, "base") != nil {
		// A file that does not name itself is named after itself, not its base.
		a.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	a.Base = "" // the result is complete
	return nil
}

// lookup finds the value of key in a mapping node.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// maxNodeDepth bounds nesting (and alias expansion) of the input.
const maxNodeDepth = 16

func (d *decoder) value(file string, n *yaml.Node, v reflect.Value, path string, depth int) error {
	at := fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column)
	if depth > maxNodeDepth {
		return fmt.Errorf("%s: %s: nesting is too deep", at, path)
	}
	if n.Kind == yaml.AliasNode {
		return d.value(file, n.Alias, v, path, depth+1)
	}
	switch {
	case reflect.PointerTo(v.Type()).Implements(textUnmarshaler) || v.Kind() != reflect.Struct && v.Kind() != reflect.Slice:
		return d.scalar(at, n, v, path)
	case v.Kind() == reflect.Struct:
		return d.mapping(file, at, n, v, path, depth)
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s: %s: want a list", at, path)
	}
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if err := d.value(file, item, list.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
			return err
		}
	}
	v.Set(list) // a list replaces the base's list as a whole
	d.pos[path] = at
	return nil
}

func (d *decoder) mapping(file, at string, n *yaml.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: %s: want a mapping of keys (%s)", at, describe(path), strings.Join(fieldKeys(v.Type()), ", "))
	}
	if path != "" {
		d.pos[path] = at
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kat := fmt.Sprintf("%s:%d:%d", file, k.Line, k.Column)
		idx := fieldIndex(v.Type(), k.Value)
		if idx < 0 || k.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: unknown key %q in %s; the keys are %s", kat, k.Value, describe(path), strings.Join(fieldKeys(v.Type()), ", "))
		}
		if seen[k.Value] {
			return fmt.Errorf("%s: key %q appears twice in %s", kat, k.Value, describe(path))
		}
		seen[k.Value] = true
		if err := d.value(file, val, v.Field(idx), join(path, k.Value), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) scalar(at string, n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s: %s: want a single value (%s), not a %s", at, path, typeWord(v.Type()), kindWord(n.Kind))
	}
	// Decode into a fresh value so a failed decode leaves the field alone.
	fresh := reflect.New(v.Type())
	if err := n.Decode(fresh.Interface()); err != nil {
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msg = fmt.Sprintf("want %s, got %q", typeWord(v.Type()), n.Value)
		}
		return fmt.Errorf("%s: %s: %s", at, path, strings.TrimPrefix(msg, "yaml: "))
	}
	v.Set(fresh.Elem())
	d.pos[path] = at
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(path string) string {
	if path == "" {
		return "the architecture"
	}
	return path
}

// yamlKey is a struct field's YAML key, "" if it has none.
func yamlKey(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func fieldIndex(t reflect.Type, key string) int {
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" && k == key {
			return i
		}
	}
	return -1
}

func fieldKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func typeWord(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a " + t.Name() + " in text form"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.Kind().String()
}

func kindWord(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "document"
}
