package identity

// ChangedAccounts and SerializeAccounts let a store that keeps the cache per account
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
	c.st.changedAccounts = map[idxKey]bool{}
	c.mu.Unlock()
}

// markChanged records that an entry of e's account was added or removed.
func (st *cacheState) markChanged(e *cacheEntry) {
	if st.changedAccounts != nil {
		st.changedAccounts[idxKey{e.home, e.env}] = true
	}
}

// accountKey is the key a store files an account under: "<home_account_id>-
// <environment>" lower-cased (lower is strings.ToLower), "" for entries of no
// account (app metadata, app-only tokens).
func accountKey(k idxKey) string {
	if k.a == "" {
		return ""
	}
	return k.a + "-" + k.b
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
	for k := range c.st.changedAccounts {
		accounts[accountKey(k)] = true
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
	addHome := func(h *homeIdx) {
		for j := range h.ats {
			add(h.ats[j].head)
		}
		add(h.rt)
		add(h.idt)
		add(h.acct)
	}
	if accounts[""] {
		// Entries of no account: app metadata, and app-only tokens (filed under an
		// empty home in each environment).
		for _, head := range st.meta {
			add(head)
		}
		for hk, h := range st.homes {
			if hk.a == "" {
				addHome(h)
			}
		}
	}
	// A key joins home and environment with "-", and either may hold "-" too ("a-b"
	// at "c" and "a" at "b-c" share "a-b-c"): each split of the key at a "-" is
	// looked up, so every account filed under it is found without walking them all.
	for k := range accounts {
		for i := 0; i < len(k); i++ {
			if k[i] != '-' || i == 0 {
				continue
			}
			if h := st.homes[idxKey{k[:i], k[i+1:]}]; h != nil {
				addHome(h)
			}
		}
	}
	b := serializeState(sub)
	c.changed.Store(false)
	return b
}
