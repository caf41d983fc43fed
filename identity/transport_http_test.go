package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// httpFake is a loopback OpenID provider whose endpoints a test scripts.
type httpFake struct {
	srv       *httptest.Server
	discovery http.HandlerFunc // nil: the document below
	token     http.HandlerFunc
	device    http.HandlerFunc

	mu  sync.Mutex // guards token after the first request
	key *rsa.PrivateKey
}

// idToken is an ID token for user "sub-1" signed with the fake's key.
func (f *httpFake) idToken(t *testing.T) string {
	now := time.Now().Unix()
	return signTestJWT(t, f.key, "k1", map[string]any{"iss": f.srv.URL, "aud": "client", "sub": "sub-1",
		"iat": now, "exp": now + 3600, "preferred_username": "u@example.test"})
}

func (f *httpFake) setToken(h http.HandlerFunc) {
	f.mu.Lock()
	f.token = h
	f.mu.Unlock()
}

func newHTTPFake(t *testing.T) *httpFake {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &httpFake{key: key}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			if f.discovery != nil {
				f.discovery(w, r)
				return
			}
			f.document(w)
		case "/moved/openid-configuration":
			f.document(w)
		case "/token":
			f.mu.Lock()
			h := f.token
			f.mu.Unlock()
			h(w, r)
		case "/device":
			f.device(w, r)
		case "/jwks":
			writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *httpFake) document(w http.ResponseWriter) {
	u := f.srv.URL
	writeJSON(w, 200, map[string]any{
		"issuer": u, "authorization_endpoint": u + "/auth", "token_endpoint": u + "/token",
		"device_authorization_endpoint": u + "/device", "jwks_uri": u + "/jwks",
	})
}

func (f *httpFake) client(t *testing.T, opts ...Option) *PublicClient {
	t.Helper()
	c, err := NewPublicClient("client", append([]Option{WithOIDCAuthority(f.srv.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func invalidGrant(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "test"})
}

// sink is another loopback listener that must never be reached.
func sink(t *testing.T) (string, *atomic.Int32) {
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 200, map[string]any{"access_token": "stolen", "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(s.Close)
	return s.URL, &hits
}

// A token or device-code request carries credentials (a refresh token here, a client
// secret or assertion for confidential clients): a 302, 307 or 308 to another listener
// must not carry them there, whatever HTTP client the caller supplied.
func TestCredentialRequestsNeverFollowRedirects(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, endpoint := range []string{"token", "device"} {
			for _, own := range []bool{true, false} {
				t.Run(fmt.Sprintf("%d-%s-ownclient=%v", status, endpoint, own), func(t *testing.T) {
					target, hits := sink(t)
					f := newHTTPFake(t)
					redirect := func(w http.ResponseWriter, r *http.Request) {
						http.Redirect(w, r, target+"/"+endpoint, status)
					}
					f.token, f.device = redirect, redirect
					var opts []Option
					if !own {
						opts = append(opts, WithHTTPClient(&http.Client{})) // follows redirects by default
					}
					c := f.client(t, opts...)
					var err error
					if endpoint == "token" {
						_, err = c.AcquireTokenByRefreshToken(context.Background(), "a-refresh-token", []string{"api://x/read"})
					} else {
						_, err = c.InitiateDeviceFlow(context.Background(), []string{"api://x/read"})
					}
					if !errors.Is(err, ErrRedirectRefused) {
						t.Fatalf("err = %v, want ErrRedirectRefused", err)
					}
					if !strings.Contains(err.Error(), "never follow redirects") || !strings.Contains(err.Error(), fmt.Sprint(status)) {
						t.Errorf("error does not explain the refusal: %v", err)
					}
					if n := hits.Load(); n != 0 {
						t.Errorf("the redirect target got %d requests", n)
					}
				})
			}
		}
	}
}

// Discovery carries no credentials: a redirect within its origin is followed, one to
// another origin is refused.
func TestDiscoveryRedirects(t *testing.T) {
	t.Run("same origin", func(t *testing.T) {
		f := newHTTPFake(t)
		f.discovery = func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/moved/openid-configuration", http.StatusFound)
		}
		f.token = invalidGrant
		_, err := f.client(t).AcquireTokenByRefreshToken(context.Background(), "rt", []string{"api://x/read"})
		var ie *Error
		if !errors.As(err, &ie) || ie.Code != "invalid_grant" {
			t.Fatalf("err = %v, want the token endpoint's invalid_grant (discovery followed)", err)
		}
	})
	t.Run("other origin", func(t *testing.T) {
		target, hits := sink(t)
		f := newHTTPFake(t)
		f.discovery = func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target+"/.well-known/openid-configuration", http.StatusFound)
		}
		f.token = invalidGrant
		_, err := f.client(t).AcquireTokenByRefreshToken(context.Background(), "rt", []string{"api://x/read"})
		if !errors.Is(err, ErrRedirectRefused) || !strings.Contains(err.Error(), "same origin") {
			t.Fatalf("err = %v, want ErrRedirectRefused naming the origin rule", err)
		}
		if hits.Load() != 0 {
			t.Error("the other origin was asked")
		}
	})
}

