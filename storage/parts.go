package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// A record's plaintext is its parts, each a kind byte and two length-prefixed byte
// strings (section, value).
const (
	kindWhole  byte = 0 // a section's whole value (not an object, or {})
	kindFrag   byte = 1 // entries of a section's object
	kindOpaque byte = 2 // a payload that is not a JSON object
)

func partKind(p part) byte {
	switch {
	case p.section == nil:
		return kindOpaque
	case p.frag:
		return kindFrag
	default:
		return kindWhole
	}
}

// encodedLen is the length of encodeParts(nil, parts).
func encodedLen(parts []part) int {
	n := 0
	for _, p := range parts {
		n += 1 + uvarintLen(len(p.section)) + len(p.section) + uvarintLen(len(p.value)) + len(p.value)
	}
	return n
}

func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// encodeParts appends parts' encoding to dst.
func encodeParts(dst []byte, parts []part) []byte {
	for _, p := range parts {
		dst = append(dst, partKind(p))
		dst = appendBytes(dst, p.section)
		dst = appendBytes(dst, p.value)
	}
	return dst
}

var errShort = errors.New("truncated record")

// decodeParts reverses encodeParts; the parts point into b.
func decodeParts(b []byte) ([]part, error) {
	if len(b) == 0 {
		return nil, nil
	}
	out := make([]part, 0, 4) // an account's record: access, refresh and ID tokens
	for len(b) > 0 {
		kind := b[0]
		if kind > kindOpaque {
			return nil, errShort
		}
		var p part
		var err error
		if p.section, b, err = readBytes(b[1:]); err != nil {
			return nil, err
		}
		if p.value, b, err = readBytes(b); err != nil {
			return nil, err
		}
		switch kind {
		case kindOpaque:
			p.section = nil
		case kindFrag:
			p.frag = true
		}
		if kind != kindOpaque && p.section == nil {
			return nil, errShort
		}
		out = append(out, p)
	}
	return out, nil
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// readBytes reads one length-prefixed byte string; empty reads as nil.
func readBytes(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, nil, errShort
	}
	v := b[k : k+int(n)]
	if n == 0 {
		v = nil
	}
	return v, b[k+int(n):], nil
}

// assemble builds one MSAL JSON document from records' parts: the payload the cache
// deserializes. Sections keep the order they first appear in; a section's fragments
// are joined by commas, so a whole cache is mostly a few long copies.
func assemble(groups ...[]part) []byte {
	type section struct {
		name  []byte
		frags [][]byte
		whole []byte // a member that is not an object, or {}
	}
	var secs []*section
	var byName map[string]*section // only when there are many sections
	find := func(name []byte) *section {
		if byName != nil {
			return byName[string(name)]
		}
		for _, s := range secs {
			if bytes.Equal(s.name, name) {
				return s
			}
		}
		return nil
	}
	size := 2
	var last *section
	for _, g := range groups {
		for _, p := range g {
			if p.section == nil {
				return p.value // a payload that was not a JSON object
			}
			s := last
			if s == nil || !bytes.Equal(s.name, p.section) {
				s = find(p.section)
				if s == nil {
					s = &section{name: p.section}
					secs = append(secs, s)
					if byName != nil {
						byName[string(s.name)] = s
					} else if len(secs) > 16 {
						byName = make(map[string]*section, 2*len(secs))
						for _, s := range secs {
							byName[string(s.name)] = s
						}
					}
					size += len(p.section) + 4
				}
				last = s
			}
			if p.frag {
				s.frags = append(s.frags, p.value)
				size += len(p.value) + 1
			} else {
				s.whole = p.value
				size += len(p.value)
			}
		}
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, s := range secs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, s.name...)
		out = append(out, ':')
		if len(s.frags) == 0 {
			out = append(out, s.whole...)
			continue
		}
		out = append(out, '{')
		for j, f := range s.frags {
			if j > 0 {
				out = append(out, ',')
			}
			out = append(out, f...)
		}
		out = append(out, '}')
	}
	return append(out, '}')
}
