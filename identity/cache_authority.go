package identity

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// cacheEnvironments returns the environments (lower-cased) to search for info, its
// own host first: the aliases the authority resolved to, else the built-in group.
func cacheEnvironments(info *authorityInfo) []string {
	host := strings.ToLower(info.Host)
	aliases := info.Aliases
	if len(aliases) == 0 {
		aliases = builtinAliases(host)
	}
	if len(aliases) == 0 || (aliases[0] == host && isLowerASCII(aliases)) {
		if len(aliases) == 0 {
			return []string{host}
		}
		return aliases
	}
	envs := make([]string, 0, len(aliases)+1)
	envs = append(envs, host)
	for _, a := range aliases {
		if a = strings.ToLower(a); a != host {
			envs = append(envs, a)
		}
	}
	return envs
}

// builtinAliases returns host's built-in Entra alias group (knownClouds) with host
// first, or nil. The result is shared and must not be changed.
func builtinAliases(host string) []string {
	if v, ok := hostFirstAliases.Load(host); ok {
		return v.([]string)
	}
	group := knownAliases(host)
	if group == nil {
		return nil
	}
	list := []string{host}
	for _, o := range group {
		if o != host {
			list = append(list, o)
		}
	}
	hostFirstAliases.Store(host, list)
	return list
}

// hostFirstAliases memoizes builtinAliases so a silent hit does not allocate.
var hostFirstAliases sync.Map

func isLowerASCII(list []string) bool {
	for _, s := range list {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= 'A' && c <= 'Z' {
				return false
			}
		}
	}
	return true
}

// cacheRealm is the realm MSAL Python writes tokens under and looks them up by: the
// first path segment of the token endpoint discovery returned (token_cache.py runs
// canonicalize on it). That is "organizations" or "common" as configured, the tenant id
// discovery gives for a domain-name tenant (Entra and CIAM), the tenant alone for B2C,
// and "adfs" for AD FS. Before resolution the configured tenant stands in for it, the
// B2C policy dropped. Generic OpenID providers have no such segment (see storeCtx).
func (info *authorityInfo) cacheRealm() string {
	if info.Type == authorityTypeGeneric {
		return info.Tenant
	}
	if seg := firstPathSegment(info.TokenEndpoint); seg != "" {
		return seg
	}
	t := info.Tenant
	if info.IsB2C {
		t, _, _ = strings.Cut(t, "/")
	}
	return t
}

// firstPathSegment returns the first segment of an absolute URL's path, or "".
func firstPathSegment(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return ""
	}
	rest = rest[i+1:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// realmNeedsResolution reports whether info's realm is known only after discovery:
// a domain-name tenant of Entra or CIAM (discovery names its tenant id), before
// resolution.
func (info *authorityInfo) realmNeedsResolution() bool {
	if info.TokenEndpoint != "" || info.Type != authorityTypeMSSTS || info.IsB2C {
		return false
	}
	return strings.Contains(info.Tenant, ".")
}

// legacyRealms are the realms the previous release wrote tokens under where they
// differ from MSAL Python's: the token's tid (the account's realm or home tenant) for
// the tenant-less segments, and the tid or "tenant/policy" for B2C. Only these kinds:
// an authority naming one tenant never wrote another tenant's realm, and looking there
// could hand a home-tenant token to a guest-tenant request.
func legacyRealms(info *authorityInfo, account Account, realm string) []string {
	if info.Type != authorityTypeMSSTS || !(isCommonTenant(info.Tenant) || info.IsB2C) {
		return nil
	}
	var out []string
	add := func(r string) {
		r = strings.ToLower(r)
		if r != "" && r != realm && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	add(account.Realm)
	if _, utid, ok := strings.Cut(account.HomeAccountID, "."); ok {
		add(utid)
	}
	if info.IsB2C {
		add(info.Tenant)
	}
	return out
}

// commonTenants are the tenant segments that do not name a tenant; tokens got through
// them are cached under the account's own tenant.
func isCommonTenant(t string) bool {
	switch strings.ToLower(t) {
	case "", "common", "organizations", "consumers":
		return true
	}
	return false
}

// authorityEndpoint is the authority as the cache layer (silent acquisition, the
// account listing) sees it: the authority its lookups are keyed with, known without
// any request; the authority a refresh goes to, resolved; and the token endpoint. A
// client's value is its own authority resolution and token endpoint (clientEndpoint);
// the cache layer's tests put a pinned authority and a scripted token endpoint in its
// place (cache_helpers_test.go), so no production code branches for them.
type authorityEndpoint interface {
	// known is the authority (or the override) as known without a request.
	known(override string) (*authorityInfo, error)
	// resolved is the authority (or the override) resolved, discovery included.
	resolved(ctx context.Context, override string) (*authorityInfo, error)
	// redeem sends one token request.
	redeem(ctx context.Context, req tokenRequest) (*tokenResponse, error)
}

// clientEndpoint is a client's own authority resolution and token endpoint.
type clientEndpoint struct{ a *ClientApplication }

func (e clientEndpoint) known(override string) (*authorityInfo, error) {
	return e.a.knownAuthority(override)
}

func (e clientEndpoint) resolved(ctx context.Context, override string) (*authorityInfo, error) {
	return e.a.resolveAuthority(ctx, override)
}

func (e clientEndpoint) redeem(ctx context.Context, req tokenRequest) (*tokenResponse, error) {
	return e.a.redeem(ctx, req)
}

// tokenStore is the token cache as the grants see it: a token response goes in, the
// Result comes out. A client's value is its *TokenCache; the grants' tests may put a
// fake in its place.
type tokenStore interface {
	storeCtx(ctx context.Context, p storeParams, skipAccount bool) (Result, error)
}
