package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// Status says what Tokendesk can do for an account without asking the user.
type Status int

const (
	// StatusNeedsSignIn: no usable token and no refresh token; the user must sign in.
	StatusNeedsSignIn Status = iota
	// StatusExpiredRefreshable: access tokens expired, but a refresh token is cached, so
	// a token can (most likely) be had silently.
	StatusExpiredRefreshable
	// StatusValid: at least one cached access token is still valid.
	StatusValid
	// StatusRefreshRefused: the provider refused the account's refresh token (revoked,
	// expired, the session ended) the last time it was used; cached access tokens may
	// still work until they expire, but the user must sign in again.
	StatusRefreshRefused
)

// String returns the status as the UI shows it.
func (s Status) String() string {
	switch s {
	case StatusValid:
		return "valid"
	case StatusExpiredRefreshable:
		return "expired, refreshable"
	case StatusRefreshRefused:
		return "refresh token refused"
	default:
		return "needs sign-in"
	}
}

// MarshalText gives the status a stable machine name ("valid", "refreshable",
// "refresh-refused", "needs-sign-in") for JSON output.
func (s Status) MarshalText() ([]byte, error) {
	switch s {
	case StatusValid:
		return []byte("valid"), nil
	case StatusExpiredRefreshable:
		return []byte("refreshable"), nil
	case StatusRefreshRefused:
		return []byte("refresh-refused"), nil
	default:
		return []byte("needs-sign-in"), nil
	}
}

// AccountView is one signed-in account as the UI and CLI show it.
type AccountView struct {
	// Key identifies the account stably across runs and processes:
	// "<home_account_id>-<environment>", lower-cased (the prefix of MSAL's cache keys).
	// FindAccount also accepts the username instead.
	Key string `json:"key"`
	// DisplayName is the name claim of the ID token, or the username when absent.
	DisplayName string `json:"displayName"`
	// Username is preferred_username (UPN or e-mail), may be empty for some providers.
	Username string `json:"username"`
	// TenantOrIssuer is the Entra tenant id, or the OIDC issuer.
	TenantOrIssuer string `json:"tenant"`
	// Profile is the name of the profile the account belongs to.
	Profile string `json:"profile"`
	// Status says whether a token can be had without the user.
	Status Status `json:"status"`
	// ExpiresOn is the expiry of the account's longest-lived cached access token (zero
	// when none is cached).
	ExpiresOn time.Time `json:"expiresOn,omitzero"`
	// Account is the identity account, for callers that need the raw fields.
	Account identity.Account `json:"-"`
}

// AccountKey returns the Key of a.
func AccountKey(a identity.Account) string {
	return strings.ToLower(a.HomeAccountID + "-" + a.Environment)
}

// Accounts lists every signed-in account of every profile, sorted by display name.
// An account seen by several profiles (same authority host) is listed once, under the
// first profile. When a profile fails, the others are still listed and err says which
// failed: the slice may be non-empty together with an error.
func (d *Desk) Accounts(ctx context.Context) ([]AccountView, error) {
	s, err := d.settings(ctx)
	if err != nil {
		return nil, err
	}
	return d.listAccounts(ctx, s)
}

// listAccounts is accounts, from the cache's index alone when d is short-lived.
func (d *Desk) listAccounts(ctx context.Context, s Settings) ([]AccountView, error) {
	if d.narrow != nil {
		sub, err := d.listDesk(ctx)
		if err != nil {
			return nil, err
		}
		return sub.accounts(ctx, s)
	}
	return d.accounts(ctx, s)
}

