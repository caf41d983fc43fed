package storage

import (
	"bytes"
	"strconv"
)

// splitCache splits a serialized cache into records by key. A payload it cannot
// parse as a JSON object is kept whole in the shared record, so any cacheData
// round-trips.
func splitCache(doc []byte) map[string]*record {
	recs, _, _ := splitOrdered(doc, false, nil)
	return recs
}

// splitOrdered is splitCache that, when asked (withOrder), also lists the records'
// fragments in the order they start in doc: what a save that rewrites the whole cache
// writes (commitWhole). The list is nil for a payload that is not a JSON object. With
// spec, every fragment is also pushed to it, in the same order, as soon as it is
// final; lost reports that spec did not get every fragment as it ends up (one the
// split had to copy, or a payload that is not a JSON object) and must be aborted.
func splitOrdered(doc []byte, withOrder bool, spec *wholeWriter) (recs map[string]*record, order []fragRef, lost bool) {
	sp := newSplitter(doc)
	sp.withOrder = withOrder || spec != nil
	sp.spec = spec
	recs, err := sp.object()
	if err != nil {
		r := &record{parts: []part{{value: doc}}}
		r.hash = recordHash(r.parts, nil)
		return map[string]*record{"": r}, nil, spec != nil
	}
	return sp.finish(recs, spec)
}

// finish completes a split of recs: the records' hashes, and the last fragment
// pushed to spec.
func (sp *splitter) finish(recs map[string]*record, spec *wholeWriter) (map[string]*record, []fragRef, bool) {
	for _, r := range recs {
		r.hash = finishHash(r.parts, r.accounts)
	}
	if sp.spec != nil && len(sp.order) > 0 {
		last := sp.order[len(sp.order)-1].part()
		sp.spec.push(last.section, last.value)
	}
	return recs, sp.order, spec != nil && sp.spec == nil
}

// fragRef names a record's fragment part: r.parts[i], or r.accounts[i] when account.
type fragRef struct {
	r       *record
	i       int32
	account bool
}

// part returns the part ref names.
func (f fragRef) part() *part {
	if f.account {
		return &f.r.accounts[f.i]
	}
	return &f.r.parts[f.i]
}

// splitObject splits the JSON object doc.
func splitObject(doc []byte) (map[string]*record, error) {
	return newSplitter(doc).object()
}

// object splits the splitter's document, a JSON object.
func (sp *splitter) object() (map[string]*record, error) {
	doc := sp.doc
	i := skipSpace(doc, 0)
	if i == len(doc) {
		return sp.recs, nil // empty payload: an empty cache
	}
	if doc[i] != '{' {
		return nil, errSyntax
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return sp.recs, trailing(doc, i+1)
	}
	end, err := sp.members(i)
	if err != nil {
		return nil, err
	}
	return sp.recs, trailing(doc, end)
}

// splitter splits a cache document into records.
type splitter struct {
	doc    []byte
	recs   map[string]*record
	shared *record
	last   *record // the record of the previous entry
	keyBuf []byte
	seq    int

	withOrder bool      // list fragments in order
	order     []fragRef // every fragment part, in the order it starts in doc
	spec      *wholeWriter
}

func newSplitter(doc []byte) *splitter {
	return &splitter{doc: doc, recs: map[string]*record{}}
}

func (sp *splitter) getShared() *record {
	if sp.shared == nil {
		sp.shared = &record{}
		sp.recs[""] = sp.shared
	}
	return sp.shared
}

// members reads the top-level object's members from i, at a member's name, to its
// closing brace, returning the index after it.
func (sp *splitter) members(i int) (int, error) {
	doc := sp.doc
	for {
		sec, j, err := scanString(doc, i)
		if err != nil {
			return 0, err
		}
		j, err = colon(doc, j)
		if err != nil {
			return 0, err
		}
		sp.seq++ // entries of two sections are never consecutive (addMember)
		if j < len(doc) && doc[j] == '{' {
			if j, err = sp.section(sec, j); err != nil {
				return 0, err
			}
		} else {
			end, err := skipValue(doc, j)
			if err != nil {
				return 0, err
			}
			sp.getShared().addWhole(sec, doc[j:end])
			j = end
		}
		j = skipSpace(doc, j)
		if j < len(doc) && doc[j] == ',' {
			i = skipSpace(doc, j+1)
			continue
		}
		if j < len(doc) && doc[j] == '}' {
			return j + 1, nil
		}
		return 0, errSyntax
	}
}

// section reads the object of section sec at doc[j] ('{'), each member one entry,
// returning the index after it.
func (sp *splitter) section(sec []byte, j int) (int, error) {
	doc := sp.doc
	k := skipSpace(doc, j+1)
	if k < len(doc) && doc[k] == '}' {
		sp.getShared().addWhole(sec, []byte("{}"))
		return k + 1, nil
	}
	kind := kindOfSection(sec)
	for {
		start := k
		_, k2, err := scanString(doc, k)
		if err != nil {
			return 0, err
		}
		k2, err = colon(doc, k2)
		if err != nil {
			return 0, err
		}
		end, flat := 0, false
		if k2 < len(doc) && doc[k2] == '{' {
			end, flat = flatObjectEnd(doc, k2)
		}
		if !flat {
			if end, err = skipValue(doc, k2); err != nil {
				return 0, err
			}
		}
		sp.seq++
		homeB, envB, extraB := entryFieldsRaw(sec, doc[k2:end], flat)
		sp.entry(sec, kind, start, end, homeB, envB, extraB)
		k = skipSpace(doc, end)
		if k < len(doc) && doc[k] == ',' {
			k = skipSpace(doc, k+1)
			continue
		}
		if k < len(doc) && doc[k] == '}' {
			return k + 1, nil
		}
		return 0, errSyntax
	}
}

