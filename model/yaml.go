package model

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The YAML form:
//
//	name: mlp
//	input: [784]            # or [1, 28, 28] for images (C, H, W)
//	layers:
//	  - dense: {out: 256}   # in: inferred; bias: true unless set false
//	  - relu: {}            # or just "- relu"
//	  - dense: {out: 10}
//	loss: softmax_cross_entropy   # the default; or mse
//
// Decoding is strict: unknown keys and values of the wrong type are errors
// naming file:line:column.

// document is the top level; nodes keep positions for messages.
type document struct {
	Name   string    `yaml:"name"`
	Input  yaml.Node `yaml:"input"`
	Layers yaml.Node `yaml:"layers"`
	Loss   yaml.Node `yaml:"loss"`
}

var topKeys = "name, input, layers, loss"

// params lists the options each layer kind accepts.
var params = map[Kind][]string{
	Dense:   {"in", "out", "bias"},
	Conv2D:  {"in", "out", "kernel", "stride", "padding", "bias"},
	MaxPool: {"kernel", "stride"},
	AvgPool: {"kernel", "stride", "padding"},
	ReLU:    nil, Sigmoid: nil, Tanh: nil, Flatten: nil,
}

// ReadYAML reads a network from YAML; name labels messages (a file name).
// The network is checked with Infer.
func ReadYAML(name string, data []byte) (*Network, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc document
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty model file: give name, input, layers and loss", name)
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document: a model file holds one", name)
	}
	n := &Network{Name: doc.Name, Source: name, Loss: SoftmaxCrossEntropy}
	if n.Name == "" {
		n.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	if doc.Input.Kind == 0 {
		return nil, fmt.Errorf("%s: missing input: give the input shape, e.g. input: [784] or input: [1, 28, 28]", name)
	}
	var err error
	if n.Input, err = intList(name, &doc.Input, "input"); err != nil {
		return nil, err
	}
	if doc.Loss.Kind != 0 {
		var loss string
		if doc.Loss.Kind != yaml.ScalarNode || doc.Loss.Decode(&loss) != nil {
			return nil, fmt.Errorf("%s: loss: want one of %s", pos(name, &doc.Loss), joinLosses())
		}
		n.Loss = Loss(loss)
		if !slices.Contains(Losses, n.Loss) {
			return nil, fmt.Errorf("%s: unknown loss %q: want one of %s", pos(name, &doc.Loss), loss, joinLosses())
		}
	}
	if doc.Layers.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: layers: want a list of layers, e.g. - dense: {out: 10}", pos(name, &doc.Layers))
	}
	for _, item := range doc.Layers.Content {
		l, err := readLayer(name, item)
		if err != nil {
			return nil, err
		}
		n.Layers = append(n.Layers, l)
	}
	if err := n.Infer(); err != nil {
		return nil, err
	}
	return n, nil
}

