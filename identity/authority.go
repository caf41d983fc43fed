package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/tokendesk/tokendesk/loopback"
)

// authorityKind is what an authority URL denotes.
type authorityKind int

const (
	kindEntra authorityKind = iota // Entra ID (public or sovereign cloud)
	kindB2C                        // Azure AD B2C
	kindCIAM                       // Entra External ID (*.ciamlogin.com)
	kindADFS                       // AD FS (/adfs)
	kindOIDC                       // any OpenID Connect issuer (WithOIDCAuthority)
)

// authoritySpec is a parsed, not yet resolved authority. Parsing needs no I/O, so the
// constructor can reject a bad URL at once.
type authoritySpec struct {
	kind   authorityKind
	scheme string
	host   string // lower-cased, with port when one was given
	path   string // "/tenant", "/tenant/policy", "/tfp/tenant/policy", "/adfs"; issuer path for OIDC
	tenant string
	// issuer is the configured OIDC issuer (no trailing slash).
	issuer string
	// key caches canonical(), so a memoized resolution allocates nothing.
	key string
}

// canonical is the memoization key and authorityInfo.CanonicalURL.
func (s *authoritySpec) canonical() string {
	if s.key != "" {
		return s.key
	}
	if s.kind == kindOIDC {
		return s.issuer
	}
	return s.scheme + "://" + s.host + s.path + "/"
}

// hostname is host without the port.
func (s *authoritySpec) hostname() string {
	if h, _, err := net.SplitHostPort(s.host); err == nil {
		return h
	}
	return s.host
}

// staticInfo is what the authority URL alone says, with no request sent: the type,
// host, tenant and (for Entra's public and sovereign clouds) the built-in aliases. It
// is all the token cache is keyed with, so cache reads can use it before, or without,
// resolution; resolution adds the endpoints (and, for unknown Entra hosts, the aliases
// instance discovery returns).
func (s *authoritySpec) staticInfo() *authorityInfo {
	// The cache environment is the configured host, as MSAL Python writes it; the
	// aliases let the cache layer find entries written under another alias.
	info := &authorityInfo{CanonicalURL: s.canonical(), Host: s.host, Tenant: s.tenant, PreferredCacheHost: s.host}
	switch s.kind {
	case kindOIDC:
		info.Type = authorityTypeGeneric
	case kindADFS:
		info.Type = authorityTypeADFS
	default:
		info.Type = authorityTypeMSSTS
		info.IsB2C = s.kind == kindB2C
		info.IsCIAM = s.kind == kindCIAM
	}
	info.Aliases = withHostFirst(s.host, knownAliases(s.hostname()))
	return info
}

// withHostFirst returns aliases with host first (added when missing), the order the
// cache searches in: done once here, so a cache hit never reorders them.
func withHostFirst(host string, aliases []string) []string {
	if len(aliases) > 0 && aliases[0] == host {
		return aliases
	}
	out := make([]string, 0, len(aliases)+1)
	out = append(out, host)
	for _, a := range aliases {
		if a != host {
			out = append(out, a)
		}
	}
	return out
}

// knownAuthority returns what the token cache is searched with for override (or the
// configured authority), without sending any request: the memoized resolution when
// there is one, else the static info. A silent cache hit and an account listing thus
// never wait on discovery (offline, or a slow authority); only a refresh resolves.
func (a *ClientApplication) knownAuthority(override string) (*authorityInfo, error) {
	spec, err := a.specFor(override)
	if err != nil {
		return nil, err
	}
	w := a.transport
	w.mu.Lock()
	call, ok := w.resolved[spec.canonical()]
	w.mu.Unlock()
	if ok {
		select {
		case <-call.done:
			if call.err == nil {
				return call.info, nil
			}
		default:
		}
	}
	if override == "" {
		return w.static, nil
	}
	return spec.staticInfo(), nil
}

// Well-known hosts, as MSAL authority.py knows them.
var b2cHostSuffixes = []string{".b2clogin.com", ".b2clogin.cn", ".b2clogin.us", ".b2clogin.de"}

