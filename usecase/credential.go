package usecase

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AzureDevOpsScope is the scope of Azure DevOps' resource: its access tokens are
// accepted as the password of git over HTTPS.
const AzureDevOpsScope = "499b84ac-1321-427f-aa17-267ca6975798/.default"

// CredentialHost says which token git gets for a host (config.json credential_hosts).
type CredentialHost struct {
	// Host is git's host (with ":port" when not the default), or "*.example.com" for
	// every subdomain; case-insensitive.
	Host string
	// Scope is the scope of the access token git gets as its password.
	Scope string
	// Profile names the profile whose account is used; "" means the first profile.
	Profile string
	// Account is an account key or username; "" means the username git asks for when
	// it is an account's, else the profile's only account.
	Account string
}

// builtinCredentialHosts come after the configured ones: Azure DevOps, whose git
// takes an Entra access token for its resource as the password.
var builtinCredentialHosts = []CredentialHost{
	{Host: "dev.azure.com", Scope: AzureDevOpsScope},
	{Host: "*.visualstudio.com", Scope: AzureDevOpsScope},
}

// ErrNoCredential means Tokendesk has no credential for a git host: the host is not
// mapped, or its profile has no account (or several, and none is configured). A git
// credential helper answers nothing then, so git asks its next helper.
var ErrNoCredential = errors.New("usecase: no credential for this host")

// GitCredential is what git gets for a host: a username and a fresh access token as
// the password.
type GitCredential struct {
	// Username is the one git asked with, else the account's username (or key).
	Username string
	// Password is an access token for the host's scope.
	Password string
	// ExpiresOn is when the password stops working.
	ExpiresOn time.Time
	// Account is the account the token belongs to.
	Account AccountView
}

// GitCredential returns the credential for git's host (and the username in git's URL,
// if any), silently: from the cache or by refreshing. An unmapped host, or one whose
// account cannot be chosen, is ErrNoCredential; when only a sign-in helps the error
// matches identity.ErrInteractionRequired.
func (d *Desk) GitCredential(ctx context.Context, host, username string) (GitCredential, error) {
	s, err := d.settings(ctx)
	if err != nil {
		return GitCredential{}, err
	}
	h, ok := credentialHostFor(s.CredentialHosts, host)
	if !ok {
		return GitCredential{}, fmt.Errorf("%w: %s is not a credential host", ErrNoCredential, host)
	}
	profile := h.Profile
	if profile == "" && len(s.Profiles) > 0 {
		profile = s.Profiles[0].Name
	}
	if _, ok := s.profile(profile); !ok {
		return GitCredential{}, fmt.Errorf("%w: %q (credential host %s)", ErrNoProfile, profile, h.Host)
	}
	all, err := d.listAccounts(ctx, s)
	if err != nil && len(all) == 0 {
		return GitCredential{}, err
	}
	acc, err := chooseGitAccount(all, h, profile, username)
	if err != nil {
		return GitCredential{}, err
	}
	res, err := d.Token(ctx, acc.Key, []string{h.Scope}, false)
	if err != nil {
		return GitCredential{}, err
	}
	user := username
	if user == "" {
		user = firstNonEmpty(acc.Username, acc.Key)
	}
	return GitCredential{Username: user, Password: res.AccessToken, ExpiresOn: res.ExpiresOn, Account: acc}, nil
}

// chooseGitAccount picks the account of profile for h: the configured one, else the
// one whose username git asked with, else the only one.
func chooseGitAccount(all []AccountView, h CredentialHost, profile, username string) (AccountView, error) {
	if h.Account != "" {
		return findAccount(all, h.Account, profile)
	}
	if username != "" {
		if a, err := findAccount(all, username, profile); err == nil {
			return a, nil
		}
	}
	a, err := findAccount(all, "", profile)
	switch {
	case errors.Is(err, ErrNoAccount):
		return AccountView{}, fmt.Errorf("%w: no account of profile %q is signed in", ErrNoCredential, profile)
	case errors.Is(err, ErrAmbiguousAccount):
		return AccountView{}, fmt.Errorf("%w: profile %q has several accounts; name one as \"account\" for host %q in config.json credential_hosts", ErrNoCredential, profile, h.Host)
	}
	return a, err
}

// credentialHostFor returns the first configured, else built-in, entry for host.
func credentialHostFor(configured []CredentialHost, host string) (CredentialHost, bool) {
	host = strings.ToLower(strings.TrimSpace(host))
	if host == "" {
		return CredentialHost{}, false
	}
	for _, list := range [][]CredentialHost{configured, builtinCredentialHosts} {
		for _, h := range list {
			if hostMatches(strings.ToLower(h.Host), host) {
				return h, true
			}
		}
	}
	return CredentialHost{}, false
}

// hostMatches matches a host against "name[:port]" or "*.domain[:port]" (any
// subdomain, not the domain itself).
func hostMatches(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix) && len(host) > len(suffix)+1
	}
	return pattern == host
}

// ForgetAccessToken drops the cached access token token (one git says was refused),
// so the next request redeems the refresh token for a new one. It reports whether the
// token was cached.
func (d *Desk) ForgetAccessToken(ctx context.Context, token string) (bool, error) {
	n, err := d.deps.Cache.RemoveAccessToken(ctx, token)
	if err != nil {
		return false, fmt.Errorf("usecase: forgetting an access token: %w", err)
	}
	if n > 0 {
		d.changed()
	}
	return n > 0, nil
}