func (d *Desk) accounts(ctx context.Context, s Settings) ([]AccountView, error) {
	sum, err := d.inspect(ctx)
	if err != nil {
		// Without the summary the list still works, with every status unknown
		// (shown as "needs sign-in") rather than no list at all.
		d.log.Warn("account status unavailable", "err", err)
		sum.accounts = -1
	}
	if sum.accounts == 0 {
		// Nothing signed in: don't wake any authority (resolving an Entra authority
		// is a network round trip) just to learn that.
		return nil, nil
	}
	var (
		out  []AccountView
		seen = map[string]bool{}
		errs []error
	)
	for _, p := range s.Profiles {
		c, err := d.clientFor(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %q: %w", p.Name, err))
			continue
		}
		accs, err := c.Accounts(ctx, "")
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %q: %w", p.Name, err))
			continue
		}
		for _, a := range accs.All() {
			k := AccountKey(a)
			if seen[k] {
				continue
			}
			seen[k] = true
			n, _ := s.name(k)
			out = append(out, d.view(a, p, n))
		}
	}
	now := d.now()
	for i := range out {
		st := sum.states[out[i].Key]
		out[i].ExpiresOn = st.latestExpiry
		switch {
		case s.refused(out[i].Key):
			out[i].Status = StatusRefreshRefused
		case st.latestExpiry.After(now):
			out[i].Status = StatusValid
		case st.hasRefresh:
			out[i].Status = StatusExpiredRefreshable
		default:
			out[i].Status = StatusNeedsSignIn
		}
	}
	slices.SortStableFunc(out, func(a, b AccountView) int {
		if c := strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, errors.Join(errs...)
}

// view builds the AccountView of a signed in through p (status left to the caller),
// filling in the names userinfo gave (n) where the ID token had none.
func (d *Desk) view(a identity.Account, p profile.Profile, n AccountName) AccountView {
	v := AccountView{
		Key:         AccountKey(a),
		DisplayName: firstOf(a.Name, n.Name),
		Username:    firstOf(a.Username, n.Username),
		Profile:     p.Name,
		Account:     a,
	}
	if v.DisplayName == "" {
		v.DisplayName = v.Username
	}
	if v.DisplayName == "" {
		v.DisplayName = a.LocalAccountID
	}
	if p.IsOIDC() {
		v.TenantOrIssuer = p.Issuer
	} else {
		v.TenantOrIssuer = a.Realm
	}
	return v
}

// FindAccount returns the one account whose Key equals query, or else whose username
// equals it (both case-insensitive), optionally only among the accounts of profile
// (empty: any profile). An empty query matches every account, which is handy when
// there is only one. No match is ErrNoAccount; several are ErrAmbiguousAccount.
func (d *Desk) FindAccount(ctx context.Context, query, profile string) (AccountView, error) {
	if d.narrow != nil && strings.TrimSpace(query) != "" {
		// Only the accounts the query can match need loading.
		sub, err := d.accountDesk(ctx, query)
		if err != nil {
			return AccountView{}, err
		}
		return sub.FindAccount(ctx, query, profile)
	}
	all, err := d.Accounts(ctx)
	if err != nil && len(all) == 0 {
		return AccountView{}, err
	}
	return findAccount(all, query, profile)
}

func findAccount(all []AccountView, query, profile string) (AccountView, error) {
	var byKey, byName []AccountView
	for _, a := range all {
		if profile != "" && !strings.EqualFold(a.Profile, profile) {
			continue
		}
		switch {
		case query == "":
			byName = append(byName, a)
		case strings.EqualFold(a.Key, query):
			byKey = append(byKey, a)
		case a.Username != "" && strings.EqualFold(a.Username, query):
			byName = append(byName, a)
		}
	}
	if len(byKey) == 1 {
		return byKey[0], nil
	}
	switch len(byName) {
	case 0:
		if query == "" {
			return AccountView{}, fmt.Errorf("%w: no account is signed in", ErrNoAccount)
		}
		return AccountView{}, fmt.Errorf("%w: %q", ErrNoAccount, query)
	case 1:
		return byName[0], nil
	}
	keys := make([]string, len(byName))
	for i, a := range byName {
		keys[i] = a.Key
	}
	return AccountView{}, fmt.Errorf("%w: %q matches %s; pass an account key", ErrAmbiguousAccount, query, strings.Join(keys, ", "))
}

// SignOut removes the account's tokens from the cache (for its profile's client and
// its family) and forgets its favourite scopes.
func (d *Desk) SignOut(ctx context.Context, accountKey string) error {
	s, acc, c, err := d.lookup(ctx, accountKey)
	if err != nil {
		return err
	}
	if err := c.RemoveAccount(ctx, acc.Account); err != nil {
		return fmt.Errorf("usecase: sign out %s: %w", acc.Key, err)
	}
	if s.favourites(acc.Key) != nil {
		err := d.deps.Config.Update(ctx, func(s *Settings) error {
			s.setFavourites(acc.Account, nil)
			return nil
		})
		if err != nil {
			d.log.Warn("could not forget favourite scopes", "err", err)
		}
	}
	d.changed()
	return nil
}

// lookup loads the settings and finds an account by key or username, with its
// client. An empty query is refused: acting on "the only account" is for callers to
// decide explicitly (through FindAccount), never a silent default of a destructive call.
func (d *Desk) lookup(ctx context.Context, query string) (Settings, AccountView, client, error) {
	if strings.TrimSpace(query) == "" {
		return Settings{}, AccountView{}, nil, fmt.Errorf("%w: no account given", ErrNoAccount)
	}
	if d.narrow != nil {
		sub, err := d.accountDesk(ctx, query)
		if err != nil {
			return Settings{}, AccountView{}, nil, err
		}
		return sub.lookup(ctx, query)
	}
	s, err := d.settings(ctx)
	if err != nil {
		return Settings{}, AccountView{}, nil, err
	}
	all, err := d.accounts(ctx, s)
	if err != nil && len(all) == 0 {
		return Settings{}, AccountView{}, nil, err
	}
	acc, err := findAccount(all, query, "")
	if err != nil {
		return Settings{}, AccountView{}, nil, err
	}
	p, ok := s.profile(acc.Profile)
	if !ok {
		return Settings{}, AccountView{}, nil, fmt.Errorf("%w: %q", ErrNoProfile, acc.Profile)
	}
	c, err := d.clientFor(p)
	if err != nil {
		return Settings{}, AccountView{}, nil, err
	}
	return s, acc, c, nil
}
