package identity

import (
	"context"
	"time"
)

// TokenState is what the cache holds for one account at one environment, for a status
// display such as "valid", "expired but refreshable" or "needs sign-in". It carries no
// token, and reading it sends no request.
type TokenState struct {
	// HomeAccountID and Environment identify the account (both lower-cased).
	HomeAccountID string
	Environment   string
	// LatestExpiry is when the account's longest-lived access token expires (any
	// client, realm and scopes); zero when none is cached.
	LatestExpiry time.Time
	// HasRefreshToken tells whether a refresh token (any client) is cached.
	HasRefreshToken bool
}

// TokenStates returns a TokenState for every account that has an access or refresh
// token in the cache, in no particular order, and the number of Account entries. It
// reads the cache's account index under the hook like any other lookup, so a status
// list costs one walk of the accounts, not a serialization of the cache.
func (c *TokenCache) TokenStates(ctx context.Context) (states []TokenState, accounts int, err error) {
	err = c.view(ctx, func(st *cacheState) {
		accounts = len(st.sections[kindAccount])
		states = make([]TokenState, 0, len(st.homes))
		for k, h := range st.homes {
			if k.a == "" {
				continue // app-only tokens belong to no account
			}
			s := TokenState{HomeAccountID: k.a, Environment: k.b, HasRefreshToken: h.rt != nil}
			var latest int64
			for _, ch := range h.ats {
				for e := ch.head; e != nil; e = e.next {
					latest = max(latest, e.expiresOn)
				}
			}
			if latest > 0 {
				s.LatestExpiry = time.Unix(latest, 0)
			}
			if latest > 0 || s.HasRefreshToken {
				states = append(states, s)
			}
		}
	})
	return states, accounts, err
}
