package storage

import (
	"bytes"
	"errors"
	"hash/crc32"
	"strings"
)

// The store keeps the MSAL cache as per-account records (see README.md): every entry
// whose home_account_id is set belongs to the record of its home account id and
// environment, "<home_account_id>-<environment>" lower-cased (usecase's AccountKey);
// everything else (app metadata, app-only tokens, sections and members the store does
// not know, or a payload that is not a JSON object at all) belongs to the shared
// record, key "". Splitting never interprets more than it must: entries are kept as
// the raw JSON other MSAL apps wrote, byte for byte.

// part is a piece of a record: members of one section of the cache object, or a
// top-level member that is not an object, or a whole payload that is not a JSON object.
type part struct {
	// section is the member's name as a JSON string token, quotes included; nil for a
	// payload that is not a JSON object (value is then the whole payload).
	section []byte
	// frag says value is one or more entries of the section, `"key":{...}` separated
	// by commas (and maybe white space): a fragment of the section's object, kept as a
	// slice of the serialized cache, so splitting and assembling copy whole runs of
	// entries. Otherwise value is the section's whole value (not an object, or {}).
	frag  bool
	value []byte

	// While splitting: the CRC-32C of section and value (recordHash), taken entry by
	// entry while the entry is still in the CPU's cache; where an unowned fragment
	// starts in the document, the sequence number of its last entry, and whether value
	// is a private buffer.
	sum         uint32
	start, last int
	own         bool
}

