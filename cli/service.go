package cli

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
)

// This file is the seam between the command line and the use-case layer. Commands talk
// to a service, never to usecase.Desk directly, so parsing, exit codes and output shapes
// are tested with a hand-written fake, and the adapter in desk.go is the only file that
// follows usecase's API.

// account is what the CLI shows and selects: one signed-in identity.
type account struct {
	// Key is the stable handle that --account and logout accept; it never changes for
	// an account and is unique across profiles.
	Key string `json:"key"`
	// Username is the preferred username (UPN or e-mail), when the authority sent one.
	Username string `json:"username,omitempty"`
	// Name is the display name.
	Name string `json:"name,omitempty"`
	// Tenant is the tenant id (Entra) or realm; empty for plain OpenID issuers.
	Tenant string `json:"tenant,omitempty"`
	// Authority is the host or issuer the account signed in at.
	Authority string `json:"authority,omitempty"`
	// Profile names the profile the account belongs to.
	Profile string `json:"profile,omitempty"`
	// Status is the token state ("valid", "refreshable", "sign-in required"), when known.
	Status string `json:"status,omitempty"`
}

// profileRow is one configured provider (authority + client id + default scopes).
type profileRow struct {
	Name      string `json:"name"`
	Authority string `json:"authority"`
	ClientID  string `json:"clientId"`
	// Scopes are the profile's favourite scopes, offered for every account.
	Scopes []string `json:"scopes,omitempty"`
	// DefaultScopes are asked for at sign-in.
	DefaultScopes []string `json:"defaultScopes,omitempty"`
	Default       bool     `json:"default,omitempty"`
}

// token is an access token and what the output shapes need to describe it.
type token struct {
	AccessToken string
	TokenType   string
	ExpiresOn   time.Time
	Scopes      []string
	Account     account
}

// deviceCode is what a user needs to finish a device-code sign-in elsewhere.
type deviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	// Message is the authority's own instruction text, when it sent one (Entra does).
	Message   string
	ExpiresAt time.Time
}

// loginRequest is one sign-in.
type loginRequest struct {
	// Profile is the profile name; "" means the default profile.
	Profile string
	// LoginHint pre-fills the username at the sign-in page.
	LoginHint string
	// AddScopes are asked for on top of the profile's scopes (incremental consent).
	AddScopes []string
	// Claims is a claims challenge to send (from a resource or a refused refresh).
	Claims string
	// OnURL is told the sign-in URL of a browser sign-in, so it can be printed for when
	// the browser did not open.
	OnURL func(url string)
	// OnDeviceCode is told the code and link of a device-code sign-in.
	OnDeviceCode func(deviceCode)
}

// service is the part of the use-case layer the CLI uses (usecase.Desk, through the
// adapter in desk.go). Accounts are named by a key or username; the service resolves
// them, so the window and the CLI never disagree about which account a name means.
type service interface {
	// Accounts lists every signed-in account. When some profile failed, the accounts of
	// the others come back together with the error.
	Accounts(ctx context.Context) ([]account, error)
	// FindAccount returns the one account whose key, or else username, is query, among
	// the accounts of profile ("" = any). An empty query matches every account.
	// No match is errNoSuchAccount; several are errAmbiguousAccount.
	FindAccount(ctx context.Context, query, profile string) (account, error)
	// Profiles lists the configured profiles, the default first.
	Profiles(ctx context.Context) ([]profileRow, error)
	// SignIn signs in through the system browser (loopback redirect). When no browser
	// can be opened the error matches identity.ErrBrowserUnavailable.
	SignIn(ctx context.Context, req loginRequest) (account, error)
	// SignInWithDeviceCode signs in with the device authorization grant.
	SignInWithDeviceCode(ctx context.Context, req loginRequest) (account, error)
	// Token returns an access token silently: from the cache, or by refreshing. It never
	// interacts; errors.Is(err, identity.ErrInteractionRequired) when only a sign-in helps.
	Token(ctx context.Context, accountKey string, scopes []string, forceRefresh bool) (token, error)
	// SignOut removes the account's tokens.
	SignOut(ctx context.Context, accountKey string) error
	// SetProfileSecret keeps profile's installed-app client secret in the keyring
	// ("" removes it).
	SetProfileSecret(ctx context.Context, profile, secret string) error
	// importer moves sign-ins to and from other MSAL-based tools (import.go).
	importer
	// credentialer answers git's credential helper protocol (credential.go).
	credentialer
	// azTokener serves "tokendesk az account get-access-token" (az.go).
	azTokener
}

// Errors the adapter maps the use-case layer's errors onto, so exitCode needs no
// knowledge of usecase: the first two are ExitNotFound, the last ExitUsage.
var (
	errNoSuchAccount    = errors.New("no such account")
	errNoSuchProfile    = errors.New("no such profile")
	errAmbiguousAccount = errors.New("ambiguous account")
)

// signInNeeded is an error only a new sign-in fixes (exit code 3), with what the hint
// needs to name the exact command: the account's profile and username, and the scopes.
type signInNeeded struct {
	err      error
	profile  string
	username string
	scopes   []string
	claims   string // a claims challenge the sign-in must carry
}

func (e *signInNeeded) Error() string { return e.err.Error() }
func (e *signInNeeded) Unwrap() []error {
	return []error{e.err, identity.ErrInteractionRequired}
}

// command is the login command line that fixes e.
func (e *signInNeeded) command() string {
	var b strings.Builder
	b.WriteString("tokendesk login")
	if e.profile != "" {
		b.WriteString(" --profile " + shellQuote(e.profile))
	}
	if e.username != "" {
		b.WriteString(" --login-hint " + shellQuote(e.username))
	}
	for _, s := range e.scopes {
		b.WriteString(" --scope " + shellQuote(s))
	}
	if e.claims != "" {
		b.WriteString(" --claims " + shellQuote(e.claims))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
