package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// Token returns an access token for scopes on behalf of the account (key or username),
// silently: from the cache, or by redeeming the refresh token when the cached one is
// expired or forceRefresh is set. When only the user can help (nothing cached, refresh
// token expired or revoked, consent needed, a scope not consented at sign-in, a claims
// challenge) the error is a *SignInNeededError, which matches
// identity.ErrInteractionRequired: the caller should offer SignInForScopes; an authority's
// answer is an *identity.Error (errors.As) with its description and correlation id.
//
// Acquisitions for one account are serialized across processes (Deps.RefreshLocks), so
// N callers at once after the access token expired make one refresh between them. The
// call is bounded by ctx and by Deps.Timeout.
func (d *Desk) Token(ctx context.Context, accountKey string, scopes []string, forceRefresh bool) (identity.Result, error) {
	var opts []identity.CallOption
	if forceRefresh {
		opts = append(opts, identity.WithForceRefresh())
	}
	return d.token(ctx, accountKey, scopes, opts...)
}

// token is Token with the identity call options given.
func (d *Desk) token(ctx context.Context, accountKey string, scopes []string, opts ...identity.CallOption) (identity.Result, error) {
	scopes = cleanScopes(scopes)
	if len(scopes) == 0 {
		return identity.Result{}, ErrNoScope
	}
	if _, has := ctx.Deadline(); d.timeout > 0 && !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	s, acc, c, err := d.lookup(ctx, accountKey)
	if err != nil {
		return identity.Result{}, err
	}
	// The whole silent acquisition runs under the account's refresh lock, not only the
	// refresh: the cache lookup after taking it is what finds the token another process
	// stored while this one waited, so only the first of N processes refreshes.
	unlock, err := d.refreshLocks.LockRefresh(ctx, refreshKey(acc.Account))
	if err != nil {
		return identity.Result{}, fmt.Errorf("usecase: token for %s: waiting for another refresh of this account: %w", acc.DisplayName, err)
	}
	res, err := c.AcquireTokenSilentWithError(ctx, scopes, acc.Account, opts...)
	unlock()
	if err != nil {
		if refreshRefused(err) {
			d.markRefused(ctx, acc.Account, true)
		}
		p, _ := s.profile(acc.Profile)
		return identity.Result{}, tokenError(acc, p.IsOIDC(), scopes, err)
	}
	if res.Source == identity.SourceIdentityProvider {
		// A refresh changed the account's status (and maybe its expiry).
		if s.refused(acc.Key) {
			d.markRefused(ctx, acc.Account, false)
		}
		d.changed()
	}
	return res, nil
}

// Scope is one scope offered for an account.
type Scope struct {
	// Name is the scope string, such as "https://graph.microsoft.com/.default".
	Name string `json:"scope"`
	// Favourite is true when the user added it to this account; false for the profile's
	// default scopes, which RemoveScope refuses.
	Favourite bool `json:"favourite"`
}

// Scopes returns the scopes offered for the account: its profile's defaults, then its
// favourites, without duplicates.
func (d *Desk) Scopes(ctx context.Context, accountKey string) ([]Scope, error) {
	s, acc, _, err := d.lookup(ctx, accountKey)
	if err != nil {
		return nil, err
	}
	return scopesOf(s, acc), nil
}

// ScopesOf is Scopes for an AccountView already at hand, without another account lookup:
// the tray builds its menu for many accounts at once with it.
func (d *Desk) ScopesOf(ctx context.Context, accounts []AccountView) (map[string][]Scope, error) {
	s, err := d.settings(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Scope, len(accounts))
	for _, a := range accounts {
		out[a.Key] = scopesOf(s, a)
	}
	return out, nil
}

func scopesOf(s Settings, acc AccountView) []Scope {
	var out []Scope
	seen := map[string]bool{}
	if p, ok := s.profile(acc.Profile); ok {
		for _, sc := range profileScopes(p) {
			if !seen[sc] {
				seen[sc] = true
				out = append(out, Scope{Name: sc})
			}
		}
	}
	for _, sc := range s.favourites(acc.Key) {
		if !seen[sc] {
			seen[sc] = true
			out = append(out, Scope{Name: sc, Favourite: true})
		}
	}
	return out
}

// AddScope adds scope to the account's favourites (a no-op when already offered).
// A favourite is one scope (no white space): tokens are asked for one scope at a time.
func (d *Desk) AddScope(ctx context.Context, accountKey, scope string) error {
	scope = strings.TrimSpace(scope)
	if scope == "" {
		return ErrNoScope
	}
	if strings.ContainsAny(scope, " \t\r\n") {
		return fmt.Errorf("usecase: scope %q contains white space; add one scope at a time", scope)
	}
	_, acc, _, err := d.lookup(ctx, accountKey)
	if err != nil {
		return err
	}
	err = d.deps.Config.Update(ctx, func(s *Settings) error {
		for _, sc := range scopesOf(*s, acc) {
			if sc.Name == scope {
				return errNoChange
			}
		}
		s.setFavourites(acc.Account, append(slices.Clone(s.favourites(acc.Key)), scope))
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("usecase: save favourite scope: %w", err)
	}
	d.changed()
	return nil
}

// RemoveScope removes scope from the account's favourites. Removing a profile default
// is ErrDefaultScope; removing a scope that is not there is a no-op.
func (d *Desk) RemoveScope(ctx context.Context, accountKey, scope string) error {
	_, acc, _, err := d.lookup(ctx, accountKey)
	if err != nil {
		return err
	}
	err = d.deps.Config.Update(ctx, func(s *Settings) error {
		if p, ok := s.profile(acc.Profile); ok && slices.Contains(profileScopes(p), scope) {
			return fmt.Errorf("%w: %q belongs to profile %q", ErrDefaultScope, scope, p.Name)
		}
		favs := slices.Clone(s.favourites(acc.Key))
		i := slices.Index(favs, scope)
		if i < 0 {
			return errNoChange
		}
		s.setFavourites(acc.Account, slices.Delete(favs, i, i+1))
		return nil
	})
	if errors.Is(err, ErrDefaultScope) {
		return err
	}
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("usecase: save favourite scopes: %w", err)
	}
	d.changed()
	return nil
}

// profileScopes are the scopes a profile offers every account: its Scopes, then its
// sign-in scopes (minus the reserved ones, which are no token's audience).
func profileScopes(p profile.Profile) []string {
	out := cleanScopes(p.FavouriteScopes)
	for _, sc := range cleanScopes(p.SignInScopes) {
		if !reservedScope(sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// cleanScopes splits space-separated scope strings and drops empties, so "a b" and
// []string{"a", "b"} ask for the same token.
func cleanScopes(in []string) []string {
	var out []string
	for _, s := range in {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}