// sectionKind is what a split reads of a section's entries beyond their account.
type sectionKind int

const (
	secOther sectionKind = iota
	secIsAccount
	secIsAccess
	secIsRefresh
)

func kindOfSection(sec []byte) sectionKind {
	switch {
	case bytes.Equal(sec, secAccount):
		return secIsAccount
	case bytes.Equal(sec, secAccessToken):
		return secIsAccess
	case bytes.Equal(sec, secRefreshToken):
		return secIsRefresh
	}
	return secOther
}

// entry files the entry doc[start:end] of section sec, whose home_account_id,
// environment and (for an Account) username or (for an AccessToken) expires_on are
// homeB, envB and extraB, into its record: the shared one when homeB is empty.
func (sp *splitter) entry(sec []byte, kind sectionKind, start, end int, homeB, envB, extraB []byte) {
	if len(homeB) == 0 {
		sp.add(sp.getShared(), false, sec, start, end)
		return
	}
	r := sp.record(homeB, envB)
	switch kind {
	case secIsAccount:
		sp.add(r, true, sec, start, end)
		r.nAccounts++
		if len(extraB) > 0 {
			r.usernames = append(r.usernames, string(extraB))
		}
	case secIsAccess:
		sp.add(r, false, sec, start, end)
		if n, err := strconv.ParseInt(string(extraB), 10, 64); err == nil {
			r.latestExpiry = max(r.latestExpiry, n)
		}
	case secIsRefresh:
		sp.add(r, false, sec, start, end)
		r.hasRefresh = true
	default:
		sp.add(r, false, sec, start, end)
	}
}

// add adds the entry doc[start:end] of section sec to r's parts (account: its
// Account entries), noting a new fragment in sp.order when asked.
func (sp *splitter) add(r *record, account bool, sec []byte, start, end int) {
	ps := &r.parts
	if account {
		ps = &r.accounts
	}
	n := len(*ps)
	*ps = addMember(*ps, sec, sp.doc, start, end, sp.seq)
	switch {
	case len(*ps) > n && sp.withOrder:
		if sp.spec != nil && len(sp.order) > 0 {
			// A new fragment: the one before can no longer grow in place.
			prev := sp.order[len(sp.order)-1].part()
			sp.spec.push(prev.section, prev.value)
		}
		sp.order = append(sp.order, fragRef{r: r, i: int32(n), account: account})
	case len(*ps) == n && sp.spec != nil && (*ps)[n-1].own:
		sp.spec = nil // a fragment pushed already grew by a copy: the writer is wrong
	}
}

// record returns the record of home and env (as the entry has them), creating it.
// Entries come section by section, so the previous entry is mostly another account's:
// the record is looked up by a key built in a reused buffer, allocating only for a
// new record.
func (sp *splitter) record(homeB, envB []byte) *record {
	if r := sp.last; r != nil && lowerEqual(homeB, r.home) && lowerEqual(envB, r.env) {
		return r
	}
	buf, ok1 := appendLowerASCII(sp.keyBuf[:0], homeB)
	buf = append(buf, '-')
	buf, ok2 := appendLowerASCII(buf, envB)
	if !ok1 || !ok2 {
		buf = append(append(append(buf[:0], lowerString(string(homeB))...), '-'), lowerString(string(envB))...)
	}
	sp.keyBuf = buf
	r := sp.recs[string(buf)]
	if r == nil {
		home, env := lowerString(string(homeB)), lowerString(string(envB))
		r = &record{key: home + "-" + env, home: home, env: env, parts: make([]part, 0, 4)}
		sp.recs[r.key] = r
	}
	sp.last = r
	return r
}

// addMember adds the entry doc[start:end] (`"key":value`) of section sec to ps: it
// extends the last fragment when the entry follows that fragment's last one in the
// document (the usual case: identity writes an account's entries of a section next to
// each other, sorted by key), else it copies. seq numbers the document's entries,
// skipping one between sections, so consecutive numbers mean neighbours in one
// object. The part's CRC is updated with the bytes added.
func addMember(ps []part, sec, doc []byte, start, end, seq int) []part {
	if n := len(ps); n > 0 && ps[n-1].frag && bytes.Equal(ps[n-1].section, sec) {
		p := &ps[n-1]
		switch {
		case !p.own && p.last == seq-1:
			p.sum = crc32Update(p.sum, doc[p.start+len(p.value):end])
			p.value = doc[p.start:end]
		default:
			if !p.own {
				p.value = append([]byte(nil), p.value...)
				p.own = true
			}
			p.sum = crc32Update(crc32Update(p.sum, comma), doc[start:end])
			p.value = append(append(p.value, ','), doc[start:end]...)
		}
		p.last = seq
		return ps
	}
	sum := crc32Update(crc32Update(0, sec), doc[start:end])
	return append(ps, part{section: sec, frag: true, value: doc[start:end], sum: sum, start: start, last: seq})
}

var comma = []byte{','}

// addWhole adds a part that is not entries.
func (r *record) addWhole(sec, value []byte) {
	p := part{section: sec, value: value}
	p.sum = partSum(p)
	r.parts = append(r.parts, p)
}
