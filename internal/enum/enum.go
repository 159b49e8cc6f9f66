// Package enum gives small named enumerations (rounding modes, OPA modes,
// variants) one way to print and parse their names, so that every option
// rejects an unknown value by listing the allowed ones.
package enum

import (
	"fmt"
	"strings"
)

// Names lists an enumeration's names, indexed by value.
type Names[T ~uint8] []string

// String returns the name of v, or kind(v) for a value without one.
func (n Names[T]) String(kind string, v T) string {
	if int(v) < len(n) {
		return n[v]
	}
	return fmt.Sprintf("%s(%d)", kind, v)
}

// Parse returns the value named s (case and surrounding space ignored).
func (n Names[T]) Parse(kind, s string) (T, error) {
	for i, name := range n {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("%s %q: want one of %s", kind, s, strings.Join(n, ", "))
}
