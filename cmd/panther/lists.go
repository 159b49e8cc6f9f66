package main

import (
	"fmt"
	"strconv"
	"strings"
)

// splitList reads a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// intList reads a comma-separated flag value of whole numbers.
func intList(flag, s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not a whole number", flag, p)
		}
		out = append(out, v)
	}
	return out, nil
}

// joinInts writes integers as a flag's comma-separated default.
func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
