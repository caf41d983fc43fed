package identity

import "time"

// Account is a signed-in identity found in the token cache, as MSAL's get_accounts
// returns it. Pass it back to AcquireTokenSilent and RemoveAccount.
type Account struct {
	// HomeAccountID is "<uid>.<utid>" from Entra's client_info, or "<sub>" (plus
	// issuer-derived suffix) for other OpenID providers. It groups the account's
	// entries across tenants.
	HomeAccountID string
	// Environment is the authority host the account signed in at, such as
	// "login.microsoftonline.com".
	Environment string
	// Realm is the tenant id (Entra) or the realm of the authority.
	Realm string
	// LocalAccountID is the object id ("oid") in Realm, or "sub".
	LocalAccountID string
	// Username is the preferred_username (UPN or e-mail) when the authority sent one.
	Username string
	// Name is the display name from the ID token.
	Name string
	// AuthorityType is "MSSTS", "ADFS" or "Generic" (MSAL's authority_type).
	AuthorityType string
}

// IsZero reports whether a is the zero Account.
func (a Account) IsZero() bool { return a.HomeAccountID == "" && a.Environment == "" }

// TokenSource says where a Result came from.
type TokenSource int

const (
	// SourceIdentityProvider means a fresh token from the authority.
	SourceIdentityProvider TokenSource = iota
	// SourceCache means a cached access token was still valid.
	SourceCache
)

// Result is what every acquisition returns: MSAL's result dict, typed.
type Result struct {
	// AccessToken is the bearer (or other TokenType) token to send to the resource.
	AccessToken string
	// TokenType is usually "Bearer".
	TokenType string
	// ExpiresOn is when AccessToken stops being accepted.
	ExpiresOn time.Time
	// RefreshOn, when set, is when MSAL would proactively refresh (refresh_in).
	RefreshOn time.Time
	// Scopes are the scopes the authority granted, in its order and case.
	Scopes []string
	// IDToken is the raw ID token, if one was issued or cached.
	IDToken string
	// IDTokenClaims are the decoded (and for OIDC authorities, verified) claims,
	// read-only: a cache hit shares the claims the cache decoded once.
	IDTokenClaims Claims
	// Account is the account the tokens belong to (zero for app-only tokens).
	Account Account
	// Source says whether the token came from the cache or the authority.
	Source TokenSource
}
