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

// SignInNeededError is Token's error when only a new sign-in can get the token: the
// refresh token was refused (invalid_grant, expired, revoked), the provider wants the
// user (interaction_required, login_required, consent_required), the scope was not
// consented at sign-in (invalid_scope: most non-Entra providers bind a refresh token to
// the scopes granted when it was issued), a resource sent a claims challenge, or
// nothing usable is cached. It matches identity.ErrInteractionRequired and unwraps to
// the authority's *identity.Error. SignInForScopes is the remedy.
type SignInNeededError struct {
	// Account is the account the token was asked for.
	Account AccountView
	// Scopes are the scopes asked for.
	Scopes []string
	// Claims is the claims challenge to pass to the sign-in, when the authority sent one.
	Claims string
	// Err is what the authority (or the cache) answered.
	Err error
}

// Error says who must sign in for what, then the cause.
func (e *SignInNeededError) Error() string {
	return fmt.Sprintf("%s must sign in again to get a token for %s: %v",
		e.Account.DisplayName, strings.Join(e.Scopes, " "), e.Err)
}

// Unwrap matches identity.ErrInteractionRequired and the cause.
func (e *SignInNeededError) Unwrap() []error {
	return []error{identity.ErrInteractionRequired, e.Err}
}

// signInFixes reports whether err from a silent acquisition is one only a sign-in
// can fix, and the claims challenge to carry into it. invalid_scope is one for
// OpenID Connect providers, whose refresh tokens are bound to the scopes consented at
// sign-in; from Entra, whose refresh token serves any resource, it means the scope
// itself is wrong, which no sign-in fixes.
func signInFixes(err error, oidc bool) (claims string, ok bool) {
	var ie *identity.Error
	if errors.As(err, &ie) {
		claims = ie.Claims
		if claims != "" || (oidc && ie.Code == "invalid_scope") {
			return claims, true
		}
	}
	return claims, errors.Is(err, identity.ErrInteractionRequired)
}

// tokenError wraps a silent acquisition's failure for acc (of an OpenID Connect
// profile when oidc): a SignInNeededError when a
// sign-in is the remedy, else the cause with who and what it was for.
func tokenError(acc AccountView, oidc bool, scopes []string, err error) error {
	if claims, ok := signInFixes(err, oidc); ok {
		return &SignInNeededError{Account: acc, Scopes: slices.Clone(scopes), Claims: claims, Err: err}
	}
	return fmt.Errorf("could not get a token for %s (%s): %w", acc.DisplayName, strings.Join(scopes, " "), err)
}

// SignInForScopes signs the account in again through the browser, asking for its
// profile's scopes plus scopes (incremental consent), with the account's username as
// the login hint and claims (from a SignInNeededError) as the claims challenge. Then
// it returns the token for scopes, from the cache the sign-in just filled. For an Entra
// profile only scopes are asked for: an Entra request names one resource, and its
// refresh token serves the others silently as before.
//
// opts.LoginHint, when empty, is the account's username; opts.Scopes is ignored.
func (d *Desk) SignInForScopes(ctx context.Context, accountKey string, scopes []string, claims string, opts SignInOptions) (identity.Result, error) {
	scopes = cleanScopes(scopes)
	if len(scopes) == 0 {
		return identity.Result{}, ErrNoScope
	}
	s, acc, c, err := d.lookup(ctx, accountKey)
	if err != nil {
		return identity.Result{}, err
	}
	p, ok := s.profile(acc.Profile)
	if !ok {
		return identity.Result{}, fmt.Errorf("%w: %q", ErrNoProfile, acc.Profile)
	}
	if opts.LoginHint == "" {
		opts.LoginHint = acc.Username
	}
	opts.Claims = claims
	opener := opts.Opener
	if opener == nil {
		opener = d.deps.Opener
	}
	res, err := c.interactive(ctx, consentScopes(p, scopes), opts, opener)
	if err != nil {
		return identity.Result{}, fmt.Errorf("could not sign in %s with %s: %w", acc.DisplayName, p.Name, err)
	}
	if res.Account.IsZero() {
		return identity.Result{}, errors.New("the provider returned no account (no ID token)")
	}
	d.markRefused(ctx, res.Account, false)
	d.changed()
	// The sign-in's own result holds the token for the first resource asked for; ask
	// the cache for exactly scopes, as a later Token call would.
	tok, err := c.AcquireTokenSilentWithError(ctx, scopes, res.Account)
	if err != nil {
		return identity.Result{}, tokenError(acc, p.IsOIDC(), scopes, err)
	}
	return tok, nil
}

// consentScopes are the scopes of an incremental-consent sign-in: for OpenID Connect
// profiles the profile's sign-in and favourite scopes plus the new ones (the new refresh
// token must still cover the old ones); for Entra the new ones alone.
func consentScopes(p profile.Profile, add []string) []string {
	if !p.IsOIDC() {
		return signInScopes(p, add)
	}
	all := append(signInScopes(p, nil), profileScopes(p)...)
	return signInScopes(p, cleanScopes(append(all, add...)))
}

// refreshRefused reports whether the authority refused the refresh token itself
// (revoked, expired, the session ended), as opposed to one scope of it.
func refreshRefused(err error) bool {
	var ie *identity.Error
	if !errors.As(err, &ie) {
		return false
	}
	switch ie.Code {
	case "invalid_grant", "interaction_required", "login_required":
		return true
	}
	return false
}

// markRefused records (or clears) that the account's refresh token was refused, so
// every process lists it as StatusRefreshRefused until a sign-in or a refresh works.
// Only a change is saved; a failure to save is logged.
func (d *Desk) markRefused(ctx context.Context, a identity.Account, on bool) {
	s, err := d.settings(ctx)
	if err != nil || !s.setRefused(a, on) {
		return // nothing to change: no lock, no write
	}
	err = d.deps.Config.Update(ctx, func(s *Settings) error {
		if !s.setRefused(a, on) {
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		return
	}
	if err != nil {
		d.log.Warn("could not record the refresh token's state", "err", err)
		return
	}
	d.changed()
}
