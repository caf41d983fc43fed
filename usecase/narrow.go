package usecase

import (
	"context"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// CacheIndex is what a short-lived Desk (Deps.Index) reads the cache through: a store
// (storage's CacheStore) whose index lists the accounts without their tokens and whose
// per-account records let a command about one account decrypt only that account.
type CacheIndex interface {
	// Summaries lists every cached account from the index alone.
	Summaries(ctx context.Context) ([]AccountSummary, error)
	// AccountsView is a hook over the accounts only, without tokens.
	AccountsView() identity.CacheHook
	// AccountsHook is a hook over the named accounts with all their tokens, and the
	// entries no account owns.
	AccountsHook(homeAccountIDs ...string) identity.CacheHook
}

// AccountSummary is one cached account as the index describes it.
type AccountSummary struct {
	// Key is "<home account id>-<environment>", lower-cased: the account's key.
	Key string
	// HomeAccountID identifies the account (lower-cased).
	HomeAccountID string
	// Usernames are the usernames of the account's Account entries (one per tenant).
	Usernames []string
	// Accounts counts the account's Account entries.
	Accounts int
	// LatestExpiry is when its longest-lived access token expires (zero: none cached).
	LatestExpiry time.Time
	// HasRefreshToken tells whether a refresh token is cached.
	HasRefreshToken bool
}

// listDesk is d over a cache holding only the accounts (from the index), with token
// states from the index too: an account listing without decrypting any token.
func (d *Desk) listDesk(ctx context.Context) (*Desk, error) {
	sums, err := d.narrow.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	sub := d.sub(identity.NewTokenCache(identity.WithCacheHook(d.narrow.AccountsView())))
	sub.inspect = func(context.Context) (cacheSummary, error) {
		out := cacheSummary{states: make(map[string]tokenState, len(sums))}
		for _, s := range sums {
			out.accounts += s.Accounts
			out.states[s.Key] = tokenState{latestExpiry: s.LatestExpiry, hasRefresh: s.HasRefreshToken}
		}
		return out, nil
	}
	return sub, nil
}

// accountDesk is d over a cache holding only the accounts query can name (by key or
// username, as findAccount matches) with all their tokens, and the entries no account
// owns: what a command about one account needs. An account is matched on its every
// environment, so a sign-out still reaches its entries under an alias host.
func (d *Desk) accountDesk(ctx context.Context, query string) (*Desk, error) {
	sums, err := d.narrow.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	q := strings.TrimSpace(query)
	var homes []string
	for _, s := range sums {
		match := strings.EqualFold(s.Key, q)
		for _, u := range s.Usernames {
			match = match || (u != "" && strings.EqualFold(u, q))
		}
		if match {
			homes = append(homes, s.HomeAccountID)
		}
	}
	return d.sub(identity.NewTokenCache(identity.WithCacheHook(d.narrow.AccountsHook(homes...)))), nil
}

// sub is a Desk like d over another cache, with its own clients; its changes notify
// d's subscribers.
func (d *Desk) sub(cache *identity.TokenCache) *Desk {
	deps := d.deps
	deps.Cache = cache
	n := &Desk{deps: deps, log: d.log, now: d.now, hc: d.hc, parent: d,
		refreshLocks: d.refreshLocks, timeout: d.timeout,
		clients: map[string]clientEntry{}, subs: map[int]func(){}}
	n.makeClient = func(p profile.Profile) (client, error) { return newClient(p, n.deps, n.hc, n.log, n.now) }
	n.inspect = func(ctx context.Context) (cacheSummary, error) { return inspectCache(ctx, n.deps.Cache) }
	return n
}
