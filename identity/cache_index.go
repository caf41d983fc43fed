package identity

import (
	"slices"
	"strings"
)

// idxKey is a two-part index key; every part is lower-cased.
type idxKey struct{ a, b string }

// cacheState is the whole cache: the entries by serialized key, per section, and the
// in-memory indexes that let a silent hit or an account listing touch only the
// entries of one account. Every index bucket is a chain through cacheEntry.next.
type cacheState struct {
	sections [numKinds]map[string]*cacheEntry
	// unknown holds sections other MSAL apps wrote, sorted by name, verbatim.
	unknown []rawMember

	// at: (home_account_id, environment) -> (client_id, realm) -> access tokens.
	// App-only tokens have an empty home_account_id.
	at map[idxKey]map[idxKey]*cacheEntry
	// rt, idt, acct: (home_account_id, environment) -> entries of any client/realm.
	rt, idt, acct map[idxKey]*cacheEntry
	// meta: (environment, client_id) -> app metadata.
	meta map[idxKey]*cacheEntry

	// interned holds one copy of every identity string (see internIdentity).
	interned map[string]string

	// accountsByEnv is the Accounts listing per environment, built on first use and
	// dropped whenever an Account entry changes.
	accountsByEnv map[string][]Account
}

// newCacheState returns an empty state with room for about perKind entries of each
// kind, so loading a large cache does not rehash its maps over and over.
func newCacheState(perKind int) *cacheState {
	st := &cacheState{
		at:   make(map[idxKey]map[idxKey]*cacheEntry, perKind),
		rt:   make(map[idxKey]*cacheEntry, perKind),
		idt:  make(map[idxKey]*cacheEntry, perKind),
		acct: make(map[idxKey]*cacheEntry, perKind),
		meta: make(map[idxKey]*cacheEntry),
	}
	for k := range st.sections {
		if cacheKind(k) == kindAppMetadata {
			st.sections[k] = make(map[string]*cacheEntry)
			continue
		}
		st.sections[k] = make(map[string]*cacheEntry, perKind)
	}
	return st
}

// chainMap returns the index map and key of e's bucket. For access tokens the inner
// map is created on demand only when create is set.
func (st *cacheState) chainMap(e *cacheEntry, create bool) (map[idxKey]*cacheEntry, idxKey) {
	switch e.cacheKind {
	case kindAccessToken:
		hk := idxKey{e.home, e.env}
		m := st.at[hk]
		if m == nil && create {
			m = make(map[idxKey]*cacheEntry)
			st.at[hk] = m
		}
		return m, idxKey{e.client, e.realm}
	case kindRefreshToken:
		return st.rt, idxKey{e.home, e.env}
	case kindIDToken:
		return st.idt, idxKey{e.home, e.env}
	case kindAccount:
		return st.acct, idxKey{e.home, e.env}
	default:
		return st.meta, idxKey{e.env, e.client}
	}
}

// add stores e under e.key, replacing an entry with the same key.
func (st *cacheState) add(e *cacheEntry) {
	if old := st.sections[e.cacheKind][e.key]; old != nil {
		st.remove(old)
	}
	st.internIdentity(e)
	st.sections[e.cacheKind][e.key] = e
	m, k := st.chainMap(e, true)
	e.next = m[k]
	m[k] = e
	if e.cacheKind == kindAccount {
		st.accountsByEnv = nil
	}
}

// internIdentity makes e's identity strings share memory with every other entry's
// equal ones. Index keys then compare by pointer (Go's string equality checks that
// first), so a lookup in a cache of thousands of accounts does not touch the bytes
// of every candidate key, and the strings are stored once.
func (st *cacheState) internIdentity(e *cacheEntry) {
	if st.interned == nil {
		st.interned = make(map[string]string)
	}
	in := func(s string) string {
		if s == "" {
			return ""
		}
		if v, ok := st.interned[s]; ok {
			return v
		}
		st.interned[s] = s
		return s
	}
	e.home, e.env, e.client, e.realm = in(e.home), in(e.env), in(e.client), in(e.realm)
	// Accounts hand these out; sharing them lets a later lookup compare by pointer.
	if e.v[fHomeAccountID] == e.home {
		e.v[fHomeAccountID] = e.home
	}
	if e.v[fEnvironment] == e.env {
		e.v[fEnvironment] = e.env
	}
	if e.v[fRealm] == e.realm {
		e.v[fRealm] = e.realm
	}
}

