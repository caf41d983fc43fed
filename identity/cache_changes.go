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

// isAccountKey reports whether accountKey(k) is key, without building it.
func isAccountKey(k idxKey, key string) bool {
	if k.a == "" {
		return key == ""
	}
	return len(key) == len(k.a)+1+len(k.b) && key[:len(k.a)] == k.a && key[len(k.a)] == '-' && key[len(k.a)+1:] == k.b
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
	if accounts[""] {
		for _, head := range st.meta {
			add(head)
		}
	}
	keys := make([]string, 0, len(accounts))
	for k := range accounts {
		keys = append(keys, k)
	}
	// Two accounts may share a key ("a-b" at "c", "a" at "b-c"): every home is checked
	// against every key asked for, without building its key.
	for hk, h := range st.homes {
		wanted := false
		for _, k := range keys {
			if isAccountKey(hk, k) {
				wanted = true
				break
			}
		}
		if !wanted {
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
