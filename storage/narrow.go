package storage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
)

// AccountSummary is what the cache's index knows of one account (one home account id
// at one environment) without decrypting its tokens.
type AccountSummary struct {
	// Key is "<home account id>-<environment>", lower-cased: usecase's account key.
	Key string
	// HomeAccountID and Environment identify the account (both lower-cased).
	HomeAccountID string
	Environment   string
	// Usernames are the usernames of the account's Account entries (one per tenant).
	Usernames []string
	// Accounts counts the account's Account entries.
	Accounts int
	// LatestExpiry is when its longest-lived access token expires (zero: none cached).
	LatestExpiry time.Time
	// HasRefreshToken tells whether a refresh token is cached.
	HasRefreshToken bool
}

// Summaries returns every account the cache holds, from its index alone: one stat when
// the index is unchanged since this store last read it, else one read and decryption
// of the index, which is small (no token is in it). It asks the keyring as any access
// does. A damaged index is reported as an error here and moved aside by the next
// access through a hook.
func (s *CacheStore) Summaries(ctx context.Context) ([]AccountSummary, error) {
	var out []AccountSummary
	err := s.withIndex(ctx, func(x *storeIndex) error {
		if x == nil {
			return nil
		}
		if x.summaries == nil {
			sums := make([]AccountSummary, 0, len(x.entries))
			for i := range x.entries {
				e := &x.entries[i]
				if e.home == "" {
					continue
				}
				sum := AccountSummary{Key: e.key, HomeAccountID: e.home, Environment: e.env, Usernames: e.usernames,
					HasRefreshToken: e.hasRefresh, Accounts: e.nAccounts}
				if e.latestExpiry > 0 {
					sum.LatestExpiry = time.Unix(e.latestExpiry, 0)
				}
				sums = append(sums, sum)
			}
			x.summaries = sums
		}
		out = x.summaries
		return nil
	})
	// A copy: the index's own list is shared by every call until the index changes.
	return slices.Clone(out), err
}

// withIndex runs fn on the current index (nil when the cache is empty or still in
// format 1) as a lookup does: under the in-process lock, without the file lock.
func (s *CacheStore) withIndex(ctx context.Context, fn func(*storeIndex) error) error {
	// A throw-away cache with the accounts-only scope: before() does the keyring, the
	// locks and a format-1 migration exactly as for any lookup.
	probe := &nullCache{}
	if err := s.before(ctx, probe, false, &scope{accountsOnly: true}); err != nil {
		return err
	}
	x, _, err := s.currentIndex()
	if err == nil {
		err = fn(x)
	}
	if aerr := s.after(ctx, probe, false); err == nil {
		err = aerr
	}
	s.forget(probe)
	return err
}

// nullCache is a cacheData that keeps nothing.
type nullCache struct{ _ byte }

func (*nullCache) Serialize() ([]byte, error) { return nil, nil }
func (*nullCache) Deserialize([]byte) error   { return nil }

// forget drops what the store remembers of cache.
func (s *CacheStore) forget(cache cacheData) {
	for i := range s.synced {
		if s.synced[i].cache == cache {
			s.synced = append(s.synced[:i], s.synced[i+1:]...)
			return
		}
	}
}

// AccountsHook returns a hook for a cache that holds only the records of the given
// home account ids (every environment) and the shared record (app metadata and
// app-only tokens): what a command about one account needs, decrypted without the
// other accounts' tokens. Writes through it rewrite only those records; entries of
// another account that appear in such a cache (a refresh answered for another home
// account) are merged into that account's record, never replacing it. Each cache
// needs its own hook.
func (s *CacheStore) AccountsHook(homeAccountIDs ...string) identity.CacheHook {
	sc := &scope{homes: map[string]bool{}}
	for _, h := range homeAccountIDs {
		sc.homes[strings.ToLower(h)] = true
	}
	return &scopedHook{s: s, sc: sc}
}

// AccountsView returns a read-only hook for a cache that holds only the Account
// entries of every account, read from the index without decrypting any token: enough
// to list and find accounts. Token states come from Summaries. Each cache needs its
// own hook.
func (s *CacheStore) AccountsView() identity.CacheHook {
	return &scopedHook{s: s, sc: &scope{accountsOnly: true}}
}

// scopedHook is a CacheHook over part of the store.
type scopedHook struct {
	s  *CacheStore
	sc *scope
}

func (h *scopedHook) BeforeAccess(ctx context.Context, cache *identity.TokenCache, write bool) error {
	if cache == nil {
		return errors.New("storage: nil token cache")
	}
	return h.s.before(ctx, cache, write, h.sc)
}

func (h *scopedHook) AfterAccess(ctx context.Context, cache *identity.TokenCache, write, changed bool) error {
	if cache == nil {
		return errors.New("storage: nil token cache")
	}
	return h.s.after(ctx, cache, changed)
}
