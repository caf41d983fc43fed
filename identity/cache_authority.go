package identity

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// entraAliasGroups are the hosts of each Entra cloud that share one token cache
// environment (instance discovery's "aliases"). The cache layer keeps its own copy so
// that Accounts and cache hits work even when the authority cannot be resolved
// (offline, or the discovery endpoint is down).
var entraAliasGroups = [][]string{
	{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"},
	{"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"},
	{"login.microsoftonline.us", "login.usgovcloudapi.net"},
	{"login-us.microsoftonline.com"},
}

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

// builtinAliases returns host's alias group with host first, or nil. The result is
// shared and must not be changed.
func builtinAliases(host string) []string {
	if v, ok := hostFirstAliases.Load(host); ok {
		return v.([]string)
	}
	for _, g := range entraAliasGroups {
		for _, h := range g {
			if h == host {
				list := []string{host}
				for _, o := range g {
					if o != host {
						list = append(list, o)
					}
				}
				hostFirstAliases.Store(host, list)
				return list
			}
		}
	}
	return nil
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
// Production code never sets one; the lookup costs one atomic load.
type cacheSeam struct {
	authority *authorityInfo
	redeem    func(ctx context.Context, req tokenRequest) (*tokenResponse, error)
}

var (
	cacheSeams     sync.Map // *ClientApplication -> *cacheSeam
	cacheSeamsUsed atomic.Bool
)

func seamOf(a *ClientApplication) *cacheSeam {
	if !cacheSeamsUsed.Load() {
		return nil
	}
	v, _ := cacheSeams.Load(a)
	s, _ := v.(*cacheSeam)
	return s
}

// cacheAuthority resolves the authority the cache is searched with.
func (a *ClientApplication) cacheAuthority(ctx context.Context, override string) (*authorityInfo, error) {
	if s := seamOf(a); s != nil && s.authority != nil && override == "" {
		return s.authority, nil
	}
	return a.resolveAuthority(ctx, override)
}

// redeemRefresh sends a refresh-token request through the wire layer.
func (a *ClientApplication) redeemRefresh(ctx context.Context, req tokenRequest) (*tokenResponse, error) {
	if s := seamOf(a); s != nil && s.redeem != nil {
		return s.redeem(ctx, req)
	}
	return a.redeem(ctx, req)
}

// staticAuthority derives what the cache needs (host, tenant, type) from the
// configured authority URL alone, for cache reads when resolution failed.
func (a *ClientApplication) staticAuthority(override string) *authorityInfo {
	raw, typ := override, authorityTypeMSSTS
	if raw == "" {
		raw = a.cfg.authority
	}
	if a.cfg.oidcAuthority != "" {
		typ = authorityTypeGeneric
		if override == "" {
			raw = a.cfg.oidcAuthority
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil
	}
	info := &authorityInfo{Host: strings.ToLower(u.Host), Type: typ}
	if typ != authorityTypeGeneric {
		info.Tenant, _, _ = strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if strings.EqualFold(info.Tenant, "adfs") {
			info.Type = authorityTypeADFS
		}
	}
	return info
}