// record is one record's entries and what the index keeps about them.
type record struct {
	key, home, env string
	parts          []part // everything but the Account entries
	accounts       []part // the Account entries (kept in the index, for listings)
	nAccounts      int
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

// entryFields reads an entry's home_account_id and environment (lower-cased) and, for
// an Account its username, for an AccessToken its expires_on. An entry that is not an
// object, or has no home_account_id, gives home "". flat says the caller found v to be
// a flat object (flatObjectEnd).
func entryFields(sec, v []byte, flat bool) (home, env, extra string) {
	h, e, x := entryFieldsRaw(sec, v, flat)
	if len(h) == 0 {
		return "", "", ""
	}
	return lowerString(string(h)), lowerString(string(e)), string(x)
}

// entryFieldsRaw is entryFields without lower-casing or copying: a split compares the
// bytes with the previous entry's record and allocates only for a new record.
func entryFieldsRaw(sec, v []byte, flat bool) (home, env, extra []byte) {
	if len(v) == 0 || v[0] != '{' {
		return nil, nil, nil
	}
	if flat || flatEntry(v) {
		return flatFields(sec, v)
	}
	h, e, x := scanEntryFields(sec, v)
	if h == "" {
		return nil, nil, nil
	}
	return []byte(h), []byte(e), []byte(x)
}

// appendLowerASCII appends b lower-cased, reporting false (and appending garbage)
// when b is not ASCII: the caller then lower-cases properly.
func appendLowerASCII(dst, b []byte) ([]byte, bool) {
	for _, c := range b {
		if c >= 0x80 {
			return dst, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// lowerEqual reports whether the ASCII bytes b lower-cased are s. Bytes beyond ASCII
// report false: the caller then lower-cases properly.
func lowerEqual(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if c >= 0x80 {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
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
			home = lowerString(stringValue(v[j:end]))
		case bytes.Equal(name, memEnv):
			env = lowerString(stringValue(v[j:end]))
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
	h, e, x := flatFields(sec, v)
	if len(h) == 0 {
		return "", "", ""
	}
	return lowerString(string(h)), lowerString(string(e)), string(x)
}

// lowerString is strings.ToLower, which already returns s itself when nothing changes.
func lowerString(s string) string { return strings.ToLower(s) }

var (
	nameHome      = []byte("home_account_id")
	nameEnv       = []byte("environment")
	nameUsername  = []byte("username")
	nameExpiresOn = []byte("expires_on")
)

// flatFields is entryFieldsRaw for a flatEntry, in one walk over its members: in a
// flat entry every quote delimits a string, so names and values are found quote by
// quote, and the walk stops once it has what it wants. The first member of a name
// counts; a value that is not a string counts as absent.
func flatFields(sec, v []byte) (home, env, extra []byte) {
	var want []byte
	switch {
	case bytes.Equal(sec, secAccount):
		want = nameUsername
	case bytes.Equal(sec, secAccessToken):
		want = nameExpiresOn
	}
	var gotHome, gotEnv bool
	gotExtra := want == nil
	for i := 1; i < len(v) && !(gotHome && gotEnv && gotExtra); {
		q := bytes.IndexByte(v[i:], '"')
		if q < 0 {
			break
		}
		ns := i + q + 1
		qe := bytes.IndexByte(v[ns:], '"')
		if qe < 0 {
			break
		}
		name := v[ns : ns+qe]
		j := skipSpace(v, ns+qe+1)
		if j >= len(v) || v[j] != ':' {
			break // not an object's member: malformed
		}
		j = skipSpace(v, j+1)
		var val []byte
		if j < len(v) && v[j] == '"' {
			ve := bytes.IndexByte(v[j+1:], '"')
			if ve < 0 {
				break
			}
			val = v[j+1 : j+1+ve]
			i = j + ve + 2
		} else {
			for i = j; i < len(v) && v[i] != ',' && v[i] != '}'; i++ {
			}
		}
		switch {
		case !gotHome && bytes.Equal(name, nameHome):
			home, gotHome = val, true
		case !gotEnv && bytes.Equal(name, nameEnv):
			env, gotEnv = val, true
		case !gotExtra && bytes.Equal(name, want):
			extra, gotExtra = val, true
		}
	}
	if len(home) == 0 {
		return nil, nil, nil
	}
	return home, env, extra
}

// castagnoli is CRC-32C, which CPUs compute in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// partSum is the CRC-32C of a part's section and value.
func partSum(p part) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, p.section), castagnoli, p.value)
}

// recordHash is a checksum of a record's entries, kept in the index so a save can tell
// which records it would write unchanged and skip them: each part's CRC-32C, length,
// kind and place folded into 64 bits. A split computes the parts' CRCs entry by entry
// (part.sum) and folds them with finishHash. It detects changes, not attackers: the
// records' integrity is GCM's job.
func recordHash(parts, accounts []part) uint64 {
	sum := func(p part) uint32 { return partSum(p) }
	return foldHash(parts, accounts, sum)
}

// finishHash is recordHash from the sums a split took.
func finishHash(parts, accounts []part) uint64 {
	return foldHash(parts, accounts, func(p part) uint32 { return p.sum })
}

func foldHash(parts, accounts []part, sum func(part) uint32) uint64 {
	const prime = 0x100000001b3
	h := uint64(len(parts))<<32 | uint64(len(accounts))
	for _, group := range [][]part{parts, accounts} {
		for _, p := range group {
			h = (h ^ uint64(sum(p))) * prime
			h = (h ^ uint64(partKind(p))<<56 ^ uint64(len(p.section))<<40 ^ uint64(len(p.value))) * prime
		}
		h = (h ^ 0xff) * prime // the boundary between the two groups
	}
	return h
}

// item is one cache entry: its section, key (JSON string tokens) and value. Only a
// merge works entry by entry.
type item struct{ section, key, value []byte }

// expand lists the entries of parts one by one; a part that is not a fragment is one
// item without key.
func expand(parts []part) []item {
	var out []item
	for _, p := range parts {
		if !p.frag {
			out = append(out, item{section: p.section, value: p.value})
			continue
		}
		b := p.value
		i := skipSpace(b, 0)
		for i < len(b) {
			key, j, err := scanString(b, i)
			if err != nil {
				break
			}
			if j, err = colon(b, j); err != nil {
				break
			}
			end, err := skipValue(b, j)
			if err != nil {
				break
			}
			out = append(out, item{section: p.section, key: key, value: b[j:end]})
			i = skipSpace(b, end)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
	}
	return out
}

// collapse is the reverse of expand: one part per item.
func collapse(items []item) []part {
	out := make([]part, 0, len(items))
	for _, it := range items {
		if it.key == nil {
			out = append(out, part{section: it.section, value: it.value})
			continue
		}
		v := make([]byte, 0, len(it.key)+1+len(it.value))
		v = append(append(append(v, it.key...), ':'), it.value...)
		out = append(out, part{section: it.section, frag: true, value: v})
	}
	return out
}

// overlay returns the items of over, then those of under whose section and key over
// does not have.
func overlay(under, over []item) []item {
	seen := map[string]bool{}
	for _, it := range over {
		seen[string(it.section)+"\x00"+string(it.key)] = true
	}
	out := append([]item(nil), over...)
	for _, it := range under {
		if !seen[string(it.section)+"\x00"+string(it.key)] {
			out = append(out, it)
		}
	}
	return out
}

func crc32Update(sum uint32, b []byte) uint32 { return crc32.Update(sum, castagnoli, b) }