// pos gives file:line:col of a node (file:? when the node is absent).
func pos(name string, n *yaml.Node) string {
	if n.Line == 0 {
		return name
	}
	return fmt.Sprintf("%s:%d:%d", name, n.Line, n.Column)
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type .*$`)
)

// yamlError turns a decoder error into file:line: messages.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		where := name
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			where, m = name+":"+g[1], g[2]
		}
		if g := unknownField.FindStringSubmatch(m); g != nil {
			m = fmt.Sprintf("unknown key %q: allowed keys are %s", g[1], topKeys)
		}
		out[i] = where + ": " + strings.TrimPrefix(m, "yaml: ")
	}
	return errors.New(strings.Join(out, "\n"))
}

func intList(name string, n *yaml.Node, what string) ([]int, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: %s: want a list of whole numbers, e.g. [784] or [1, 28, 28]", pos(name, n), what)
	}
	out := make([]int, len(n.Content))
	for i, c := range n.Content {
		v, err := intValue(name, c, what)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func intValue(name string, n *yaml.Node, what string) (int, error) {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < 0 || v > MaxValues {
		return 0, fmt.Errorf("%s: %s: want a whole number in [0, %d], got %q", pos(name, n), what, MaxValues, n.Value)
	}
	return v, nil
}

// readLayer reads one list item: "- kind: {options}" or "- kind".
func readLayer(name string, item *yaml.Node) (Layer, error) {
	var kindNode, opts *yaml.Node
	switch {
	case item.Kind == yaml.ScalarNode:
		kindNode = item
	case item.Kind == yaml.MappingNode && len(item.Content) == 2:
		kindNode, opts = item.Content[0], item.Content[1]
	default:
		return Layer{}, fmt.Errorf("%s: a layer is one kind with its options, e.g. - dense: {out: 10}", pos(name, item))
	}
	kind := Kind(kindNode.Value)
	allowed, ok := params[kind]
	if !ok {
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = string(k)
		}
		return Layer{}, fmt.Errorf("%s: unknown layer kind %q: want one of %s", pos(name, kindNode), kindNode.Value, strings.Join(names, ", "))
	}
	l := Layer{Kind: kind, Bias: true, Stride: 1, Source: pos(name, item)}
	if kind == MaxPool || kind == AvgPool {
		l.Stride = 0 // defaults to the kernel below
	}
	if opts != nil && !(opts.Kind == yaml.ScalarNode && opts.Tag == "!!null") {
		if opts.Kind != yaml.MappingNode {
			return Layer{}, fmt.Errorf("%s: %s options: want a mapping, e.g. {%s}", pos(name, opts), kind, exampleOptions(kind))
		}
		for i := 0; i+1 < len(opts.Content); i += 2 {
			k, v := opts.Content[i], opts.Content[i+1]
			if !slices.Contains(allowed, k.Value) {
				return Layer{}, fmt.Errorf("%s: %s has no option %q: %s", pos(name, k), kind, k.Value, allowedText(allowed))
			}
			what := string(kind) + "." + k.Value
			if k.Value == "bias" {
				if v.Kind != yaml.ScalarNode || v.Decode(&l.Bias) != nil {
					return Layer{}, fmt.Errorf("%s: %s: want true or false, got %q", pos(name, v), what, v.Value)
				}
				continue
			}
			x, err := intValue(name, v, what)
			if err != nil {
				return Layer{}, err
			}
			switch k.Value {
			case "in":
				l.In = x
			case "out":
				l.Out = x
			case "kernel":
				l.Kernel = x
			case "stride":
				if x == 0 {
					// Left out, a pool's stride is its kernel; written, 0
					// would mean that silently.
					return Layer{}, fmt.Errorf("%s: %s: want a stride >= 1, got 0 (%s)", pos(name, v), what, strideDefault(kind))
				}
				l.Stride = x
			case "padding":
				l.Padding = x
			}
		}
	}
	if (kind == Dense || kind == Conv2D) && l.Out == 0 {
		return Layer{}, fmt.Errorf("%s: %s needs out >= 1, e.g. {%s}", pos(name, item), kind, exampleOptions(kind))
	}
	if kind == Conv2D || kind == MaxPool || kind == AvgPool {
		if l.Kernel == 0 {
			return Layer{}, fmt.Errorf("%s: %s needs kernel >= 1, e.g. {%s}", pos(name, item), kind, exampleOptions(kind))
		}
		if l.Stride == 0 && kind != Conv2D {
			l.Stride = l.Kernel
		}
	}
	return l, nil
}

// strideDefault says what stride a layer of kind k has when it names none.
func strideDefault(k Kind) string {
	if k == Conv2D {
		return "leave it out for 1"
	}
	return "leave it out for the kernel size"
}

func allowedText(allowed []string) string {
	if len(allowed) == 0 {
		return "it takes no options"
	}
	return "allowed options are " + strings.Join(allowed, ", ")
}

func exampleOptions(k Kind) string {
	switch k {
	case Dense:
		return "out: 10"
	case Conv2D:
		return "out: 6, kernel: 5, padding: 2"
	case MaxPool, AvgPool:
		return "kernel: 2"
	}
	return ""
}

// ReadFile reads a network from a YAML file.
func ReadFile(path string) (*Network, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	return ReadYAML(path, data)
}

//go:embed presets/*.yaml
var presetFiles embed.FS

// Presets lists the bundled networks by name.
func Presets() []string {
	entries, _ := presetFiles.ReadDir("presets") // embedded: cannot fail
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = strings.TrimSuffix(e.Name(), ".yaml")
	}
	slices.Sort(names) // "mlp" before "mlp-big", not after
	return names
}

// Preset returns a bundled network: mlp, lenet, mlp-l4 or mlp-big.
func Preset(name string) (*Network, error) {
	data, err := presetFiles.ReadFile("presets/" + name + ".yaml")
	if err != nil || strings.ContainsAny(name, "/\\") {
		return nil, loadError(name, "not a preset")
	}
	n, err := ReadYAML("preset "+name, data)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Form is how a network is given by name (FormOf).
type Form int

const (
	PresetForm Form = iota // a bundled network
	YAMLForm               // a YAML file
	ONNXForm               // an ONNX file, which package onnx reads
)

// FormOf says how a network given by name is read. A name with an
// extension or a path separator is a file, which must exist: .yaml, .yml
// or no extension (a path such as nets/small) is YAML, .onnx is ONNX, in
// any case; any other name is a preset. An unknown extension, a missing
// file or an unknown preset is an error naming the accepted forms.
func FormOf(nameOrPath string) (Form, error) {
	ext := filepath.Ext(nameOrPath)
	if ext == "" && !strings.ContainsAny(nameOrPath, "/\\") {
		if !slices.Contains(Presets(), nameOrPath) {
			return 0, loadError(nameOrPath, "not a preset")
		}
		return PresetForm, nil
	}
	form := YAMLForm
	switch strings.ToLower(ext) {
	case "", ".yaml", ".yml":
	case ".onnx":
		form = ONNXForm
	default:
		return 0, loadError(nameOrPath, "unknown extension "+ext)
	}
	// Other failures (a folder, no permission) are the reader's to report.
	if _, err := os.Stat(nameOrPath); errors.Is(err, fs.ErrNotExist) {
		return 0, loadError(nameOrPath, "no such file")
	}
	return form, nil
}

// loadError is the one error for a name FormOf cannot read.
func loadError(nameOrPath, problem string) error {
	return fmt.Errorf("model %q: %s: want a preset (%s), a YAML file (.yaml, .yml) or an ONNX file (.onnx)",
		nameOrPath, problem, strings.Join(Presets(), ", "))
}

// Load returns the preset or reads the YAML file that nameOrPath names
// (FormOf); onnx.Load also reads ONNX files.
func Load(nameOrPath string) (*Network, error) {
	form, err := FormOf(nameOrPath)
	switch {
	case err != nil:
		return nil, err
	case form == ONNXForm:
		return nil, fmt.Errorf("model %q: an ONNX file: read it with onnx.Load", nameOrPath)
	case form == YAMLForm:
		return ReadFile(nameOrPath)
	}
	return Preset(nameOrPath)
}