// remove deletes e from its section and its index bucket.
func (st *cacheState) remove(e *cacheEntry) {
	if st.sections[e.cacheKind][e.key] == e {
		delete(st.sections[e.cacheKind], e.key)
	}
	if e.cacheKind == kindAccount {
		st.accountsByEnv = nil
	}
	m, k := st.chainMap(e, false)
	if m == nil {
		return
	}
	head := m[k]
	if head == e {
		if e.next == nil {
			delete(m, k)
			if e.cacheKind == kindAccessToken && len(m) == 0 {
				delete(st.at, idxKey{e.home, e.env})
			}
		} else {
			m[k] = e.next
		}
		return
	}
	for p := head; p != nil; p = p.next {
		if p.next == e {
			p.next = e.next
			return
		}
	}
}

// removeWhere removes the entries of a chain for which drop is true, and returns how
// many it removed. The chain is copied first because remove relinks it.
func (st *cacheState) removeWhere(head *cacheEntry, drop func(*cacheEntry) bool) int {
	var doomed []*cacheEntry
	for e := head; e != nil; e = e.next {
		if drop(e) {
			doomed = append(doomed, e)
		}
	}
	for _, e := range doomed {
		st.remove(e)
	}
	return len(doomed)
}

// atBucket returns the access tokens of one account, environment, client and realm.
func (st *cacheState) atBucket(home, env, client, realm string) *cacheEntry {
	m := st.at[idxKey{home, env}]
	if m == nil {
		return nil
	}
	return m[idxKey{client, realm}]
}

// appMetadata returns the app metadata of client at env, or nil.
func (st *cacheState) appMetadata(env, client string) *cacheEntry {
	return st.meta[idxKey{env, client}]
}

// accounts returns the account listing of one environment (lower-cased), grouped by
// home account id, sorted by username then home account id. The listing is cached
// until an Account entry changes; callers must copy it.
func (st *cacheState) accounts(env string) []Account {
	if list, ok := st.accountsByEnv[env]; ok {
		return list
	}
	var list []Account
	for k, head := range st.acct {
		if k.b != env {
			continue
		}
		list = append(list, accountOf(preferredAccount(head)))
	}
	slices.SortFunc(list, func(x, y Account) int {
		if c := strings.Compare(strings.ToLower(x.Username), strings.ToLower(y.Username)); c != 0 {
			return c
		}
		return strings.Compare(x.HomeAccountID, y.HomeAccountID)
	})
	if st.accountsByEnv == nil {
		st.accountsByEnv = make(map[string][]Account)
	}
	st.accountsByEnv[env] = list
	return list
}

// preferredAccount picks, among an account's per-tenant entries, the one of its home
// tenant (the realm named by home_account_id's "utid"), else the one with the smallest
// key, so the choice does not depend on map order.
func preferredAccount(head *cacheEntry) *cacheEntry {
	best := head
	for e := head; e != nil; e = e.next {
		if _, utid, ok := strings.Cut(e.home, "."); ok && e.realm == utid {
			return e
		}
		if e.key < best.key {
			best = e
		}
	}
	return best
}

// accountOf converts an Account entry.
func accountOf(e *cacheEntry) Account {
	return Account{
		HomeAccountID:  e.v[fHomeAccountID],
		Environment:    e.v[fEnvironment],
		Realm:          e.v[fRealm],
		LocalAccountID: e.v[fLocalAccountID],
		Username:       e.v[fUsername],
		Name:           e.v[fName],
		AuthorityType:  e.v[fAuthorityType],
	}
}
