package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// EntraHost is the authority host the stand-in answers for (and every other host).
const EntraHost = "login.microsoftonline.com"

// Entra is a loopback stand-in for Microsoft Entra's endpoints at
// https://login.microsoftonline.com: tenant discovery, instance discovery and the
// token endpoint's refresh-token grant. Programs reach it unchanged, as they would the
// real one, through two standard settings in Env: HTTPS_PROXY names a loopback proxy
// that sends every CONNECT to the stand-in (whatever host was asked for, so nothing
// leaves the machine), and SSL_CERT_FILE trusts the stand-in's own CA, which signed its
// certificate for login.microsoftonline.com. Go programs and Python's requests honour
// both. Client is an *http.Client set up the same way, for tests in this process.
type Entra struct {
	// Env are the environment variables that point a process at the stand-in.
	Env []string
	// CAFile is the PEM file of the CA the stand-in's certificate chains to.
	CAFile string

	srv   *httptest.Server
	proxy *httptest.Server

	mu       sync.Mutex
	users    map[string]EntraUser // by refresh token
	issued   map[string]string    // access token -> resource (scope without /.default)
	requests []url.Values         // token requests, in order
	fail     func(form url.Values) (int, string)
}

// EntraUser is one account the stand-in knows.
type EntraUser struct {
	// OID and TenantID make the home account id "<oid>.<tid>".
	OID, TenantID string
	// Username is the preferred_username.
	Username string
	// Name is the display name.
	Name string
}

// NewEntra starts the stand-in and its proxy; both stop when the test ends.
func NewEntra(t testing.TB) *Entra {
	t.Helper()
	caCert, caKey := newCA(t)
	leaf := newLeaf(t, caCert, caKey, []string{EntraHost, "login.windows.net", "login.microsoft.com"})
	e := &Entra{users: map[string]EntraUser{}, issued: map[string]string{}}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	target := e.srv.Listener.Addr().String()
	e.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "the test proxy only tunnels", http.StatusForbidden)
			return
		}
		upstream, err := net.Dial("tcp", target) // always the stand-in, never r.Host
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			upstream.Close()
			http.Error(w, "no hijacking", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := hj.Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		go func() {
			defer upstream.Close()
			defer conn.Close()
			go io.Copy(upstream, buf)
			io.Copy(conn, upstream)
		}()
	}))
	t.Cleanup(e.proxy.Close)

	e.CAFile = filepath.Join(t.TempDir(), "entra-ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	if err := os.WriteFile(e.CAFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Env = []string{
		"HTTPS_PROXY=" + e.proxy.URL, "https_proxy=" + e.proxy.URL,
		"HTTP_PROXY=", "http_proxy=", "NO_PROXY=", "no_proxy=", "ALL_PROXY=", "all_proxy=",
		"SSL_CERT_FILE=" + e.CAFile, "SSL_CERT_DIR=",
		"REQUESTS_CA_BUNDLE=" + e.CAFile, "CURL_CA_BUNDLE=" + e.CAFile,
	}
	return e
}

// Client returns an HTTP client that reaches the stand-in as Env makes other
// processes do.
func (e *Entra) Client() *http.Client {
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(e.CAFile)
	pool.AppendCertsFromPEM(pem)
	proxy, _ := url.Parse(e.proxy.URL)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxy),
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
}

// Environ returns os.Environ() with the stand-in's settings replacing any proxy or
// CA settings, plus extra.
func (e *Entra) Environ(extra ...string) []string {
	drop := map[string]bool{}
	for _, kv := range e.Env {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(append(out, e.Env...), extra...)
}

// AddUser makes refreshToken redeemable for u.
func (e *Entra) AddUser(refreshToken string, u EntraUser) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[refreshToken] = u
}

// RevokeAll makes every refresh token invalid (invalid_grant), as after a password change.
func (e *Entra) RevokeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users = map[string]EntraUser{}
}

// FailWith makes the token endpoint answer every request with f's status and body
// while f is not nil (and returns a status other than 0).
func (e *Entra) FailWith(f func(form url.Values) (status int, body string)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = f
}

// Valid reports whether token is an access token the stand-in issued for resource (a
// scope's resource part, such as "https://graph.microsoft.com").
func (e *Entra) Valid(token, resource string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	got, ok := e.issued[token]
	return ok && strings.EqualFold(strings.TrimSuffix(got, "/"), strings.TrimSuffix(resource, "/"))
}

