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

	// homes: (home_account_id, environment) -> that account's entries. App-only
	// tokens are under an empty home_account_id.
	homes map[idxKey]*homeIdx
	// meta: (environment, client_id) -> app metadata.
	meta map[idxKey]*cacheEntry

	// interned holds one copy of every identity string (see internIdentity), and
	// lastInterned the last home, environment, client and realm interned.
	interned     map[string]string
	lastInterned [4]string

	// accountsByEnv is the Accounts listing per environment, built on first use and
	// dropped whenever an Account entry changes.
	accountsByEnv map[string][]Account
	// changedAccounts, once TrackChanges made it, records the accounts add and remove
	// touch (cache_changes.go).
	changedAccounts map[idxKey]bool
}

// homeIdx holds one account's entries at one environment, so a silent hit finds its
// access token, ID token and account with a single lookup of the account.
type homeIdx struct {
	// ats are the access-token chains per (client_id, realm); an account has few.
	ats []atChain
	// rt, idt and acct chain the entries of every client and realm.
	rt, idt, acct *cacheEntry
}

type atChain struct {
	client, realm string
	head          *cacheEntry
}

func (h *homeIdx) empty() bool {
	return len(h.ats) == 0 && h.rt == nil && h.idt == nil && h.acct == nil
}

// newCacheState returns an empty state with room for about perKind entries of each
// kind, so loading a large cache does not rehash its maps over and over.
func newCacheState(perKind int) *cacheState {
	st := &cacheState{
		homes: make(map[idxKey]*homeIdx, perKind),
		meta:  make(map[idxKey]*cacheEntry),
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

// home returns the index of one account at one environment, or nil.
func (st *cacheState) home(home, env string) *homeIdx { return st.homes[idxKey{home, env}] }

// add stores e under e.key, replacing an entry with the same key.
func (st *cacheState) add(e *cacheEntry) {
	if old := st.sections[e.cacheKind][e.key]; old != nil {
		st.remove(old)
	}
	st.internIdentity(e)
	st.markChanged(e)
	st.sections[e.cacheKind][e.key] = e
	if e.cacheKind == kindAppMetadata {
		k := idxKey{e.env, e.client}
		e.next = st.meta[k]
		st.meta[k] = e
		return
	}
	hk := idxKey{e.home, e.env}
	h := st.homes[hk]
	if h == nil {
		h = &homeIdx{}
		st.homes[hk] = h
	}
	switch e.cacheKind {
	case kindAccessToken:
		for i := range h.ats {
			if c := &h.ats[i]; c.client == e.client && c.realm == e.realm {
				e.next, c.head = c.head, e
				return
			}
		}
		h.ats = append(h.ats, atChain{e.client, e.realm, e})
	case kindRefreshToken:
		e.next, h.rt = h.rt, e
	case kindIDToken:
		e.next, h.idt = h.idt, e
	case kindAccount:
		e.next, h.acct = h.acct, e
		st.accountsByEnv = nil
	}
}

// unlink removes e from the chain starting at head and returns the new head.
func unlink(head, e *cacheEntry) *cacheEntry {
	if head == e {
		return e.next
	}
	for p := head; p != nil; p = p.next {
		if p.next == e {
			p.next = e.next
			break
		}
	}
	return head
}

// remove deletes e from its section and its index chain.
func (st *cacheState) remove(e *cacheEntry) {
	st.markChanged(e)
	if st.sections[e.cacheKind][e.key] == e {
		delete(st.sections[e.cacheKind], e.key)
	}
	if e.cacheKind == kindAppMetadata {
		k := idxKey{e.env, e.client}
		if head := unlink(st.meta[k], e); head != nil {
			st.meta[k] = head
		} else {
			delete(st.meta, k)
		}
		return
	}
	hk := idxKey{e.home, e.env}
	h := st.homes[hk]
	if h == nil {
		return
	}
	switch e.cacheKind {
	case kindAccessToken:
		for i := range h.ats {
			if c := &h.ats[i]; c.client == e.client && c.realm == e.realm {
				if c.head = unlink(c.head, e); c.head == nil {
					h.ats = slices.Delete(h.ats, i, i+1)
				}
				break
			}
		}
	case kindRefreshToken:
		h.rt = unlink(h.rt, e)
	case kindIDToken:
		h.idt = unlink(h.idt, e)
	case kindAccount:
		h.acct = unlink(h.acct, e)
		st.accountsByEnv = nil
	}
	if h.empty() {
		delete(st.homes, hk)
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
	// Environments, clients and realms repeat from one entry to the next: checking
	// the previous one first skips most map lookups when a cache is loaded.
	in := func(s string, last *string) string {
		if s == "" {
			return ""
		}
		if s == *last {
			return *last
		}
		v, ok := st.interned[s]
		if !ok {
			st.interned[s], v = s, s
		}
		*last = v
		return v
	}
	e.home = in(e.home, &st.lastInterned[0])
	e.env = in(e.env, &st.lastInterned[1])
	e.client = in(e.client, &st.lastInterned[2])
	e.realm = in(e.realm, &st.lastInterned[3])
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
	if h := st.homes[idxKey{home, env}]; h != nil {
		return h.atChain(client, realm)
	}
	return nil
}

// realmInUse reports whether any access token or ID token of h is under realm.
func (h *homeIdx) realmInUse(realm string) bool {
	if h == nil {
		return false
	}
	for i := range h.ats {
		if h.ats[i].realm == realm {
			return true
		}
	}
	for e := h.idt; e != nil; e = e.next {
		if e.realm == realm {
			return true
		}
	}
	return false
}

// atChain returns the access tokens of one client and realm.
func (h *homeIdx) atChain(client, realm string) *cacheEntry {
	for i := range h.ats {
		if c := &h.ats[i]; c.client == client && c.realm == realm {
			return c.head
		}
	}
	return nil
}

// chains returns the head of h's chain of kind k (not access tokens).
func (h *homeIdx) chain(k cacheKind) *cacheEntry {
	if h == nil {
		return nil
	}
	switch k {
	case kindRefreshToken:
		return h.rt
	case kindIDToken:
		return h.idt
	case kindAccount:
		return h.acct
	}
	return nil
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
	// Sort small (name, home, entry) records rather than Accounts, with each name
	// lower-cased once, then build the listing in order.
	type item struct {
		name, home string
		e          *cacheEntry
	}
	var items []item
	for k, h := range st.homes {
		if k.b != env || h.acct == nil {
			continue
		}
		e := preferredAccount(h.acct)
		items = append(items, item{lower(e.v[fUsername]), e.v[fHomeAccountID], e})
	}
	slices.SortFunc(items, func(x, y item) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.home, y.home)
	})
	list := make([]Account, len(items))
	for i, it := range items {
		list[i] = accountOf(it.e)
	}
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