// knownClouds is Entra's instance-discovery metadata for the public and sovereign
// clouds, built in so known hosts need no instance-discovery request: each group's
// hosts are aliases of one cloud (the cache treats them as the same environment).
var knownClouds = []struct {
	preferredNetwork, preferredCache string
	aliases                          []string
}{
	{"login.microsoftonline.com", "login.windows.net",
		[]string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}},
	{"login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn",
		[]string{"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}},
	{"login.microsoftonline.de", "login.microsoftonline.de", []string{"login.microsoftonline.de"}},
	{"login.microsoftonline.us", "login.microsoftonline.us",
		[]string{"login.microsoftonline.us", "login.usgovcloudapi.net"}},
	{"login-us.microsoftonline.com", "login-us.microsoftonline.com", []string{"login-us.microsoftonline.com"}},
}

// knownAliases returns the built-in alias group of host, or nil.
func knownAliases(host string) []string {
	for _, c := range knownClouds {
		if slices.Contains(c.aliases, host) {
			return c.aliases
		}
	}
	return nil
}

// instanceDiscoveryEndpoint is where MSAL validates unknown Entra hosts.
const instanceDiscoveryEndpoint = "https://login.microsoftonline.com/common/discovery/instance"

// checkScheme allows https anywhere and http only on loopback.
func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopback.IsHost(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("identity: %q must be an https URL (http is allowed only on loopback)", u.Redacted())
}

func parseConfiguredAuthority(cfg *config) (*authoritySpec, error) {
	parse := parseAuthority
	raw := cfg.authority
	if cfg.oidcAuthority != "" {
		parse, raw = parseOIDCIssuer, cfg.oidcAuthority
	}
	s, err := parse(raw)
	if err != nil {
		return nil, err
	}
	s.key = s.canonical()
	return s, nil
}

// parseOIDCIssuer parses WithOIDCAuthority's issuer.
func parseOIDCIssuer(raw string) (*authoritySpec, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("identity: OIDC authority %q is not a URL", raw)
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("identity: OIDC authority %q must not have a query or fragment", raw)
	}
	issuer := strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	return &authoritySpec{kind: kindOIDC, scheme: u.Scheme, host: strings.ToLower(u.Host),
		path: strings.TrimSuffix(u.EscapedPath(), "/"), issuer: issuer}, nil
}

// parseAuthority parses an Entra, B2C, CIAM or AD FS authority URL.
func parseAuthority(raw string) (*authoritySpec, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("identity: authority %q is not a URL such as https://login.microsoftonline.com/<tenant>", raw)
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	s := &authoritySpec{scheme: u.Scheme, host: strings.ToLower(u.Host)}
	var parts []string
	for _, p := range strings.Split(u.Path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	hostname := s.hostname()
	switch {
	case strings.HasSuffix(hostname, ".ciamlogin.com"):
		s.kind = kindCIAM
		if len(parts) == 0 {
			// Entra External ID: the tenant is the subdomain.
			parts = []string{strings.TrimSuffix(hostname, ".ciamlogin.com") + ".onmicrosoft.com"}
		}
		s.tenant = parts[0]
		s.path = "/" + parts[0]
		return s, nil
	case len(parts) == 0:
		return nil, fmt.Errorf("identity: authority %q needs a tenant, such as https://login.microsoftonline.com/common", raw)
	case strings.EqualFold(parts[0], "adfs"):
		s.kind = kindADFS
		s.tenant = "adfs"
		s.path = "/adfs"
		return s, nil
	}
	isB2C := strings.EqualFold(parts[0], "tfp") ||
		(len(parts) == 2 && strings.HasPrefix(strings.ToLower(parts[1]), "b2c_"))
	for _, suf := range b2cHostSuffixes {
		isB2C = isB2C || strings.HasSuffix(hostname, suf)
	}
	if isB2C {
		s.kind = kindB2C
		tp := parts
		if strings.EqualFold(parts[0], "tfp") {
			tp = parts[1:]
		}
		if len(tp) < 2 {
			return nil, fmt.Errorf("identity: B2C authority %q needs a tenant and a policy: https://<name>.b2clogin.com/<tenant>/<policy>", raw)
		}
		s.tenant = strings.Join(tp[:2], "/")
		s.path = "/" + strings.Join(parts[:len(parts)-len(tp)+2], "/")
		return s, nil
	}
	s.kind = kindEntra
	s.tenant = parts[0]
	s.path = "/" + parts[0]
	return s, nil
}

// discoveryDoc is the part of an OpenID Provider Metadata document we use.
type discoveryDoc struct {
	Issuer                            string `json:"issuer"`
	AuthorizationEndpoint             string `json:"authorization_endpoint"`
	TokenEndpoint                     string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint       string `json:"device_authorization_endpoint"`
	EndSessionEndpoint                string `json:"end_session_endpoint"`
	JWKSURI                           string `json:"jwks_uri"`
	AuthorizationResponseISSSupported bool   `json:"authorization_response_iss_parameter_supported"`
}

// parseDiscovery reads a discovery document and checks the endpoints we will send
// secrets to: present, absolute, https (or http on loopback).
func parseDiscovery(body []byte) (*discoveryDoc, error) {
	var d discoveryDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%w: discovery document: %v", ErrMalformedResponse, err)
	}
	if d.AuthorizationEndpoint == "" || d.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: discovery document lacks authorization_endpoint or token_endpoint", ErrMalformedResponse)
	}
	for _, e := range []string{d.AuthorizationEndpoint, d.TokenEndpoint, d.DeviceAuthorizationEndpoint, d.JWKSURI, d.EndSessionEndpoint} {
		if e == "" {
			continue
		}
		u, err := url.Parse(e)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: discovery endpoint %q is not an absolute URL", ErrMalformedResponse, e)
		}
		if err := checkScheme(u); err != nil {
			return nil, fmt.Errorf("%w: discovery: %v", ErrMalformedResponse, err)
		}
	}
	return &d, nil
}

