package identity

import "strings"

// ChangedAccounts and SerializeChanged let a store that keeps the cache per account
// (storage's per-account records) save only the accounts that changed since it last
// saved, instead of serializing and splitting the whole cache on every save. The
// cache records which accounts its changes touched (markChanged, called by add and
// remove, through which every change goes) once the store asks it to
// (TrackChanges). Serialize and Deserialize are untouched; Deserialize starts a new
// state that tracks nothing until asked.

// TrackChanges starts recording which accounts change, forgetting those recorded so
// far: a store calls it right after it saved the whole cache or its changes.
func (c *TokenCache) TrackChanges() {
	c.mu.Lock()
	c.st.changedAccounts = map[idxKey]rawAccount{}
	c.mu.Unlock()
}

// rawAccount is an account's home account id and environment as an entry spells them.
type rawAccount struct{ home, env string }

// markChanged records that an entry of e's account was added or removed.
func (st *cacheState) markChanged(e *cacheEntry) {
	if st.changedAccounts == nil {
		return
	}
	st.changedAccounts[idxKey{e.home, e.env}] = rawAccount{e.v[fHomeAccountID], e.v[fEnvironment]}
}

// accountKey is the key a store files an account under: "<home_account_id>-
// <environment>" lower-cased as the entries spell them, "" for entries of no account
// (app metadata, app-only tokens).
func accountKey(home, env string) string {
	if home == "" {
		return ""
	}
	return strings.ToLower(home) + "-" + strings.ToLower(env)
}

// ChangedAccounts returns the keys of the accounts changed since TrackChanges (""
// for entries of no account). ok is false when the cache cannot say: it was not
// asked to track, or was replaced since (Deserialize), or it holds sections other
// MSAL apps wrote (which account their entries belong to is the store's reading);
// the store must then save the whole cache.
func (c *TokenCache) ChangedAccounts() (accounts map[string]bool, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.st.changedAccounts == nil || len(c.st.unknown) > 0 {
		return nil, false
	}
	accounts = make(map[string]bool, len(c.st.changedAccounts))
	for _, a := range c.st.changedAccounts {
		accounts[accountKey(a.home, a.env)] = true
	}
	return accounts, true
}

// SerializeAccounts returns the cache as Serialize does, holding only the entries of
// the accounts named (keys as ChangedAccounts gives them), and clears the changed
// flag as Serialize does.
func (c *TokenCache) SerializeAccounts(accounts map[string]bool) []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st := c.st
	sub := &cacheState{unknown: st.unknown}
	for k := range sub.sections {
		sub.sections[k] = map[string]*cacheEntry{}
	}
	add := func(head *cacheEntry) {
		for e := head; e != nil; e = e.next {
			sub.sections[e.cacheKind][e.key] = e
		}
	}
	if accounts[""] {
		for _, head := range st.meta {
			add(head)
		}
	}
	for _, h := range st.homes {
		var first *cacheEntry
		for _, e := range []*cacheEntry{h.rt, h.idt, h.acct} {
			if first == nil {
				first = e
			}
		}
		for i := range h.ats {
			if first == nil {
				first = h.ats[i].head
			}
		}
		if first == nil || !accounts[accountKey(first.v[fHomeAccountID], first.v[fEnvironment])] {
			continue
		}
		for i := range h.ats {
			add(h.ats[i].head)
		}
		add(h.rt)
		add(h.idt)
		add(h.acct)
	}
	b := serializeState(sub)
	c.changed.Store(false)
	return b
}
