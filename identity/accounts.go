package identity

import (
	"context"
	"iter"
	"slices"
	"strings"
)

// Accounts lists the accounts signed in at this client's authority (MSAL:
// get_accounts): one per home account id, from the authority's environment or, when it
// has none, the first of its aliases that has some. username, when not "", keeps only
// accounts with that username, compared case-insensitively. Accounts of every
// authority type are listed (MSAL Python 1.21 drops "Generic" ones, but Tokendesk
// signs in to generic OpenID providers too). The list is sorted by username.
//
// The list is read-only. The cache builds it once per change of its accounts and
// every caller shares it, so a listing of 10,000 accounts costs no copy, and no caller
// can change what the next one sees; Slice gives a copy to change. Later changes to
// the cache do not show in a list already returned.
func (a *ClientApplication) Accounts(ctx context.Context, username string) (AccountList, error) {
	envs := a.environmentsForAccounts()
	c := a.cache
	if err := c.beginAccess(ctx, false); err != nil {
		return AccountList{}, err
	}
	c.mu.RLock()
	list, ok := c.listAccounts(envs, false)
	c.mu.RUnlock()
	if !ok {
		// The listing is built once per change of the Account section, under the
		// write lock; later calls share it.
		c.mu.Lock()
		list, _ = c.listAccounts(envs, true)
		c.mu.Unlock()
	}
	if username != "" {
		var out []Account
		for _, acc := range list {
			if strings.EqualFold(acc.Username, username) {
				out = append(out, acc)
			}
		}
		list = out
	}
	if err := c.endAccess(ctx, false, false); err != nil {
		return AccountList{}, err
	}
	return AccountList{list: list}, nil
}

// AccountList is a read-only list of accounts (see ClientApplication.Accounts). Its
// zero value is the empty list.
type AccountList struct{ list []Account }

// NewAccountList returns a list of a copy of accounts (for fakes and tests of code
// that reads one).
func NewAccountList(accounts ...Account) AccountList {
	return AccountList{list: slices.Clone(accounts)}
}

// Len is the number of accounts.
func (l AccountList) Len() int { return len(l.list) }

// At returns account i (a copy: changing it changes nothing in the list).
func (l AccountList) At(i int) Account { return l.list[i] }

// All yields the index and a copy of every account, in order, as slices.All does.
func (l AccountList) All() iter.Seq2[int, Account] { return slices.All(l.list) }

// Slice returns the accounts in a new slice the caller owns (nil when there are none).
func (l AccountList) Slice() []Account { return slices.Clone(l.list) }

// listAccounts returns the listing of the first environment of envs that has
// accounts. Without build (only the read lock held) it reports false when a listing
// is not cached yet; with build (the write lock held) it builds the missing ones.
func (c *TokenCache) listAccounts(envs []string, build bool) ([]Account, bool) {
	for _, env := range envs {
		list, ok := c.st.accountsByEnv[env]
		if !ok {
			if !build {
				return nil, false
			}
			list = c.st.accounts(env)
		}
		if len(list) > 0 {
			return list, true
		}
	}
	return nil, true
}

// environmentsForAccounts returns where to look for this client's accounts: the
// authority's host and aliases, known without any request (see knownAuthority), so
// the account list shows at once, offline too.
func (a *ClientApplication) environmentsForAccounts() []string {
	info, err := a.endpoint.known("")
	if err != nil {
		return nil
	}
	return cacheEnvironments(info)
}

// RemoveAccount signs account out of this client and forgets it (MSAL:
// remove_account): its refresh tokens of this client and of the client's family, all
// its access tokens, ID tokens and account entries in every tenant. App metadata is
// kept, so the family membership stays known.
func (a *ClientApplication) RemoveAccount(ctx context.Context, account Account) error {
	if account.IsZero() {
		return ErrNoAccount
	}
	home := strings.ToLower(account.HomeAccountID)
	client := strings.ToLower(a.clientID)
	env := strings.ToLower(account.Environment)
	envs := []string{env}
	if aliases := a.environmentsForAccounts(); slices.Contains(aliases, env) {
		envs = aliases
	} else if b := builtinAliases(env); b != nil {
		envs = b
	}
	return a.cache.update(ctx, func(st *cacheState) bool {
		n := 0
		for _, env := range envs {
			h := st.home(home, env)
			if h == nil {
				continue
			}
			family := ""
			if m := st.appMetadata(env, client); m != nil {
				family = m.v[fFamilyID]
			}
			n += st.removeWhere(h.rt, func(e *cacheEntry) bool {
				return e.client == client || (family != "" && e.v[fFamilyID] == family)
			})
			// Access tokens of every client: the refresh tokens are gone anyway, and
			// other apps keep their own refresh tokens (as MSAL Python).
			var ats []*cacheEntry
			for _, c := range h.ats {
				for e := c.head; e != nil; e = e.next {
					ats = append(ats, e)
				}
			}
			for _, e := range ats {
				st.remove(e)
			}
			n += len(ats)
			n += st.removeWhere(h.idt, func(*cacheEntry) bool { return true })
			n += st.removeWhere(h.acct, func(*cacheEntry) bool { return true })
		}
		return n > 0
	})
}

// RemoveTokensForClient removes the app-only access tokens this client acquired with
// AcquireTokenForClient (MSAL: remove_tokens_for_client). Tokens of users, including
// on-behalf-of tokens, stay.
func (c *ConfidentialClient) RemoveTokensForClient(ctx context.Context) error {
	envs := c.environmentsForAccounts()
	client := strings.ToLower(c.clientID)
	return c.cache.update(ctx, func(st *cacheState) bool {
		var doomed []*cacheEntry
		for _, env := range envs {
			h := st.home("", env)
			if h == nil {
				continue
			}
			for _, c := range h.ats {
				if c.client != client {
					continue
				}
				for e := c.head; e != nil; e = e.next {
					doomed = append(doomed, e)
				}
			}
		}
		for _, e := range doomed {
			st.remove(e)
		}
		return len(doomed) > 0
	})
}
