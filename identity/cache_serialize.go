package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// The cache is read and written by a small purpose-built JSON reader and writer rather
// than encoding/json: a cache of 10,000 accounts is ~25 MB, and a generic decoder into
// maps costs several times the 50 ms budget. The reader takes substrings of one copy of
// the input (no allocation per string), and falls back to encoding/json for anything
// unusual (escaped strings, values of unknown members), so it accepts exactly JSON.

// cacheSyntaxError is a malformed cache.
type cacheSyntaxError struct {
	off int
	msg string
}

func (e *cacheSyntaxError) Error() string {
	return fmt.Sprintf("identity: token cache is not valid: %s (at byte %d)", e.msg, e.off)
}

type jsonReader struct {
	s string
	i int
}

func (r *jsonReader) fail(format string, args ...any) error {
	return &cacheSyntaxError{off: r.i, msg: fmt.Sprintf(format, args...)}
}

func (r *jsonReader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i >= len(r.s) {
		return 0
	}
	return r.s[r.i]
}

func (r *jsonReader) expect(c byte) error {
	if r.peek() != c {
		if r.i >= len(r.s) {
			return r.fail("unexpected end of input, want %q", c)
		}
		return r.fail("want %q, found %q", c, r.s[r.i])
	}
	r.i++
	return nil
}

// str reads a JSON string.
func (r *jsonReader) str() (string, error) {
	if r.peek() != '"' {
		if r.i >= len(r.s) {
			return "", r.fail("unexpected end of input, want a string")
		}
		return "", r.fail("want a string, found %q", r.s[r.i])
	}
	start := r.i
	r.i++
	// Fast path: a string of plain ASCII (every token is), found 8 bytes at a time.
	r.i += plainPrefix(r.s[r.i:])
	if r.i < len(r.s) && r.s[r.i] == '"' {
		r.i++
		return r.s[start+1 : r.i-1], nil
	}
	escaped := false
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			body := r.s[start+1 : r.i-1]
			if !escaped && utf8.ValidString(body) {
				return body, nil
			}
			var out string
			if err := json.Unmarshal([]byte(r.s[start:r.i]), &out); err != nil {
				return "", &cacheSyntaxError{off: start, msg: "bad string: " + err.Error()}
			}
			return out, nil
		case c == '\\':
			escaped = true
			r.i += 2
		case c < 0x20:
			return "", r.fail("control character in string")
		default:
			r.i++
		}
	}
	return "", r.fail("unexpected end of input in a string")
}

// rawValue reads any JSON value and returns its text, validated by encoding/json.
// It finds the value's end without recursion, so deep nesting cannot exhaust the stack.
func (r *jsonReader) rawValue() (string, error) {
	r.ws()
	start := r.i
	if r.i >= len(r.s) {
		return "", r.fail("unexpected end of input, want a value")
	}
	switch r.s[r.i] {
	case '"':
		if _, err := r.str(); err != nil {
			return "", err
		}
	case '{', '[':
		depth := 0
	scan:
		for {
			if r.i >= len(r.s) {
				return "", r.fail("unexpected end of input in a value")
			}
			switch r.s[r.i] {
			case '"':
				if _, err := r.str(); err != nil {
					return "", err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					r.i++
					break scan
				}
			}
			r.i++
		}
	default:
		for r.i < len(r.s) && !strings.ContainsRune(",}] \t\n\r", rune(r.s[r.i])) {
			r.i++
		}
	}
	raw := r.s[start:r.i]
	if raw == "" || !json.Valid([]byte(raw)) {
		return "", &cacheSyntaxError{off: start, msg: "malformed value"}
	}
	if raw[0] == '{' || raw[0] == '[' {
		var b bytes.Buffer
		if json.Compact(&b, []byte(raw)) == nil {
			raw = b.String()
		}
	}
	return raw, nil
}

