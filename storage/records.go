package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// The store keeps the MSAL cache as per-account records (see README.md): every entry
// whose home_account_id is set belongs to the record of its home account id and
// environment, "<home_account_id>-<environment>" lower-cased (usecase's AccountKey);
// everything else (app metadata, app-only tokens, sections and members the store does
// not know, or a payload that is not a JSON object at all) belongs to the shared
// record, key "". Splitting never interprets more than it must: entries are kept as
// the raw JSON other MSAL apps wrote, byte for byte.

// item is one cache entry as raw JSON: its section name and key (JSON string tokens,
// quotes included) and its value. A top-level member whose value is not an object
// has no key; a payload that is not a JSON object is one item with neither section
// nor key.
type item struct{ section, key, value []byte }

// record is one record's entries and what the index keeps about them.
type record struct {
	key, home, env string
	items          []item // everything but the Account entries
	accounts       []item // the Account entries (kept in the index, for listings)
	usernames      []string
	latestExpiry   int64
	hasRefresh     bool
	hash           uint64 // recordHash, once computed
}

var (
	secAccount      = []byte(`"Account"`)
	secAccessToken  = []byte(`"AccessToken"`)
	secRefreshToken = []byte(`"RefreshToken"`)
	memHome         = []byte(`"home_account_id"`)
	memEnv          = []byte(`"environment"`)
	memUsername     = []byte(`"username"`)
	memExpiresOn    = []byte(`"expires_on"`)
)

var errSyntax = errors.New("not a JSON object")

// splitCache splits a serialized cache into records by key. A payload it cannot
// parse as a JSON object is kept whole in the shared record, so any cacheData
// round-trips.
func splitCache(doc []byte) map[string]*record {
	recs, err := splitObject(doc)
	if err != nil {
		return map[string]*record{"": {items: []item{{value: doc}}}}
	}
	return recs
}

func splitObject(doc []byte) (map[string]*record, error) {
	recs := map[string]*record{}
	get := func(key, home, env string) *record {
		r := recs[key]
		if r == nil {
			r = &record{key: key, home: home, env: env}
			recs[key] = r
		}
		return r
	}
	i := skipSpace(doc, 0)
	if i == len(doc) {
		return recs, nil // empty payload: an empty cache
	}
	if doc[i] != '{' {
		return nil, errSyntax
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return recs, trailing(doc, i+1)
	}
	for {
		sec, j, err := scanString(doc, i)
		if err != nil {
			return nil, err
		}
		j, err = colon(doc, j)
		if err != nil {
			return nil, err
		}
		if j < len(doc) && doc[j] == '{' {
			// A section: each member is one entry.
			k := skipSpace(doc, j+1)
			if k < len(doc) && doc[k] == '}' {
				get("", "", "").items = append(get("", "", "").items, item{section: sec, value: []byte("{}")})
				j = k + 1
			} else {
				for {
					key, k2, err := scanString(doc, k)
					if err != nil {
						return nil, err
					}
					k2, err = colon(doc, k2)
					if err != nil {
						return nil, err
					}
					end, err := skipValue(doc, k2)
					if err != nil {
						return nil, err
					}
					val := doc[k2:end]
					it := item{section: sec, key: key, value: val}
					home, env, extra := entryFields(sec, val)
					if home == "" {
						r := get("", "", "")
						r.items = append(r.items, it)
					} else {
						r := get(home+"-"+env, home, env)
						switch {
						case bytes.Equal(sec, secAccount):
							r.accounts = append(r.accounts, it)
							if extra != "" {
								r.usernames = append(r.usernames, extra)
							}
						case bytes.Equal(sec, secAccessToken):
							r.items = append(r.items, it)
							if n, err := strconv.ParseInt(extra, 10, 64); err == nil {
								r.latestExpiry = max(r.latestExpiry, n)
							}
						case bytes.Equal(sec, secRefreshToken):
							r.items = append(r.items, it)
							r.hasRefresh = true
						default:
							r.items = append(r.items, it)
						}
					}
					k = skipSpace(doc, end)
					if k < len(doc) && doc[k] == ',' {
						k = skipSpace(doc, k+1)
						continue
					}
					if k < len(doc) && doc[k] == '}' {
						j = k + 1
						break
					}
					return nil, errSyntax
				}
			}
		} else {
			end, err := skipValue(doc, j)
			if err != nil {
				return nil, err
			}
			r := get("", "", "")
			r.items = append(r.items, item{section: sec, value: doc[j:end]})
			j = end
		}
		j = skipSpace(doc, j)
		if j < len(doc) && doc[j] == ',' {
			i = skipSpace(doc, j+1)
			continue
		}
		if j < len(doc) && doc[j] == '}' {
			return recs, trailing(doc, j+1)
		}
		return nil, errSyntax
	}
}