// TokenRequests returns the token endpoint's requests so far (their form values).
func (e *Entra) TokenRequests() []url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]url.Values(nil), e.requests...)
}

// IDToken returns an ID token for u, as issued to clientID now. Its signature is a
// placeholder: like MSAL, Tokendesk reads Entra's ID tokens straight from the token
// endpoint over TLS without checking signatures.
func (e *Entra) IDToken(u EntraUser, clientID string) string {
	now := time.Now().Unix()
	claims := map[string]any{
		"aud": clientID, "iss": "https://" + EntraHost + "/" + u.TenantID + "/v2.0",
		"iat": now, "nbf": now, "exp": now + 3600, "name": u.Name, "oid": u.OID,
		"preferred_username": u.Username, "sub": "sub-" + u.OID, "tid": u.TenantID, "ver": "2.0",
	}
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(body) + ".c2lnbmF0dXJl"
}

// ClientInfo returns Entra's client_info for u.
func ClientInfo(u EntraUser) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + u.OID + `","utid":"` + u.TenantID + `"}`))
}

// TokenResponse is the token endpoint's answer for u: a new access token for scope
// (recorded as issued), a new refresh token (the old one stays valid, as in Entra), an
// ID token and client_info, and foci "1": Azure CLI's client is in the family.
func (e *Entra) TokenResponse(u EntraUser, clientID, scope string) map[string]any {
	at, rt := "eyJ0eXAiOiJKV1QifQ.at-"+randomHex(), "rt-"+randomHex()
	resource := resourceOf(scope)
	e.mu.Lock()
	e.issued[at] = resource
	e.users[rt] = u
	e.mu.Unlock()
	return map[string]any{
		"token_type": "Bearer", "scope": resourceScopes(scope), "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": at, "refresh_token": rt, "id_token": e.IDToken(u, clientID),
		"client_info": ClientInfo(u), "foci": "1",
	}
}

// resourceScopes drops OpenID Connect's own scopes, which Entra leaves out of an
// access token's granted scopes.
func resourceScopes(scope string) string {
	var out []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "offline_access", "email":
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// resourceOf is the resource of the first scope that is not OpenID Connect's own.
func resourceOf(scope string) string {
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		if i := strings.LastIndex(s, "/"); i > len("https://") {
			return s[:i]
		}
		return s
	}
	return ""
}

func (e *Entra) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/v2.0/.well-known/openid-configuration"):
		tenant := strings.Trim(strings.TrimSuffix(path, "/v2.0/.well-known/openid-configuration"), "/")
		base := "https://" + EntraHost + "/" + tenant
		issuerTenant := tenant
		if tenant == "organizations" || tenant == "common" || tenant == "consumers" {
			issuerTenant = "{tenantid}"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                        "https://" + EntraHost + "/" + issuerTenant + "/v2.0",
			"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
			"token_endpoint":                base + "/oauth2/v2.0/token",
			"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
			"jwks_uri":                      base + "/discovery/v2.0/keys",
		})
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/discovery/instance"):
		writeJSON(w, http.StatusOK, map[string]any{
			"tenant_discovery_endpoint": "https://" + EntraHost + "/common/v2.0/.well-known/openid-configuration",
			"metadata": []map[string]any{{"preferred_network": EntraHost, "preferred_cache": "login.windows.net",
				"aliases": []string{EntraHost, "login.windows.net", "login.microsoft.com", "sts.windows.net"}}},
		})
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/oauth2/v2.0/token"):
		e.token(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found", "error_description": "the Entra stand-in has no " + path})
	}
}

func (e *Entra) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	form := r.PostForm
	e.mu.Lock()
	e.requests = append(e.requests, form)
	fail := e.fail
	u, known := e.users[form.Get("refresh_token")]
	e.mu.Unlock()
	if fail != nil {
		if status, body := fail(form); status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
	}
	if form.Get("grant_type") != "refresh_token" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type",
			"error_description": "AADSTS70003: the stand-in redeems refresh tokens only"})
		return
	}
	if !known {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant",
			"error_description": "AADSTS70000: The provided grant is invalid or malformed.", "error_codes": []int{70000},
			"suberror": "bad_token"})
		return
	}
	writeJSON(w, http.StatusOK, e.TokenResponse(u, form.Get("client_id"), form.Get("scope")))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newCA makes a throwaway CA for the stand-in's certificate.
func newCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Tokendesk test CA (Entra stand-in)"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// newLeaf makes a server certificate for hosts, signed by the CA.
func newLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}
}