// object calls member for each member of a JSON object.
func (r *jsonReader) object(member func(name string) error) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	if r.peek() == '}' {
		r.i++
		return nil
	}
	for {
		name, err := r.str()
		if err != nil {
			return err
		}
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return nil
		case 0:
			return r.fail("unexpected end of input in an object")
		default:
			return r.fail("want ',' or '}', found %q", r.s[r.i])
		}
	}
}

// parseCache reads a serialized cache into a fresh state.
func parseCache(data []byte) (*cacheState, error) {
	// Size the maps up front from the input: an account's four entries take about
	// 3 KB, so this is close for typical caches and merely rehashes for others.
	st := newCacheState(len(data) / 3000)
	r := &jsonReader{s: string(data)}
	if r.peek() == 0 { // empty input is an empty cache, as in MSAL Python
		return st, nil
	}
	if r.peek() != '{' {
		return nil, r.fail("the cache is not a JSON object")
	}
	err := r.object(func(section string) error {
		k, known := kindOf(section)
		if !known {
			raw, err := r.rawValue()
			if err != nil {
				return err
			}
			st.unknown = setRaw(st.unknown, section, raw)
			return nil
		}
		if r.peek() != '{' {
			return r.fail("section %s is not a JSON object", section)
		}
		return r.object(func(key string) error {
			e, err := r.cacheEntry(k, section, key)
			if err != nil {
				return err
			}
			st.add(e)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if r.peek() != 0 {
		return nil, r.fail("unexpected data after the cache object")
	}
	return st, nil
}

func (r *jsonReader) cacheEntry(k cacheKind, section, key string) (*cacheEntry, error) {
	if r.peek() != '{' {
		return nil, r.fail("%s entry %q is not a JSON object", section, key)
	}
	e := &cacheEntry{cacheKind: k, key: key}
	err := r.object(func(name string) error {
		f, known := fieldOf(name)
		if !known {
			raw, err := r.rawValue()
			if err != nil {
				return err
			}
			e.extra = setRaw(e.extra, name, raw)
			return nil
		}
		switch r.peek() {
		case '"':
			v, err := r.str()
			if err != nil {
				return err
			}
			e.put(f, v)
		case 'n':
			if !strings.HasPrefix(r.s[r.i:], "null") {
				return r.fail("%s entry %q: bad value of %s", section, key, name)
			}
			r.i += 4
			e.putNull(f)
		default:
			return r.fail("%s entry %q: %s must be a string", section, key, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.derive()
	return e, nil
}

// setRaw sets name in a name-sorted list (a repeated name keeps the last value, as
// encoding/json does).
func setRaw(list []rawMember, name, raw string) []rawMember {
	i, found := slices.BinarySearchFunc(list, name, func(f rawMember, n string) int { return strings.Compare(f.name, n) })
	if found {
		list[i].raw = raw
		return list
	}
	return slices.Insert(list, i, rawMember{name, raw})
}

// jsonWriter emits compact JSON with one cache entry per line (small, yet readable
// and diffable), members sorted so the same cache always serializes to the same bytes.
type jsonWriter struct {
	b []byte
}

func (w *jsonWriter) str(s string) {
	w.b = appendJSONString(w.b, s)
}

// member starts a member; newline puts it on a line of its own.
func (w *jsonWriter) member(newline, first bool, name string) {
	if !first {
		w.b = append(w.b, ',')
	}
	if newline {
		w.b = append(w.b, '\n')
	}
	w.str(name)
	w.b = append(w.b, ':')
}

func (w *jsonWriter) cacheEntry(e *cacheEntry) {
	w.b = append(w.b, '{')
	first := true
	x := 0
	for f := cacheField(0); f < numFields; f++ {
		if !e.has(f) {
			continue
		}
		for x < len(e.extra) && e.extra[x].name < fieldNames[f] {
			w.member(false, first, e.extra[x].name)
			w.b = append(w.b, e.extra[x].raw...)
			first = false
			x++
		}
		if !first {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, quotedFieldNames[f]...)
		first = false
		if e.null&(1<<f) != 0 {
			w.b = append(w.b, "null"...)
		} else {
			w.str(e.v[f])
		}
	}
	for ; x < len(e.extra); x++ {
		w.member(false, first, e.extra[x].name)
		w.b = append(w.b, e.extra[x].raw...)
		first = false
	}
	w.b = append(w.b, '}')
}

// quotedFieldNames are the known fields' `"name":`, written without escaping.
var quotedFieldNames = func() (q [numFields]string) {
	for f, n := range fieldNames {
		q[f] = `"` + n + `":`
	}
	return q
}()

// serializeState writes st. Known and unknown sections are merged in name order.
func serializeState(st *cacheState) []byte {
	b, _ := serializeEach(st, 0, nil)
	return b
}

// serializeEach is serializeState that, given each, hands it every entry as soon as
// it is written, and returns the sections it wrote (SerializeEach). size, when not
// 0, is the output's expected size, which spares walking every entry to estimate it.
func serializeEach(st *cacheState, size int, each func(doc []byte, sections []string, e EntryLayout)) (_ []byte, sections []string) {
	if size <= 0 {
		size = serializedSize(st)
	}
	w := &jsonWriter{b: make([]byte, 0, size)}
	w.b = append(w.b, '{')
	first := true
	u := 0
	writeUnknown := func(f rawMember) {
		w.member(true, first, f.name)
		first = false
		w.b = append(w.b, f.raw...)
	}
	entries := make([]*cacheEntry, 0, 1024)
	for k := cacheKind(0); k < numKinds; k++ {
		for u < len(st.unknown) && st.unknown[u].name < sectionNames[k] {
			writeUnknown(st.unknown[u])
			u++
		}
		w.member(true, first, sectionNames[k])
		first = false
		w.b = append(w.b, '{')
		entries = entries[:0]
		for _, e := range st.sections[k] {
			entries = append(entries, e)
		}
		slices.SortFunc(entries, func(a, b *cacheEntry) int { return strings.Compare(a.key, b.key) })
		if each != nil {
			sections = append(sections, sectionNames[k])
		}
		for i, e := range entries {
			start := len(w.b) + 1 // after the newline (and the comma) member writes
			if i > 0 {
				start++
			}
			w.member(true, i == 0, e.key)
			w.cacheEntry(e)
			if each != nil {
				each(w.b, sections, entryLayout(len(sections)-1, start, len(w.b), e))
			}
		}
		w.b = append(w.b, '}')
	}
	for ; u < len(st.unknown); u++ {
		writeUnknown(st.unknown[u])
	}
	w.b = append(w.b, "\n}\n"...)
	return w.b, sections
}

// serializedSize estimates the output length from above (escapes aside), so the
// output is written into one allocation.
func serializedSize(st *cacheState) int {
	n := 256
	for _, u := range st.unknown {
		n += len(u.name) + len(u.raw) + 16
	}
	for _, sec := range st.sections {
		n += 32
		for key, e := range sec {
			n += len(key) + 24
			for f := cacheField(0); f < numFields; f++ {
				if e.has(f) {
					n += len(fieldNames[f]) + len(e.v[f]) + 8
				}
			}
			for _, x := range e.extra {
				n += len(x.name) + len(x.raw) + 8
			}
		}
	}
	return n
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the output always parses.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := plainPrefix(s); i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = fmt.Appendf(b, `\u%04x`, c)
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainPrefix returns the length of s's leading run of bytes that need no JSON
// escaping and are ASCII: not a control character, '"', '\\' or >= 0x80. It tests 8
// bytes at a time (SWAR), which makes reading and writing the cache several times
// faster than a byte loop: nearly all of a cache is such bytes.
func plainPrefix(s string) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := word8(s[i : i+8])
		q := x ^ (lo * '"')
		b := x ^ (lo * '\\')
		// A byte below 0x20, equal to '"' or '\\', or with the high bit set.
		if ((x-lo*0x20)&^x|(q-lo)&^q|(b-lo)&^b|x)&hi != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return i
}