// entryFields reads an entry's home_account_id and environment (lower-cased) and, for
// an Account its username, for an AccessToken its expires_on. An entry that is not an
// object, or has no home_account_id, gives home "".
func entryFields(sec, v []byte) (home, env, extra string) {
	if len(v) == 0 || v[0] != '{' {
		return "", "", ""
	}
	if flatEntry(v) {
		return flatEntryFields(sec, v)
	}
	return scanEntryFields(sec, v)
}

// scanEntryFields is entryFields by a scan of v's members, for any entry object.
func scanEntryFields(sec, v []byte) (home, env, extra string) {
	var want []byte
	switch {
	case bytes.Equal(sec, secAccount):
		want = memUsername
	case bytes.Equal(sec, secAccessToken):
		want = memExpiresOn
	}
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == '}' {
		return "", "", ""
	}
	for i < len(v) {
		name, j, err := scanString(v, i)
		if err != nil {
			return "", "", ""
		}
		j, err = colon(v, j)
		if err != nil {
			return "", "", ""
		}
		end, err := skipValue(v, j)
		if err != nil {
			return "", "", ""
		}
		switch {
		case bytes.Equal(name, memHome):
			home = strings.ToLower(stringValue(v[j:end]))
		case bytes.Equal(name, memEnv):
			env = strings.ToLower(stringValue(v[j:end]))
		case want != nil && bytes.Equal(name, want):
			extra = stringValue(v[j:end])
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
			continue
		}
		break
	}
	if home == "" {
		return "", "", ""
	}
	return home, env, extra
}

// flatEntry reports whether the entry object v has no nested object or array and no
// escape: every MSAL entry Tokendesk or MSAL Python writes. In such an entry every
// quote delimits a string, so a member is found by searching for its quoted name
// followed by a colon: a closing quote is followed by one of , : } or space, never
// by a name, and with no nesting every name followed by a colon is a member of v.
func flatEntry(v []byte) bool {
	body := v[1:]
	return bytes.IndexByte(body, '{') < 0 && bytes.IndexByte(body, '[') < 0 && bytes.IndexByte(body, '\\') < 0
}

// flatEntryFields is entryFields for a flatEntry.
func flatEntryFields(sec, v []byte) (home, env, extra string) {
	home = strings.ToLower(flatMember(v, memHome))
	if home == "" {
		return "", "", ""
	}
	env = strings.ToLower(flatMember(v, memEnv))
	switch {
	case bytes.Equal(sec, secAccount):
		extra = flatMember(v, memUsername)
	case bytes.Equal(sec, secAccessToken):
		extra = flatMember(v, memExpiresOn)
	}
	return home, env, extra
}

// flatMember returns the string value of the member name (a quoted JSON name) of the
// flat entry v, "" when absent or not a string.
func flatMember(v, name []byte) string {
	for from := 0; ; {
		i := bytes.Index(v[from:], name)
		if i < 0 {
			return ""
		}
		j := skipSpace(v, from+i+len(name))
		from += i + len(name)
		if j >= len(v) || v[j] != ':' {
			continue // the same text as a value, not a name
		}
		j = skipSpace(v, j+1)
		if j >= len(v) || v[j] != '"' {
			return ""
		}
		end := bytes.IndexByte(v[j+1:], '"')
		if end < 0 {
			return ""
		}
		return string(v[j+1 : j+1+end])
	}
}

