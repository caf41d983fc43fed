package identity

// This file fixes the boundary between the package's two halves, so each can be read
// and tested alone:
//
//   - the transport (authority.go, transport*.go, token_endpoint.go, token_response.go,
//     and the grants): resolves authorities and talks HTTP to them. It owns the
//     transport type, authority resolution and redeem, the POST to the token endpoint.
//   - the cache layer (cache*.go, silent.go, accounts.go): MSAL's unified token cache.
//     It owns TokenCache and storeCtx.
//
// Each sees the other through a small interface held by ClientApplication
// (cache_authority.go): the grants store a tokenResponse through tokenStore (the
// client's *TokenCache), which builds the Result; silent acquisition and the account
// listing reach the authority through authorityEndpoint (the client's own resolution
// and redeem). The cache layer's tests pin an authority and script the token endpoint
// there, and the transport's tests can put a fake cache in place of the store.

import (
	"net/url"
	"time"
)

// Authority types, as MSAL writes them in the cache's authority_type field.
const (
	authorityTypeMSSTS   = "MSSTS"   // Entra ID, B2C, CIAM
	authorityTypeADFS    = "ADFS"    // AD FS
	authorityTypeGeneric = "Generic" // any OpenID Connect issuer (oidc_authority)
)

// authorityInfo is a resolved authority: what its metadata said and what the cache
// keys derive from.
type authorityInfo struct {
	// CanonicalURL is "https://host/tenant/" (host lower-cased) or the OIDC issuer.
	CanonicalURL string
	// Host is the environment written to the cache ("login.microsoftonline.com").
	Host string
	// Tenant is the configured tenant segment ("common", "organizations", a GUID, a
	// domain, a B2C policy path) or "" for OIDC issuers.
	Tenant string
	// Type is authorityTypeMSSTS, authorityTypeADFS or authorityTypeGeneric.
	Type string
	// IsB2C and IsCIAM refine MSSTS.
	IsB2C, IsCIAM bool
	// Endpoints from the discovery document.
	AuthorizationEndpoint string
	TokenEndpoint         string
	DeviceCodeEndpoint    string
	EndSessionEndpoint    string
	Issuer                string
	JWKSURI               string
	// Aliases are the hosts instance discovery says are the same cloud, including Host.
	Aliases []string
	// PreferredCacheHost is the host written into the cache: the configured host, as
	// MSAL Python writes it (not instance discovery's preferred_cache).
	PreferredCacheHost string
}

// tokenRequest is one POST to the token endpoint.
type tokenRequest struct {
	authority *authorityInfo
	apiID     APIID
	// form holds the grant's parameters (grant_type, code, refresh_token, …); redeem
	// adds client_id, client authentication, scope, claims and client_info.
	form url.Values
	// scopes are the caller's scopes; redeem adds the reserved ones (minus exclude_scopes).
	scopes []string
	// claims is the caller's claims challenge, merged with client capabilities.
	claims string
	// nonce, when set, must equal the ID token's nonce.
	nonce string
	// maxAge, when set, bounds the ID token's auth_time.
	maxAge *time.Duration
}

// clientInfo is Entra's decoded client_info ("uid", "utid").
type clientInfo struct {
	UID  string `json:"uid"`
	UTID string `json:"utid"`
}

// tokenResponse is a successful token endpoint response (RFC 6749 §5.1) with Entra's
// extensions, its ID token already decoded (and verified for OIDC authorities).
type tokenResponse struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	IDToken      string
	// Scope is the granted scope string; empty means "what was requested".
	Scope        string
	ExpiresIn    int64 // seconds
	ExtExpiresIn int64
	RefreshIn    int64
	// FamilyID is "foci" ("1") when the refresh token is a family refresh token.
	FamilyID string
	// ClientInfo is decoded client_info, nil when the authority sent none.
	ClientInfo *clientInfo
	// IDTokenClaims are the ID token's claims, nil without an ID token.
	IDTokenClaims map[string]any
	// ReceivedAt is when the response arrived (expiry is relative to it).
	ReceivedAt time.Time
	// Extra keeps every other field, for callers that need them.
	Extra map[string]any
}

// storeParams is what the cache needs to persist a token response.
type storeParams struct {
	authority *authorityInfo
	clientID  string
	// requestedScopes are used as the target when the response has no scope.
	requestedScopes []string
	response        *tokenResponse
	// userAssertionHash ties OBO tokens to the incoming assertion.
	userAssertionHash string
	// appOnly marks client-credentials tokens: no account, ID token or refresh token.
	appOnly bool
	// usedRTKey is the cache key of the refresh token a silent refresh redeemed: a
	// rotated refresh token updates that entry in place (MSAL: update_rt) instead of
	// being added for this client.
	usedRTKey string
}