// authorityMeta is what the transport keeps beside an authorityInfo.
type authorityMeta struct {
	issParameterSupported bool
	kind                  authorityKind
	// knownToDeveloper mirrors MSAL: ADFS, B2C, CIAM or validation off.
	knownToDeveloper bool
}

// resolveCall is one (possibly in-flight) resolution; concurrent callers of the same
// authority wait for one request instead of sending their own.
type resolveCall struct {
	done chan struct{}
	info *authorityInfo
	meta *authorityMeta
	err  error
}

// resolveAuthority returns the resolved configured authority, or override (another
// tenant of the same cloud, or another issuer for OIDC clients). Resolutions are
// memoized per authority, so after the first call no request is sent.
func (a *ClientApplication) resolveAuthority(ctx context.Context, override string) (*authorityInfo, error) {
	info, _, err := a.resolve(ctx, override)
	return info, err
}

func (a *ClientApplication) resolve(ctx context.Context, override string) (*authorityInfo, *authorityMeta, error) {
	spec, err := a.specFor(override)
	if err != nil {
		return nil, nil, err
	}
	return a.transport.resolve(ctx, spec)
}

// specFor returns the configured authority's spec, or override's (another tenant of
// the same cloud, or another issuer for OIDC clients).
func (a *ClientApplication) specFor(override string) (*authoritySpec, error) {
	if override == "" {
		return a.transport.spec, nil
	}
	if a.transport.spec.kind == kindOIDC {
		return parseOIDCIssuer(override)
	}
	return parseAuthority(override)
}

func (w *transport) resolve(ctx context.Context, spec *authoritySpec) (*authorityInfo, *authorityMeta, error) {
	key := spec.canonical()
	w.mu.Lock()
	call, ok := w.resolved[key]
	if !ok {
		call = &resolveCall{done: make(chan struct{})}
		w.resolved[key] = call
		w.mu.Unlock()
		call.info, call.meta, call.err = w.doResolve(ctx, spec)
		if call.err != nil {
			// Forget failures: the next call tries again.
			w.mu.Lock()
			delete(w.resolved, key)
			w.mu.Unlock()
		}
		close(call.done)
		return call.info, call.meta, call.err
	}
	w.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil && ctx.Err() == nil &&
			(errors.Is(call.err, context.Canceled) || errors.Is(call.err, context.DeadlineExceeded)) {
			// The leader gave up on its own context, not on ours: try ourselves.
			return w.resolve(ctx, spec)
		}
		return call.info, call.meta, call.err
	case <-ctx.Done():
		return nil, nil, &Error{Err: ctx.Err()}
	}
}

func (w *transport) validateAuthority() bool {
	return w.cfg.validateAuthority == nil || *w.cfg.validateAuthority
}

func (w *transport) instanceDiscovery() bool {
	return w.cfg.instanceDiscovery == nil || *w.cfg.instanceDiscovery
}