// stringValue decodes a JSON string token ("" for anything else, such as null).
func stringValue(tok []byte) string {
	if len(tok) < 2 || tok[0] != '"' {
		return ""
	}
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1])
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return ""
	}
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errSyntax
	}
	return nil
}

func colon(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return 0, errSyntax
	}
	return skipSpace(b, i+1), nil
}

// scanString returns the JSON string token at b[i:] (quotes included) and the index
// after it.
func scanString(b []byte, i int) ([]byte, int, error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, errSyntax
	}
	end, err := stringEnd(b, i)
	if err != nil {
		return nil, 0, err
	}
	return b[i:end], end, nil
}

// stringEnd returns the index after the string starting with the quote at b[i].
func stringEnd(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errSyntax
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// skipValue returns the index after the JSON value starting at b[i]. Objects and
// arrays are matched by depth; scalars run to the next delimiter. The value's own
// syntax is checked by whoever parses it (identity's Deserialize).
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errSyntax
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return 0, errSyntax
		}
		return j, nil
	}
}

// assemble builds one MSAL JSON document from records' items: the payload the cache
// deserializes. Sections keep the order they first appear in.
func assemble(groups ...[]item) []byte {
	type section struct {
		name  []byte
		n     int
		items []item
		whole []byte // a member that is not an object
	}
	var secs []*section
	byName := map[string]*section{}
	size := 2
	// First count each section's entries, so each gets one allocation: at 10,000
	// accounts, growing them by appending copied more than the entries themselves.
	var last *section
	for _, g := range groups {
		for _, it := range g {
			if it.section == nil {
				return it.value // a payload that was not a JSON object
			}
			s := last
			if s == nil || string(s.name) != string(it.section) {
				s = byName[string(it.section)]
				if s == nil {
					s = &section{name: it.section}
					byName[string(it.section)] = s
					secs = append(secs, s)
					size += len(it.section) + 4
				}
				last = s
			}
			s.n++
			size += len(it.key) + len(it.value) + 3
		}
	}
	for _, s := range secs {
		s.items = make([]item, 0, s.n)
	}
	last = nil
	for _, g := range groups {
		for _, it := range g {
			s := last
			if s == nil || string(s.name) != string(it.section) {
				s = byName[string(it.section)]
				last = s
			}
			if it.key == nil {
				s.whole = it.value
			} else {
				s.items = append(s.items, it)
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
		if s.whole != nil && len(s.items) == 0 {
			out = append(out, s.whole...)
			continue
		}
		out = append(out, '{')
		for j, it := range s.items {
			if j > 0 {
				out = append(out, ',')
			}
			out = append(out, it.key...)
			out = append(out, ':')
			out = append(out, it.value...)
		}
		out = append(out, '}')
	}
	return append(out, '}')
}

// encodeItems is a record's plaintext: each item as three length-prefixed byte
// strings. A nil section or key is encoded like an empty one and decodes as nil.
func encodeItems(dst []byte, items []item) []byte {
	for _, it := range items {
		dst = appendBytes(dst, it.section)
		dst = appendBytes(dst, it.key)
		dst = appendBytes(dst, it.value)
	}
	return dst
}

// decodeItems reverses encodeItems; the items point into b.
func decodeItems(b []byte) ([]item, error) {
	if len(b) == 0 {
		return nil, nil
	}
	out := make([]item, 0, 4) // an account's record: an access, refresh and ID token
	for len(b) > 0 {
		var it item
		var err error
		if it.section, b, err = readBytes(b); err != nil {
			return nil, err
		}
		if it.key, b, err = readBytes(b); err != nil {
			return nil, err
		}
		if it.value, b, err = readBytes(b); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// countItems counts the items of an encodeItems encoding without decoding them (a
// malformed one counts what precedes the damage).
func countItems(b []byte) int {
	n := 0
	for len(b) > 0 {
		for range 3 {
			l, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < l {
				return n
			}
			b = b[k+int(l):]
		}
		n++
	}
	return n
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

var errShort = errors.New("truncated record")

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