// A token endpoint that stalls, or answers a byte at a time, ends in ErrTimeout naming
// the host, within the limit: the client's own (WithTimeout) or the caller's deadline.
func TestTimeoutsAreTypedAndBounded(t *testing.T) {
	// quit ends a handler before its server closes.
	stall := func(quit chan struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // so the server notices the client hanging up
			select {
			case <-r.Context().Done():
			case <-quit:
			}
		}
	}
	drip := func(quit chan struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			for {
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-quit:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}
	const limit = 400 * time.Millisecond
	for _, tc := range []struct {
		name    string
		handler func(chan struct{}) http.HandlerFunc
		byCtx   bool
	}{
		{"stall, WithTimeout", stall, false},
		{"drip, WithTimeout", drip, false},
		{"stall, context deadline", stall, true},
		{"drip, context deadline", drip, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHTTPFake(t)
			quit := make(chan struct{})
			t.Cleanup(func() { close(quit) })
			f.token = invalidGrant
			ctx := context.Background()
			var opts []Option
			if tc.byCtx {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, limit)
				defer cancel()
			} else {
				opts = append(opts, WithTimeout(limit))
			}
			c := f.client(t, opts...)
			// Discovery first, outside the measured call.
			if _, err := c.AcquireTokenByRefreshToken(context.Background(), "rt0", []string{"api://x/read"}); err == nil {
				t.Fatal("invalid_grant was not an error")
			}
			f.setToken(tc.handler(quit))
			start := time.Now()
			_, err := c.AcquireTokenByRefreshToken(ctx, "rt", []string{"api://x/read"})
			took := time.Since(start)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if host := strings.TrimPrefix(f.srv.URL, "http://"); !strings.Contains(err.Error(), host) {
				t.Errorf("the error does not name the host %s: %v", host, err)
			}
			if took > limit+time.Second {
				t.Errorf("gave up after %v, want about %v", took, limit)
			}
		})
	}
}

// Every wait of identity's own client is finite.
func TestDefaultHTTPClientLimits(t *testing.T) {
	c := newDefaultHTTPClient(&config{})
	tr := c.Transport.(*http.Transport)
	if c.Timeout != DefaultRequestTimeout || tr.TLSHandshakeTimeout != DefaultTLSHandshakeTimeout ||
		tr.ResponseHeaderTimeout != DefaultResponseHeaderTimeout || tr.DialContext == nil {
		t.Errorf("limits: request %v, TLS %v, headers %v, dialer set %v", c.Timeout, tr.TLSHandshakeTimeout,
			tr.ResponseHeaderTimeout, tr.DialContext != nil)
	}
	if c := newDefaultHTTPClient(&config{timeout: time.Second}); c.Timeout != time.Second {
		t.Errorf("WithTimeout: %v", c.Timeout)
	}
}

// cancelAfterAnswer reads the whole answer of every token request, then cancels the
// caller's context: the deadline passes after the authority answered and before the
// answer is stored, the moment a rotated refresh token is easiest to lose.
type cancelAfterAnswer struct {
	base   http.RoundTripper
	cancel func()
}

func (c *cancelAfterAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	c.cancel()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, nil
}

// ctxHook fails any cache access whose context has ended, as storage's does.
type ctxHook struct{}

func (ctxHook) BeforeAccess(ctx context.Context, _ *TokenCache, _ bool) error { return ctx.Err() }
func (ctxHook) AfterAccess(context.Context, *TokenCache, bool, bool) error    { return nil }

// A rotated refresh token is stored even when the caller's deadline passes between the
// authority's answer and the store, through a refresh by refresh token and a silent one.
func TestRotatedRefreshTokenStoredAfterDeadline(t *testing.T) {
	f := newHTTPFake(t)
	idToken := f.idToken(t)
	var n atomic.Int32
	f.token = func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("at-%d", i), "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": fmt.Sprintf("rt-%d", i), "scope": "api://x/read",
			"id_token": idToken})
	}
	tr := &cancelAfterAnswer{base: http.DefaultTransport, cancel: func() {}}
	c := f.client(t, WithHTTPClient(&http.Client{Transport: tr}),
		WithTokenCache(NewTokenCache(WithCacheHook(ctxHook{}))))
	has := func(rt string) bool {
		raw, _ := c.TokenCache().Serialize()
		return strings.Contains(string(raw), `"`+rt+`"`)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr.cancel = cancel
	res, err := c.AcquireTokenByRefreshToken(ctx, "rt-0", []string{"api://x/read"})
	if err != nil || !has("rt-1") {
		t.Fatalf("by refresh token: %v; rt-1 stored: %v", err, has("rt-1"))
	}
	ctx, cancel = context.WithCancel(context.Background())
	tr.cancel = cancel
	_, err = c.AcquireTokenSilentWithError(ctx, []string{"api://x/read"}, res.Account, WithForceRefresh())
	if err != nil || !has("rt-2") || has("rt-1") {
		t.Fatalf("silent refresh: %v; rt-2 stored %v, rt-1 gone %v", err, has("rt-2"), !has("rt-1"))
	}
}
