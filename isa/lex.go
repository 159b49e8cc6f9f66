package isa

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Pos is a place in an assembly source; Col counts bytes from 1.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is one assembly error at a source position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList holds the errors of one assembly run in source order, at most
// MaxErrors of them (then a last entry says how many more there were).
type ErrorList []*Error

// MaxErrors is how many errors one assembly run reports.
const MaxErrors = 10

// Sorted returns the errors in source order, the first MaxErrors of them,
// then an entry saying how many more there were.
func (l ErrorList) Sorted() ErrorList {
	errs := slices.Clone(l)
	slices.SortStableFunc(errs, func(x, y *Error) int {
		return cmp.Or(cmp.Compare(x.Pos.Line, y.Pos.Line), cmp.Compare(x.Pos.Col, y.Pos.Col))
	})
	if len(errs) > MaxErrors {
		more := len(errs) - MaxErrors
		errs = append(errs[:MaxErrors:MaxErrors], &Error{errs[MaxErrors].Pos, fmt.Sprintf("too many errors: %d more not shown; fix these first", more)})
	}
	return errs
}

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

type tokKind uint8

const (
	tIdent  tokKind = iota // letters, digits, _ and ., not starting with a digit
	tNumber                // starts with a digit: decimal, 0x, 0b, 0o; _ separators allowed
	tPunct                 // one of , : + - = ( )
)

type token struct {
	kind tokKind
	text string
	col  int
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

// lexLine splits one line into tokens, dropping a comment that starts with
// # or ;. On a bad character it returns its column and a message.
func lexLine(line string) ([]token, int, string) {
	var toks []token
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '#' || c == ';':
			return toks, 0, ""
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.IndexByte(",:+-=()", c) >= 0:
			toks = append(toks, token{tPunct, line[i : i+1], i + 1})
			i++
		case isIdentStart(c) || '0' <= c && c <= '9':
			j := i + 1
			for j < len(line) && isIdentPart(line[j]) {
				j++
			}
			k := tIdent
			if '0' <= c && c <= '9' {
				k = tNumber
			}
			toks = append(toks, token{k, line[i:j], i + 1})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(line[i:])
			return nil, i + 1, fmt.Sprintf("unexpected character %q", r)
		}
	}
	return toks, 0, ""
}
