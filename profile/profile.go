// Package profile holds Tokendesk's one Profile type, a provider and client
// registration to sign in with, and the checks every profile passes. config.json stores
// it as it is (storage), the use cases sign in with it (usecase), and the window and the
// CLI show and edit it (ui, cli): one name per field from the file to the screen.
//
// It imports identity and loopback only for their rules (identity.CheckAuthority,
// loopback.CheckRedirectURI), so a profile is refused for the same reasons whether it
// comes from a hand-edited config.json or the window's form.
package profile

import "slices"

// Profile is one provider and client registration to sign in with. The JSON tags are
// config.json's field names; they never change, so every config.json ever written keeps
// loading.
type Profile struct {
	// Name identifies the profile in the window and in `tokendesk --profile`; unique
	// (case-insensitive).
	Name string `json:"name"`
	// Authority is a Microsoft Entra authority, such as
	// "https://login.microsoftonline.com/organizations". Set Authority or Issuer, not both.
	Authority string `json:"authority,omitempty"`
	// Issuer is a generic OpenID Connect issuer (discovery at
	// <issuer>/.well-known/openid-configuration).
	Issuer string `json:"issuer,omitempty"`
	// ClientID is the application (client) id registered with the provider.
	ClientID string `json:"client_id"`
	// RedirectURI is the loopback redirect URI registered for the client; empty means
	// http://localhost on a free port. Its port, if any, must agree with Port.
	RedirectURI string `json:"redirect_uri,omitempty"`
	// Port fixes the loopback port; 0 picks a free one (RFC 8252 §7.3).
	Port int `json:"port,omitempty"`
	// SignInScopes are requested at sign-in. config.json calls them default_scopes.
	SignInScopes []string `json:"default_scopes,omitempty"`
	// FavouriteScopes are offered for every account of the profile, before the
	// account's own favourites.
	FavouriteScopes []string `json:"favourite_scopes,omitempty"`
	// SecretInKeyring says the client must send an installed-app secret (some
	// providers, Google among them, require one from desktop clients); the secret
	// itself lives in the OS keyring, never in config.json.
	SecretInKeyring bool `json:"secret_in_keyring,omitempty"`
}

// IsOIDC reports whether p is a generic OpenID Connect profile rather than Entra.
func (p Profile) IsOIDC() bool { return p.Issuer != "" }

// AuthorityURL is the issuer or authority accounts of p sign in at.
func (p Profile) AuthorityURL() string {
	if p.Issuer != "" {
		return p.Issuer
	}
	return p.Authority
}

// Clone returns p with its own copies of the scope lists, so a store never shares
// slices with its callers.
func (p Profile) Clone() Profile {
	p.SignInScopes = slices.Clone(p.SignInScopes)
	p.FavouriteScopes = slices.Clone(p.FavouriteScopes)
	return p
}

// DefaultName names the built-in profile.
const DefaultName = "Microsoft Entra (default)"

// Default is the built-in profile that makes the app useful before any configuration:
// Microsoft Entra work and school accounts through the public client id that Azure's
// own developer tools (Azure CLI) sign in with.
func Default() Profile {
	return Profile{
		Name:        DefaultName,
		Authority:   "https://login.microsoftonline.com/organizations",
		ClientID:    "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		RedirectURI: "http://localhost",
		FavouriteScopes: []string{
			"https://graph.microsoft.com/.default",
			"https://management.azure.com/.default",
		},
	}
}
