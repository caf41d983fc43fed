package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/tokendesk/tokendesk/loopback"
)

// loopbackOnlyTransport sends every request to target, keeping the Host header, so tests can
// use real Entra authority URLs while no byte leaves the machine. It records the hosts
// asked for and refuses any target that is not loopback.
type loopbackOnlyTransport struct {
	target *url.URL
	base   http.RoundTripper
	mu     sync.Mutex
	hosts  []string
}

func (l *loopbackOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !loopback.IsHost(l.target.Hostname()) {
		return nil, fmt.Errorf("test transport: refusing non-loopback target %s", l.target.Host)
	}
	l.mu.Lock()
	l.hosts = append(l.hosts, r.URL.Host)
	l.mu.Unlock()
	c := r.Clone(r.Context())
	c.Host = r.URL.Host
	c.URL.Scheme = l.target.Scheme
	c.URL.Host = l.target.Host
	return l.base.RoundTrip(c)
}

func (l *loopbackOnlyTransport) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.hosts...)
}

// fakeEntra is an httptest server shaped like Entra: discovery, instance discovery,
// user realm, device code and token endpoints, with per-test token behaviour.
type fakeEntra struct {
	t   testing.TB
	srv *httptest.Server
	tr  *loopbackOnlyTransport
	key *rsa.PrivateKey

	mu       sync.Mutex
	hits     map[string]int
	forms    []url.Values
	headers  []http.Header
	token    func(w http.ResponseWriter, r *http.Request, form url.Values)
	realm    string // account_type answered by /common/userrealm
	idClaims map[string]any
}

func newFakeEntra(t testing.TB) *fakeEntra {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEntra{t: t, key: key, hits: map[string]int{}, realm: "Managed"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	u, _ := url.Parse(f.srv.URL)
	f.tr = &loopbackOnlyTransport{target: u, base: http.DefaultTransport}
	return f
}

// client returns an HTTP client that reaches the fake whatever host is asked for.
func (f *fakeEntra) client() *http.Client { return &http.Client{Transport: f.tr} }

func (f *fakeEntra) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeEntra) lastForm() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.forms) == 0 {
		return nil
	}
	return f.forms[len(f.forms)-1]
}

func (f *fakeEntra) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.headers) == 0 {
		return nil
	}
	return f.headers[len(f.headers)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeEntra) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.mu.Unlock()
	base := "https://" + r.Host
	if loopback.IsHost(strings.Split(r.Host, ":")[0]) {
		base = "http://" + r.Host
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/common/discovery/instance":
		ae := r.URL.Query().Get("authorization_endpoint")
		if strings.Contains(ae, "evil.example") {
			writeJSON(w, 400, map[string]any{"error": "invalid_instance", "error_description": "AADSTS50049: Unknown or invalid instance."})
			return
		}
		u, _ := url.Parse(ae)
		writeJSON(w, 200, map[string]any{
			"tenant_discovery_endpoint": "https://" + u.Host + "/" + strings.Split(strings.Trim(u.Path, "/"), "/")[0] + "/v2.0/.well-known/openid-configuration",
			"metadata": []map[string]any{{"preferred_network": u.Host, "preferred_cache": u.Host,
				"aliases": []string{u.Host, "alias." + u.Host}}},
		})
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		p := strings.TrimSuffix(r.URL.Path, "/.well-known/openid-configuration")
		p = strings.TrimSuffix(p, "/v2.0")
		if strings.Contains(p, "nonexistent") {
			writeJSON(w, 400, map[string]any{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found.", "error_codes": []int{90002}})
			return
		}
		if p == "/adfs" {
			writeJSON(w, 200, map[string]any{"issuer": base + "/adfs",
				"authorization_endpoint": base + "/adfs/oauth2/authorize", "token_endpoint": base + "/adfs/oauth2/token"})
			return
		}
		writeJSON(w, 200, map[string]any{
			"issuer":                 "https://login.microsoftonline.com/{tenantid}/v2.0",
			"authorization_endpoint": base + p + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + p + "/oauth2/v2.0/token",
			"jwks_uri":               base + p + "/discovery/v2.0/keys",
		})
	case len(parts) >= 3 && parts[0] == "common" && parts[1] == "userrealm":
		writeJSON(w, 200, map[string]any{"ver": "1.0", "account_type": f.realm, "domain_name": "contoso.com"})
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/devicecode"):
		writeJSON(w, 200, map[string]any{"device_code": "DC", "user_code": "UC", "verification_uri": "https://microsoft.com/devicelogin",
			"expires_in": "900", "interval": "1", "message": "To sign in, use a web browser..."})
	case strings.HasSuffix(r.URL.Path, "/token"):
		_ = r.ParseForm()
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		f.headers = append(f.headers, r.Header.Clone())
		h := f.token
		f.mu.Unlock()
		if h == nil {
			h = f.success
		}
		h(w, r, r.PostForm)
	default:
		http.NotFound(w, r)
	}
}

// idToken signs an Entra-shaped ID token.
func (f *fakeEntra) idToken(extra map[string]any) string {
	now := time.Now()
	claims := map[string]any{"iss": "https://login.microsoftonline.com/t1/v2.0", "aud": "client", "sub": "s1", "oid": "u1", "tid": "t1",
		"preferred_username": "alice@contoso.com", "name": "Alice", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	return signTestJWT(f.t, f.key, "k1", claims)
}

func (f *fakeEntra) success(w http.ResponseWriter, r *http.Request, form url.Values) {
	f.mu.Lock()
	extra := f.idClaims
	f.mu.Unlock()
	resp := map[string]any{"token_type": "Bearer", "scope": form.Get("scope"), "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": "AT-" + randomString(8)}
	if form.Get("grant_type") != "client_credentials" {
		resp["refresh_token"] = "RT-" + randomString(8)
		resp["id_token"] = f.idToken(extra)
		resp["client_info"] = base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u1","utid":"t1"}`))
	}
	writeJSON(w, 200, resp)
}

func signTestJWT(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// entraClient builds a client of the fake for authority (a real Entra URL).
func fakeEntraPublic(t *testing.T, f *fakeEntra, authority string, opts ...Option) *PublicClient {
	t.Helper()
	c, err := NewPublicClient("client", append([]Option{WithAuthority(authority), WithHTTPClient(f.client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loopbackHost reports whether every host in hosts was reached only via the fake.
func onlyHosts(t *testing.T, got []string, allowed ...string) {
	t.Helper()
	for _, h := range got {
		ok := false
		for _, a := range allowed {
			ok = ok || h == a
		}
		if !ok {
			t.Errorf("request to unexpected host %s", h)
		}
	}
}

var _ = net.ParseIP

// loopbackServer starts h on 127.0.0.1 and returns its URL.
func loopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
