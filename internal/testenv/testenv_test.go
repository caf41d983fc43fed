package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestMain(m *testing.M) { Main(m) }

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func randomString(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// authRequest builds an authorization-code request with PKCE and returns it with its
// state and code verifier.
func authRequest(t *testing.T, p *OIDCProvider, clientID, redirectURI, scope string, extra url.Values) (authURL, state, verifier string) {
	t.Helper()
	state, verifier = randomString(t), randomString(t)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {clientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirectURI},
		"scope":                 {scope},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return p.Endpoint("authorization_endpoint") + "?" + q.Encode(), state, verifier
}

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	TokenType        string `json:"token_type"`
	Scope            string `json:"scope"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	DeviceCode       string `json:"device_code"`
	UserCode         string `json:"user_code"`
	VerificationURI  string `json:"verification_uri"`
}

func post(t *testing.T, endpoint string, form url.Values, basicUser, basicPass string) (int, tokenResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("decode %s answer: %v", endpoint, err)
	}
	return resp.StatusCode, tr
}

// redeem exchanges an authorization code for the public client.
func redeem(t *testing.T, p *OIDCProvider, code, redirectURI, verifier string) (int, tokenResponse) {
	t.Helper()
	return post(t, p.Endpoint("token_endpoint"), url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"client_id":     {p.PublicClientID},
		"code_verifier": {verifier},
	}, "", "")
}

// jwtPart decodes one dot-separated part of a JWT (0 header, 1 claims) without
// verifying it; signature checks are in TestJWTAccessTokens.
func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiscovery(t *testing.T) {
	p := Provider(t)
	u, err := url.Parse(p.Issuer)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "" {
		t.Fatalf("Issuer = %q, want http://127.0.0.1:PORT", p.Issuer)
	}
	if p.PublicClientID == "" || p.ConfidentialClientID == "" || p.ClientSecret == "" {
		t.Fatalf("client ids/secret missing: %q %q secret-set=%v", p.PublicClientID, p.ConfidentialClientID, p.ClientSecret != "")
	}
	md := p.Metadata()
	if md["authorization_response_iss_parameter_supported"] != true {
		t.Error("discovery does not advertise the iss authorization response parameter (RFC 9207)")
	}
	for _, name := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "device_authorization_endpoint",
		"revocation_endpoint", "introspection_endpoint", "end_session_endpoint", "userinfo_endpoint"} {
		if !strings.HasPrefix(p.Endpoint(name), p.Issuer+"/") {
			t.Errorf("%s = %q, want under the issuer", name, p.Endpoint(name))
		}
	}
	if got := fmt.Sprint(md["code_challenge_methods_supported"]); got != "[S256]" {
		t.Errorf("code_challenge_methods_supported = %s, want [S256]", got)
	}
	if Provider(t) != p {
		t.Error("Provider returned a second instance; want one shared per test binary")
	}
}

func TestLogin(t *testing.T) {
	p := Provider(t)
	tests := []struct {
		name, redirect, scope, wantScope string
	}{
		{"ipv4", "http://127.0.0.1:49152/", "openid profile email offline_access", ""},
		{"ipv6", "http://[::1]:50000/", "openid profile offline_access", ""},
		{"localhost", "http://localhost:1234/", "openid profile", ""},
		{"custom scopes", "http://127.0.0.1:8400/", "openid profile offline_access api://x/read User.Read", "api://x/read User.Read"},
		{"only custom scopes", "http://127.0.0.1:8401/", "https://graph.example/.default offline_access", "https://graph.example/.default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			authURL, state, verifier := authRequest(t, p, p.PublicClientID, tt.redirect, tt.scope, nil)
			loc, err := p.Login(ctx, authURL, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != tt.redirect {
				t.Fatalf("redirected to %s, want %s", got, tt.redirect)
			}
			q := loc.Query()
			if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != p.Issuer {
				t.Fatalf("redirect: code-set=%v state-ok=%v iss=%q error=%q", q.Get("code") != "", q.Get("state") == state, q.Get("iss"), q.Get("error"))
			}
			status, tr := redeem(t, p, q.Get("code"), tt.redirect, verifier)
			openid := strings.Contains(tt.scope, "openid")
			if status != http.StatusOK || tr.AccessToken == "" || (tr.IDToken != "") != openid || tr.RefreshToken == "" {
				t.Fatalf("token: %d %s %s; access-set=%v id-set=%v refresh-set=%v", status, tr.Error, tr.ErrorDescription,
					tr.AccessToken != "", tr.IDToken != "", tr.RefreshToken != "")
			}
			if openid {
				claims := jwtPart(t, tr.IDToken, 1)
				if claims["sub"] != "alice" || claims["name"] != "Alice" || claims["preferred_username"] != "alice@example.test" ||
					claims["iss"] != p.Issuer || claims["aud"] != p.PublicClientID {
					t.Errorf("id token claims sub=%v name=%v preferred_username=%v iss=%v aud=%v", claims["sub"], claims["name"],
						claims["preferred_username"], claims["iss"], claims["aud"])
				}
			}
			if strings.Count(tr.AccessToken, ".") == 2 {
				t.Error("access token looks like a JWT; want opaque without WithJWTAccessTokens")
			}
			for _, s := range strings.Fields(tt.wantScope) {
				if !slices.Contains(strings.Fields(tr.Scope), s) {
					t.Errorf("token response scope %q lacks requested %q", tr.Scope, s)
				}
			}

			// Refresh tokens rotate on every use.
			status, rt := post(t, p.Endpoint("token_endpoint"), url.Values{
				"grant_type":    {"refresh_token"},
				"refresh_token": {tr.RefreshToken},
				"client_id":     {p.PublicClientID},
			}, "", "")
			if status != http.StatusOK || rt.AccessToken == "" || rt.RefreshToken == "" || rt.RefreshToken == tr.RefreshToken {
				t.Fatalf("refresh: %d %s; rotated=%v", status, rt.Error, rt.RefreshToken != "" && rt.RefreshToken != tr.RefreshToken)
			}
			for _, s := range strings.Fields(tt.wantScope) {
				if !slices.Contains(strings.Fields(rt.Scope), s) {
					t.Errorf("refreshed scope %q lacks %q", rt.Scope, s)
				}
			}
		})
	}
}

func TestLoginRejectsUnregisteredRedirect(t *testing.T) {
	p := Provider(t)
	authURL, _, _ := authRequest(t, p, p.PublicClientID, "http://127.0.0.1:8080/elsewhere", "openid", nil)
	if loc, err := p.Login(testContext(t), authURL, "alice"); err == nil {
		t.Fatalf("Login with an unregistered redirect path succeeded, redirect to %s", loc.Redacted())
	}
}

func TestLoginAndDeliver(t *testing.T) {
	p := Provider(t)
	got := make(chan url.Values, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query()
		fmt.Fprintln(w, "signed in; you may close this window")
	}))
	defer srv.Close()
	redirect := srv.URL + "/"
	authURL, state, _ := authRequest(t, p, p.PublicClientID, redirect, "openid", nil)
	if err := p.LoginAndDeliver(testContext(t), authURL, "bob"); err != nil {
		t.Fatal(err)
	}
	select {
	case q := <-got:
		if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != p.Issuer {
			t.Fatalf("listener got code-set=%v state-ok=%v iss=%q", q.Get("code") != "", q.Get("state") == state, q.Get("iss"))
		}
	default:
		t.Fatal("listener received nothing")
	}
}

func TestLoginFormPost(t *testing.T) {
	p := Provider(t)
	got := make(chan url.Values, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			http.Error(w, "want a form POST", http.StatusBadRequest)
			return
		}
		got <- r.PostForm
	}))
	defer srv.Close()
	authURL, state, _ := authRequest(t, p, p.PublicClientID, srv.URL+"/", "openid", url.Values{"response_mode": {"form_post"}})
	if err := p.LoginAndDeliver(testContext(t), authURL, "carol"); err != nil {
		t.Fatal(err)
	}
	q := <-got
	if q.Get("code") == "" || q.Get("state") != state {
		t.Fatalf("form_post delivered code-set=%v state-ok=%v", q.Get("code") != "", q.Get("state") == state)
	}
}

func TestAbort(t *testing.T) {
	p := Provider(t)
	authURL, state, _ := authRequest(t, p, p.PublicClientID, "http://127.0.0.1:5555/", "openid", nil)
	loc, err := p.Abort(testContext(t), authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != state || q.Get("code") != "" {
		t.Fatalf("abort redirect error=%q state-ok=%v code-set=%v", q.Get("error"), q.Get("state") == state, q.Get("code") != "")
	}
}

func TestDeviceFlow(t *testing.T) {
	p := Provider(t)
	ctx := testContext(t)
	status, da := post(t, p.Endpoint("device_authorization_endpoint"), url.Values{
		"client_id": {p.PublicClientID},
		"scope":     {"openid profile offline_access api://x/read"},
	}, "", "")
	if status != http.StatusOK || da.DeviceCode == "" || da.UserCode == "" {
		t.Fatalf("device authorization: %d %s", status, da.Error)
	}
	if da.VerificationURI != p.Issuer+"/device" {
		t.Errorf("verification_uri = %q", da.VerificationURI)
	}
	poll := url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {da.DeviceCode},
		"client_id":   {p.PublicClientID},
	}
	if _, tr := post(t, p.Endpoint("token_endpoint"), poll, "", ""); tr.Error != "authorization_pending" {
		t.Fatalf("before approval: error %q, want authorization_pending", tr.Error)
	}
	if err := p.ApproveDeviceCode(ctx, da.UserCode, "dave"); err != nil {
		t.Fatal(err)
	}
	status, tr := post(t, p.Endpoint("token_endpoint"), poll, "", "")
	if status != http.StatusOK || tr.AccessToken == "" || tr.IDToken == "" || tr.RefreshToken == "" {
		t.Fatalf("after approval: %d %s", status, tr.Error)
	}
	if sub := jwtPart(t, tr.IDToken, 1)["sub"]; sub != "dave" {
		t.Errorf("id token sub = %v, want dave", sub)
	}
	if err := p.ApproveDeviceCode(ctx, "WRONG-CODE", "dave"); err == nil {
		t.Error("ApproveDeviceCode accepted an unknown user code")
	}
}

func TestClientCredentials(t *testing.T) {
	p := Provider(t)
	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		wantStatus int
	}{
		{"basic", url.Values{}, p.ConfidentialClientID, p.ClientSecret, http.StatusOK},
		{"post", url.Values{"client_id": {p.ConfidentialClientID}, "client_secret": {p.ClientSecret}}, "", "", http.StatusOK},
		{"wrong secret", url.Values{}, p.ConfidentialClientID, "wrong", http.StatusUnauthorized},
		{"public client", url.Values{"client_id": {p.PublicClientID}}, "", "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			tt.form.Set("scope", "api://x/.default")
			status, tr := post(t, p.Endpoint("token_endpoint"), tt.form, tt.user, tt.pass)
			if status != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", status, tr.Error, tt.wantStatus)
			}
			if status == http.StatusOK && (tr.AccessToken == "" || tr.Scope != "api://x/.default" || tr.RefreshToken != "") {
				t.Errorf("access-set=%v scope=%q refresh-set=%v", tr.AccessToken != "", tr.Scope, tr.RefreshToken != "")
			}
		})
	}
}

func TestJWTAccessTokens(t *testing.T) {
	p := NewProvider(t, WithJWTAccessTokens())
	status, tr := post(t, p.Endpoint("token_endpoint"), url.Values{"grant_type": {"client_credentials"}, "scope": {"User.Read"}},
		p.ConfidentialClientID, p.ClientSecret)
	if status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", status, tr.Error)
	}
	resp, err := http.Get(p.Endpoint("jwks_uri"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(tr.AccessToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("access token is not an RS256 JWS: %v", err)
	}
	h := jws.Signatures[0].Header
	if typ := h.ExtraHeaders["typ"]; typ != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt", typ)
	}
	keys := jwks.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q matches %d JWKS keys", h.KeyID, len(keys))
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["iss"] != p.Issuer || claims["scope"] != "User.Read" || claims["aud"] == nil {
		t.Errorf("claims iss=%v scope=%v aud=%v", claims["iss"], claims["scope"], claims["aud"])
	}

	// The authorization code flow gives JWTs too, with the user as subject.
	authURL, _, verifier := authRequest(t, p, p.PublicClientID, "http://127.0.0.1:7777/", "openid offline_access api://x/read", nil)
	loc, err := p.Login(testContext(t), authURL, "erin")
	if err != nil {
		t.Fatal(err)
	}
	status, tr = redeem(t, p, loc.Query().Get("code"), "http://127.0.0.1:7777/", verifier)
	if status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", status, tr.Error)
	}
	if h := jwtPart(t, tr.AccessToken, 0); h["typ"] != "at+jwt" || h["alg"] != "RS256" {
		t.Errorf("access token header %v", h)
	}
	if c := jwtPart(t, tr.AccessToken, 1); c["sub"] != "erin" || c["scope"] != "api://x/read" {
		t.Errorf("access token sub=%v scope=%v", c["sub"], c["scope"])
	}
}

func TestStockConsentPolicy(t *testing.T) {
	p := NewProvider(t, WithStockConsentPolicy())
	authURL, state, verifier := authRequest(t, p, p.PublicClientID, "http://127.0.0.1:9000/", "openid profile offline_access", nil)
	loc, err := p.Login(testContext(t), authURL, "frank")
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("redirect error=%q", loc.Query().Get("error"))
	}
	status, tr := redeem(t, p, loc.Query().Get("code"), "http://127.0.0.1:9000/", verifier)
	if status != http.StatusOK || tr.AccessToken == "" {
		t.Fatalf("code exchange: %d %s", status, tr.Error)
	}
	// Stock rule: offline_access without prompt=consent is dropped, so no refresh token.
	if tr.RefreshToken != "" {
		t.Error("stock policy issued a refresh token without prompt=consent")
	}
}
