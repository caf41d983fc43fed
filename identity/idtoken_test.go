package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeIssuer is a generic OpenID provider whose signing keys the test rotates.
type fakeIssuer struct {
	t         *testing.T
	srv       *httptest.Server
	mu        sync.Mutex
	published []jose.JSONWebKey // what /jwks answers
	signer    *rsa.PrivateKey
	kid       string
	claims    map[string]any // overrides for the next ID token
	jwksHits  atomic.Int32
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	f := &fakeIssuer{t: t}
	f.rotate("k1")
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			writeJSON(w, 200, map[string]any{"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/auth",
				"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/jwks"})
		case "/jwks":
			f.jwksHits.Add(1)
			f.mu.Lock()
			writeJSON(w, 200, jose.JSONWebKeySet{Keys: f.published})
			f.mu.Unlock()
		case "/token":
			_ = r.ParseForm()
			writeJSON(w, 200, map[string]any{"access_token": "AT", "token_type": "Bearer", "expires_in": 60,
				"id_token": f.idToken(r.PostForm.Get("client_id"))})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// rotate replaces the signing key, publishing only the new one.
func (f *fakeIssuer) rotate(kid string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signer, f.kid = key, kid
	f.published = []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}
}

func (f *fakeIssuer) idToken(clientID string) string {
	f.mu.Lock()
	key, kid, extra := f.signer, f.kid, f.claims
	f.mu.Unlock()
	now := time.Now()
	claims := map[string]any{"iss": f.srv.URL, "aud": clientID, "sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return signTestJWT(f.t, key, kid, claims)
}

func (f *fakeIssuer) redeem(t *testing.T, c *PublicClient, nonce string, maxAge *time.Duration) (*tokenResponse, error) {
	t.Helper()
	return c.redeem(context.Background(), tokenRequest{apiID: APIAcquireTokenByRefreshToken,
		form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"RT"}}, nonce: nonce, maxAge: maxAge})
}

func TestIDTokenVerificationWithKeyRotation(t *testing.T) {
	f := newFakeIssuer(t)
	clock := newTestClock()
	c, err := NewPublicClient("client", WithOIDCAuthority(f.srv.URL), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := f.redeem(t, c, "", nil)
	if err != nil || tr.IDTokenClaims["sub"] != "alice" {
		t.Fatalf("first token: %v", err)
	}
	if _, err := f.redeem(t, c, "", nil); err != nil || f.jwksHits.Load() != 1 {
		t.Fatalf("second token: err %v, %d JWKS fetches, want 1", err, f.jwksHits.Load())
	}

	// The provider restarts with a new key: the unknown kid triggers one re-fetch.
	f.rotate("k2")
	if _, err := f.redeem(t, c, "", nil); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := f.jwksHits.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches after rotation, want 2", n)
	}

	// A token signed by a key the provider never published is rejected, and a burst of
	// such tokens does not hammer the JWKS endpoint.
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	f.mu.Lock()
	f.signer, f.kid = forger, "k3"
	f.mu.Unlock()
	for i := 0; i < 3; i++ {
		if _, err := f.redeem(t, c, "", nil); !errors.Is(err, ErrInvalidIDToken) {
			t.Fatalf("forged token %d: err = %v, want ErrInvalidIDToken", i, err)
		}
	}
	if n := f.jwksHits.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches within the rate limit, want 2", n)
	}
	// A forged token reusing a published kid fails the signature check.
	f.mu.Lock()
	f.kid = "k2"
	f.mu.Unlock()
	if _, err := f.redeem(t, c, "", nil); !errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("forged token with a known kid: err = %v", err)
	}
}

func TestIDTokenClaimChecks(t *testing.T) {
	now := time.Now()
	hour := time.Hour
	tests := []struct {
		name   string
		claims map[string]any
		nonce  string
		maxAge *time.Duration
		want   error
	}{
		{"valid", nil, "", nil, nil},
		{"wrong issuer", map[string]any{"iss": "https://evil.example"}, "", nil, ErrIssuerMismatch},
		{"wrong audience", map[string]any{"aud": "other"}, "", nil, ErrInvalidIDToken},
		{"audience list", map[string]any{"aud": []string{"other", "client"}}, "", nil, nil},
		{"expired beyond skew", map[string]any{"exp": now.Add(-3 * time.Minute).Unix()}, "", nil, ErrInvalidIDToken},
		{"expired within skew", map[string]any{"exp": now.Add(-time.Minute).Unix()}, "", nil, nil},
		{"no exp", map[string]any{"exp": nil}, "", nil, ErrInvalidIDToken},
		{"issued in the future", map[string]any{"iat": now.Add(10 * time.Minute).Unix()}, "", nil, ErrInvalidIDToken},
		{"nbf in the future", map[string]any{"nbf": now.Add(10 * time.Minute).Unix()}, "", nil, ErrInvalidIDToken},
		// A local clock a few minutes slow (MSAL Python 1.31 tolerates 5 minutes here).
		{"iat 4 minutes ahead", map[string]any{"iat": now.Add(4 * time.Minute).Unix()}, "", nil, nil},
		{"nbf 4 minutes ahead", map[string]any{"nbf": now.Add(4 * time.Minute).Unix()}, "", nil, nil},
		{"nbf 6 minutes ahead", map[string]any{"nbf": now.Add(6 * time.Minute).Unix()}, "", nil, ErrInvalidIDToken},
		{"nonce matches", map[string]any{"nonce": "n1"}, "n1", nil, nil},
		{"nonce differs", map[string]any{"nonce": "n2"}, "n1", nil, ErrNonceMismatch},
		{"nonce missing", nil, "n1", nil, ErrNonceMismatch},
		{"auth_time recent", map[string]any{"auth_time": now.Add(-10 * time.Minute).Unix()}, "", &hour, nil},
		{"auth_time too old", map[string]any{"auth_time": now.Add(-2 * time.Hour).Unix()}, "", &hour, ErrInvalidIDToken},
		{"auth_time missing", nil, "", &hour, ErrInvalidIDToken},
	}
	f := newFakeIssuer(t)
	c, err := NewPublicClient("client", WithOIDCAuthority(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.claims = tt.claims
			f.mu.Unlock()
			_, err := f.redeem(t, c, tt.nonce, tt.maxAge)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("err %v is not an *Error", err)
			}
		})
	}
}

func TestDecodeIDTokenRejectsJunk(t *testing.T) {
	for _, raw := range []string{"", "a", "a.b", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"} {
		if _, err := decodeIDToken(raw); !errors.Is(err, ErrInvalidIDToken) {
			t.Errorf("decodeIDToken(%q) err = %v", raw, err)
		}
	}
}
