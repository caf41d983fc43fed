package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/tokendesk/tokendesk/profile"
)

// ConfigError lists what is wrong with a config file, each problem with its line and
// field when known.
type ConfigError struct {
	File     string
	Problems []Problem
}

// Problem is one mistake in a config file.
type Problem struct {
	// Line and Column are 1-based; 0 when unknown (a config built in code).
	Line, Column int
	// Field is the JSON path, such as "profiles[1].authority"; "" for syntax errors.
	Field   string
	Message string
}

// String formats the problem as "line:col: field: message", leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", p.Line, p.Column)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem on its own line, each as file:line:col: field: message.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("storage: invalid config")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(e.File)
		b.WriteString(":")
		b.WriteString(p.String())
	}
	return b.String()
}

// parseConfig decodes and validates data, mapping every problem back to a line.
func parseConfig(path string, data []byte) (*Config, error) {
	fail := func(probs ...Problem) (*Config, error) {
		return nil, &ConfigError{File: path, Problems: probs}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail(Problem{Line: 1, Column: 1, Message: "file is empty; delete it to use the defaults"})
	}
	pos, keys, err := scanPositions(data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			l, col := lineCol(data, int(se.Offset))
			return fail(Problem{Line: l, Column: col, Message: "JSON syntax: " + se.Error()})
		}
		var sa syntaxAt
		if errors.As(err, &sa) {
			l, col := lineCol(data, sa.off)
			return fail(Problem{Line: l, Column: col, Message: "JSON syntax: " + sa.msg})
		}
		l, col := lineCol(data, len(data))
		return fail(Problem{Line: l, Column: col, Message: "JSON syntax: " + err.Error()})
	}
	if probs := checkKeys(data, keys); len(probs) > 0 {
		return fail(probs...)
	}
	c := &Config{ClipboardClearSeconds: DefaultClipboardClearSeconds}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			l, col := lineCol(data, int(te.Offset))
			field := te.Field
			if p, off, ok := fieldAt(pos, te.Field, int(te.Offset)); ok {
				field = p
				l, col = lineCol(data, off)
			}
			return fail(Problem{Line: l, Column: col, Field: field,
				Message: fmt.Sprintf("expected %s, found JSON %s", typeName(te.Type), te.Value)})
		}
		return fail(Problem{Message: err.Error()})
	}
	probs := c.validate()
	for i := range probs {
		if off, ok := lookupPos(pos, probs[i].Field); ok {
			probs[i].Line, probs[i].Column = lineCol(data, off)
		}
	}
	if len(probs) > 0 {
		return fail(probs...)
	}
	return c, nil
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list [...]"
	case reflect.Struct:
		return "an object {...}"
	}
	return t.String()
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// fieldAt turns encoding/json's index-free field name ("profiles.port") into the path
// of the occurrence that failed ("profiles[1].port"): the last one starting before off.
func fieldAt(pos map[string]int, field string, off int) (string, int, bool) {
	best, bestOff := "", -1
	if field == "" {
		return "", 0, false
	}
	for p, o := range pos {
		if o <= off && o > bestOff && strings.ReplaceAll(stripIndices(p), "[]", "") == field {
			best, bestOff = p, o
		}
	}
	return best, bestOff, bestOff >= 0
}

// syntaxAt is a syntax problem found by scanPositions itself.
type syntaxAt struct {
	off int
	msg string
}

func (e syntaxAt) Error() string { return e.msg }

// lookupPos finds where field is written or, for a missing field, where the object
// that lacks it starts.
func lookupPos(pos map[string]int, field string) (int, bool) {
	for {
		if off, ok := pos[field]; ok {
			return off, true
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			off, ok := pos[""]
			return off, ok
		}
		field = field[:i]
	}
}

// keyAt is an object key seen while scanning: its path and offset.
type keyAt struct {
	parent, name string
	off          int
}

// maxConfigDepth bounds nesting: the format is three levels deep, and a bound keeps a
// hostile file from recursing without end.
const maxConfigDepth = 16

// scanPositions walks the JSON tokens and returns the offset of every field (its key)
// and array element, by path ("profiles[1].name"), plus every object key.
func scanPositions(data []byte) (map[string]int, []keyAt, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	pos := map[string]int{}
	var keys []keyAt
	skip := func() int {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
			off++
		}
		return off
	}
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > maxConfigDepth {
			return fmt.Errorf("nested deeper than %d levels at %s", maxConfigDepth, path)
		}
		if _, ok := pos[path]; !ok {
			pos[path] = skip()
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				off := skip()
				k, err := dec.Token()
				if err != nil {
					return err
				}
				name, _ := k.(string)
				child := name
				if path != "" {
					child = path + "." + name
				}
				keys = append(keys, keyAt{parent: path, name: name, off: off})
				pos[child] = off
				if err := walk(child, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		return err
	}
	if err := walk("", 0); err != nil {
		return nil, nil, err
	}
	off := skip()
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, syntaxAt{off: off, msg: "unexpected data after the top-level object"}
	}
	return pos, keys, nil
}

// schema lists the allowed keys of each object, by parent path with indices removed.
var schema = map[string]map[string]bool{
	"":                     jsonFields(reflect.TypeFor[Config]()),
	"profiles[]":           jsonFields(reflect.TypeFor[profile.Profile]()),
	"account_favourites[]": jsonFields(reflect.TypeFor[AccountFavourites]()),
	"account_names[]":      jsonFields(reflect.TypeFor[AccountName]()),
	"refused_refresh[]":    jsonFields(reflect.TypeFor[AccountRef]()),
	"credential_hosts[]":   jsonFields(reflect.TypeFor[CredentialHost]()),
}

func jsonFields(t reflect.Type) map[string]bool {
	m := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}

// checkKeys reports unknown and duplicate keys: json.Decoder names unknown fields
// without a position, and silently lets a repeated key win.
func checkKeys(data []byte, keys []keyAt) []Problem {
	var probs []Problem
	seen := map[string]bool{}
	for _, k := range keys {
		field := k.name
		if k.parent != "" {
			field = k.parent + "." + k.name
		}
		l, col := lineCol(data, k.off)
		if seen[field] {
			probs = append(probs, Problem{Line: l, Column: col, Field: field, Message: "field appears twice"})
			continue
		}
		seen[field] = true
		allowed, known := schema[stripIndices(k.parent)]
		if !known || allowed[k.name] {
			continue
		}
		msg := fmt.Sprintf("unknown field %q", k.name)
		if strings.Contains(strings.ToLower(k.name), "secret") {
			msg += "; client secrets never go in this file: set secret_in_keyring and " +
				"enter the secret in Tokendesk, which keeps it in the OS keyring"
		} else if s := suggest(k.name, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		probs = append(probs, Problem{Line: l, Column: col, Field: field, Message: msg})
	}
	return probs
}

func stripIndices(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		b.WriteByte(path[i])
		if path[i] == '[' {
			for i+1 < len(path) && path[i+1] != ']' {
				i++
			}
		}
	}
	return b.String()
}

// suggest returns the allowed name closest to name when it is a likely typo.
func suggest(name string, allowed map[string]bool) string {
	best, bestD := "", 3
	for a := range allowed {
		if d := editDistance(strings.ToLower(name), a); d < bestD || (d == bestD && best != "" && a < best) {
			best, bestD = a, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
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
