package identity

// SerializeEach lets a store that files the cache's entries per account (storage's
// per-account records) write a whole cache without parsing what Serialize wrote, and
// while it is being written: it is told where each entry went and whose it is, facts
// the serializer has at hand. Serialize's output is the same either way.

// EntryLayout is where one entry of a serialized cache lies and whose it is.
type EntryLayout struct {
	// Section is the entry's section, an index into the sections SerializeEach
	// reports (AccessToken, Account, ...).
	Section int
	// Start and End bound the entry's member in the document, `"key":{...}`.
	Start, End int
	// Home and Env are its home_account_id and environment as stored (not
	// lower-cased), "" when absent or null.
	Home, Env string
	// Extra is an Account's username or an AccessToken's expires_on ("" when absent
	// or null); "" for other sections.
	Extra string
}

// entryLayout describes entry e of section sec at doc[start:end].
func entryLayout(sec, start, end int, e *cacheEntry) EntryLayout {
	l := EntryLayout{Section: sec, Start: start, End: end, Home: e.stringField(fHomeAccountID), Env: e.stringField(fEnvironment)}
	switch e.cacheKind {
	case kindAccount:
		l.Extra = e.stringField(fUsername)
	case kindAccessToken:
		l.Extra = e.stringField(fExpiresOn)
	}
	return l
}

// stringField is field f's value when it is a string, else "".
func (e *cacheEntry) stringField(f cacheField) string {
	if !e.has(f) || e.null&(1<<f) != 0 {
		return ""
	}
	return e.v[f]
}

// SerializeEach returns what Serialize returns, and hands each every entry as soon
// as it is written, in document order: doc is the document so far (the entry is
// doc[e.Start:e.End]; bytes once written never change, though a later doc may be a
// new copy), sections the document's sections so far, each an object of entries.
// sections, at the end, are all of them; one no entry named is written as {}. each
// runs under the cache's lock and must not use the cache. ok is false, and each is
// never called, when the cache holds sections other MSAL apps wrote: whose entries
// those hold is the store's reading of them, so the store splits Serialize's output
// instead. sizeHint, when not 0, is the size the caller expects (a store knows the
// size of what it saved last): it spares a walk of every entry to size the output
// (a wrong hint costs at most a copy). It clears the changed flag as Serialize does.
func (c *TokenCache) SerializeEach(sizeHint int, each func(doc []byte, sections []string, e EntryLayout)) (doc []byte, sections []string, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.st.unknown) > 0 {
		return nil, nil, false
	}
	doc, sections = serializeEach(c.st, sizeHint, each)
	c.changed.Store(false)
	return doc, sections, true
}
