package identity

import (
	"context"
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

// commonTenants are the tenant segments that do not name a tenant; tokens got through
// them are cached under the account's own tenant.
func isCommonTenant(t string) bool {
	switch strings.ToLower(t) {
	case "", "common", "organizations", "consumers":
		return true
	}
	return false
}

// cacheSeam lets the cache layer's tests run silent acquisition without the wire
// layer and without any network: a pinned authority and a stand-in token endpoint.
// Production code never sets one.
type cacheSeam struct {
	authority *authorityInfo
	redeem    func(ctx context.Context, req tokenRequest) (*tokenResponse, error)
}

// lookupAuthority is what cache reads are keyed with, found without any request.
func (a *ClientApplication) lookupAuthority(override string) (*authorityInfo, error) {
	if s := a.seam; s != nil && s.authority != nil && override == "" {
		return s.authority, nil
	}
	return a.knownAuthority(override)
}

// cacheAuthority resolves the authority a refresh is sent to.
func (a *ClientApplication) cacheAuthority(ctx context.Context, override string) (*authorityInfo, error) {
	if s := a.seam; s != nil && s.authority != nil && override == "" {
		return s.authority, nil
	}
	return a.resolveAuthority(ctx, override)
}

// redeemRefresh sends a refresh-token request through the wire layer.
func (a *ClientApplication) redeemRefresh(ctx context.Context, req tokenRequest) (*tokenResponse, error) {
	if s := a.seam; s != nil && s.redeem != nil {
		return s.redeem(ctx, req)
	}
	return a.redeem(ctx, req)
}
