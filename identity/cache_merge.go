package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// MergeResult says what TokenCache.Merge took from another cache.
type MergeResult struct {
	// Accounts are the accounts whose entries were merged (new or already present),
	// sorted by username.
	Accounts []Account
	// Added counts entries that were not in the cache; Updated, entries replaced by a
	// newer one (a later refresh token, a longer-lived access token); Unchanged,
	// entries already present as they are; KeptNewer, entries the cache already held
	// in a newer version (a refresh token rotated since the other cache was written).
	Added, Updated, Unchanged, KeptNewer int
	// SkippedClients counts, per client id, the credentials left out because no
	// wanted client owns them.
	SkippedClients map[string]int
	// SkippedAppOnly counts tokens of no user (a confidential client's app tokens).
	SkippedAppOnly int
}

// Merge adds the user accounts of data, a cache written by any MSAL library (Azure
// CLI's msal_token_cache.json among them), to c: their accounts, ID tokens, refresh
// tokens and access tokens issued to one of clientIDs (case-insensitive), with the app
// metadata of those clients (which says whether a refresh token is a family one).
// Credentials of other clients and app-only tokens are counted in the result, not
// merged. Merging the same data again changes nothing, and a newer entry already in c
// (a refresh token rotated since) is never replaced by an older one.
//
// The merge is one write under the cache's hook, so it is saved (and seen by other
// processes) like any other change. A malformed data changes nothing.
func (c *TokenCache) Merge(ctx context.Context, data []byte, clientIDs []string) (MergeResult, error) {
	in, err := parseCache(data)
	if err != nil {
		return MergeResult{}, err
	}
	want := map[string]bool{}
	for _, id := range clientIDs {
		want[lower(strings.TrimSpace(id))] = true
	}
	res := MergeResult{SkippedClients: map[string]int{}}

	// Choose first, from the parsed input alone: adding entries to c relinks their
	// index chains.
	var picked []*cacheEntry
	homes := map[idxKey]bool{}
	envs := map[string]bool{}
	for _, k := range []cacheKind{kindRefreshToken, kindAccessToken, kindIDToken} {
		for _, e := range sortedEntries(in, k) {
			switch {
			case e.home == "":
				res.SkippedAppOnly++
			case !want[e.client]:
				res.SkippedClients[e.v[fClientID]]++
			default:
				picked = append(picked, e)
				homes[idxKey{e.home, e.env}] = true
				envs[e.env] = true
			}
		}
	}
	for _, e := range sortedEntries(in, kindAccount) {
		if homes[idxKey{e.home, e.env}] {
			picked = append(picked, e)
		}
	}
	for _, e := range sortedEntries(in, kindAppMetadata) {
		if want[e.client] && envs[e.env] {
			picked = append(picked, e)
		}
	}
	for k, h := range in.homes {
		if homes[k] && h.acct != nil {
			res.Accounts = append(res.Accounts, accountOf(preferredAccount(h.acct)))
		}
	}
	slices.SortFunc(res.Accounts, func(a, b Account) int {
		if c := strings.Compare(strings.ToLower(a.Username), strings.ToLower(b.Username)); c != 0 {
			return c
		}
		return strings.Compare(a.HomeAccountID, b.HomeAccountID)
	})
	if len(picked) == 0 {
		return res, nil
	}

	err = c.update(ctx, func(st *cacheState) bool {
		changed := false
		for _, e := range picked {
			e.next = nil
			old := st.sections[e.cacheKind][e.key]
			switch {
			case old == nil:
				res.Added++
			case sameEntry(old, e):
				res.Unchanged++
				continue
			case olderThan(e, old):
				res.KeptNewer++
				continue
			default:
				res.Updated++
			}
			st.add(e)
			changed = true
		}
		return changed
	})
	if err != nil {
		return MergeResult{}, fmt.Errorf("identity: merging a token cache: %w", err)
	}
	return res, nil
}

// sortedEntries returns the entries of one section in key order, so a merge's result
// does not depend on map order.
func sortedEntries(st *cacheState, k cacheKind) []*cacheEntry {
	out := make([]*cacheEntry, 0, len(st.sections[k]))
	for _, e := range st.sections[k] {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *cacheEntry) int { return strings.Compare(a.key, b.key) })
	return out
}

// sameEntry reports whether an incoming entry adds nothing to the one in the cache:
// the same credential, or an account or app metadata the cache already has (the
// cache's own copy is at least as current as another app's).
func sameEntry(have, in *cacheEntry) bool {
	switch in.cacheKind {
	case kindAccount, kindAppMetadata:
		return true
	}
	return have.v[fSecret] == in.v[fSecret]
}

// olderThan reports whether the incoming credential in is older than have, which the
// merge then keeps: a refresh token by its last modification, an access token by its
// expiry. ID tokens are always taken (the other app signed in more recently, or the
// same sign-in is described).
func olderThan(in, have *cacheEntry) bool {
	switch in.cacheKind {
	case kindRefreshToken:
		return have.lastModified > in.lastModified
	case kindAccessToken:
		return have.expiresOn >= in.expiresOn
	}
	return false
}

// Export returns the entries of the given accounts (matched by home account id and
// environment) as an MSAL cache any MSAL library reads: their accounts, ID, refresh and
// access tokens of every client, and the app metadata of those clients. With no
// accounts it returns the whole cache. The cache is read under its hook, as a lookup.
func (c *TokenCache) Export(ctx context.Context, accounts []Account) ([]byte, error) {
	var out []byte
	err := c.view(ctx, func(st *cacheState) { out = serializeState(st) })
	if err != nil || len(accounts) == 0 {
		return out, err
	}
	st, err := parseCache(out)
	if err != nil {
		return nil, err
	}
	keep := map[idxKey]bool{}
	for _, a := range accounts {
		keep[idxKey{lower(a.HomeAccountID), lower(a.Environment)}] = true
	}
	clients := map[idxKey]bool{}
	for k := cacheKind(0); k < numKinds; k++ {
		if k == kindAppMetadata {
			continue
		}
		for _, e := range sortedEntries(st, k) {
			if !keep[idxKey{e.home, e.env}] {
				st.remove(e)
			} else if e.client != "" {
				clients[idxKey{e.env, e.client}] = true
			}
		}
	}
	for _, e := range sortedEntries(st, kindAppMetadata) {
		if !clients[idxKey{e.env, e.client}] {
			st.remove(e)
		}
	}
	// Sections other apps added may hold anything; an export of chosen accounts holds
	// only what belongs to them.
	st.unknown = nil
	return serializeState(st), nil
}

// RemoveAccessToken drops every cached access token whose secret is token, and
// returns how many it dropped. A caller told that a token was refused (git's
// credential helper "erase") uses it, so the next silent call redeems the refresh
// token instead of handing out the refused token again; refresh tokens stay.
func (c *TokenCache) RemoveAccessToken(ctx context.Context, token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	n := 0
	err := c.update(ctx, func(st *cacheState) bool {
		var doomed []*cacheEntry
		for _, e := range st.sections[kindAccessToken] {
			if e.v[fSecret] == token {
				doomed = append(doomed, e)
			}
		}
		for _, e := range doomed {
			st.remove(e)
		}
		n = len(doomed)
		return n > 0
	})
	return n, err
}