func (w *transport) doResolve(ctx context.Context, spec *authoritySpec) (*authorityInfo, *authorityMeta, error) {
	info := spec.staticInfo()
	meta := &authorityMeta{kind: spec.kind}
	var discoveryURL string
	switch spec.kind {
	case kindOIDC:
		discoveryURL = spec.issuer + "/.well-known/openid-configuration"
	case kindADFS:
		meta.knownToDeveloper = true
		discoveryURL = spec.scheme + "://" + spec.host + "/adfs/.well-known/openid-configuration"
	default:
		// Loopback hosts (local test authorities) cannot be an Entra cloud: asking
		// Microsoft about them would only leak traffic off the machine.
		meta.knownToDeveloper = info.IsB2C || info.IsCIAM || !w.validateAuthority() || loopback.IsHost(spec.hostname())
		discoveryURL = spec.scheme + "://" + spec.host + spec.path + "/v2.0/.well-known/openid-configuration"
		if knownAliases(spec.hostname()) == nil && w.instanceDiscovery() && !meta.knownToDeveloper {
			tenantDiscovery, aliases, err := w.discoverInstance(ctx, spec)
			if err != nil {
				return nil, nil, err
			}
			info.Aliases = withHostFirst(spec.host, aliases)
			if u, err := url.Parse(tenantDiscovery); err == nil && u.Scheme == "https" && u.Host != "" {
				discoveryURL = tenantDiscovery
			}
		}
	}

	res, err := w.getCached(ctx, discoveryURL)
	if err != nil {
		return nil, nil, err
	}
	if res.status != 200 {
		e := parseErrorResponse(res, w.cfg.now())
		e.Err = fmt.Errorf("authority discovery at %s failed (is the tenant name or id right?)", redactURL(discoveryURL))
		return nil, nil, e
	}
	doc, err := parseDiscovery(res.body)
	if err != nil {
		return nil, nil, &Error{StatusCode: res.status, Err: err}
	}
	if spec.kind == kindOIDC && strings.TrimSuffix(doc.Issuer, "/") != spec.issuer {
		return nil, nil, &Error{Err: fmt.Errorf("%w: discovery at %s names issuer %q, not %q",
			ErrIssuerMismatch, discoveryURL, doc.Issuer, spec.issuer)}
	}
	info.AuthorizationEndpoint = doc.AuthorizationEndpoint
	info.TokenEndpoint = doc.TokenEndpoint
	info.DeviceCodeEndpoint = doc.DeviceAuthorizationEndpoint
	if info.DeviceCodeEndpoint == "" && spec.kind != kindOIDC {
		// Entra's v2 document omits it; MSAL derives it from the token endpoint.
		info.DeviceCodeEndpoint = strings.TrimSuffix(doc.TokenEndpoint, "token") + "devicecode"
	}
	info.EndSessionEndpoint = doc.EndSessionEndpoint
	info.Issuer = doc.Issuer
	info.JWKSURI = doc.JWKSURI
	meta.issParameterSupported = doc.AuthorizationResponseISSSupported
	return info, meta, nil
}

// instanceDiscoveryResponse is Entra's /common/discovery/instance answer.
type instanceDiscoveryResponse struct {
	TenantDiscoveryEndpoint string `json:"tenant_discovery_endpoint"`
	Metadata                []struct {
		PreferredNetwork string   `json:"preferred_network"`
		PreferredCache   string   `json:"preferred_cache"`
		Aliases          []string `json:"aliases"`
	} `json:"metadata"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// discoverInstance asks Entra whether an unknown host is one of its clouds (MSAL's
// authority validation), returning the tenant discovery endpoint and the host's aliases.
func (w *transport) discoverInstance(ctx context.Context, spec *authoritySpec) (string, []string, error) {
	q := url.Values{}
	q.Set("api-version", "1.1")
	q.Set("authorization_endpoint", "https://"+spec.host+spec.path+"/oauth2/v2.0/authorize")
	res, err := w.getCached(ctx, instanceDiscoveryEndpoint+"?"+q.Encode())
	if err != nil {
		return "", nil, err
	}
	var d instanceDiscoveryResponse
	if err := json.Unmarshal(res.body, &d); err != nil {
		return "", nil, &Error{StatusCode: res.status, Err: fmt.Errorf("%w: instance discovery: %v", ErrMalformedResponse, err)}
	}
	if d.Error == "invalid_instance" {
		e := parseErrorResponse(res, w.cfg.now())
		e.Err = errors.New("the authority is not a known Entra cloud; if it is your own " +
			"domain, turn validation off with WithValidateAuthority(false) or WithInstanceDiscovery(false)")
		return "", nil, e
	}
	if res.status != 200 || d.Error != "" {
		return "", nil, parseErrorResponse(res, w.cfg.now())
	}
	for _, m := range d.Metadata {
		for _, al := range m.Aliases {
			if strings.EqualFold(al, spec.host) {
				return d.TenantDiscoveryEndpoint, m.Aliases, nil
			}
		}
	}
	return d.TenantDiscoveryEndpoint, []string{spec.host}, nil
}
