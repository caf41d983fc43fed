package identity

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pauseFunc lets a test give the device flow's wait between polls as a function: it
// records the intervals, advances a testClock, or ends the context.
type pauseFunc func(ctx context.Context, d time.Duration) error

func (f pauseFunc) wait(ctx context.Context, d time.Duration) error { return f(ctx, d) }

// testClock is a settable clock for throttling windows.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }
func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// loopbackPublic is a public client of the fake at its own loopback address, using the
// default HTTP client (so retries and TLS settings apply).
func loopbackPublic(t *testing.T, f *fakeEntra, opts ...Option) *PublicClient {
	t.Helper()
	c, err := NewPublicClient("client", append([]Option{WithAuthority(f.srv.URL + "/tenant")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const tenantTokenPath = "/tenant/oauth2/v2.0/token"

func TestRedeemRequestShape(t *testing.T) {
	f := newFakeEntra(t)
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common",
		WithAppName("desk"), WithAppVersion("1.2"), WithClientCapabilities("CP1"), WithExcludeScopes("offline_access"))
	res, err := c.AcquireTokenByRefreshToken(context.Background(), "RT0", []string{"User.Read"},
		WithClaimsChallenge(`{"access_token":{"nbf":{"essential":true,"value":"1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.HomeAccountID != "u1.t1" {
		t.Errorf("home account %q, want u1.t1 from client_info", res.Account.HomeAccountID)
	}
	form, h := f.lastForm(), f.lastHeader()
	for k, want := range map[string]string{"client_id": "client", "grant_type": "refresh_token", "client_info": "1",
		"scope": "User.Read openid profile"} {
		if form.Get(k) != want {
			t.Errorf("form %s = %q, want %q", k, form.Get(k), want)
		}
	}
	if got := form.Get("claims"); got != `{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["CP1"]}}}` {
		t.Errorf("claims = %s", got)
	}
	for k, want := range map[string]string{"x-client-sku": clientSKU, "x-client-ver": clientVersion, "x-app-name": "desk",
		"x-app-ver": "1.2", "x-client-current-telemetry": "4|85,1|", "return-client-request-id": "true"} {
		if h.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), want)
		}
	}
	if h.Get("client-request-id") == "" || h.Get("x-client-os") == "" {
		t.Error("no correlation id or OS header")
	}
	onlyHosts(t, f.tr.seen(), "login.microsoftonline.com")
}

func TestTelemetryReportsLastFailure(t *testing.T) {
	f := newFakeEntra(t)
	f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
		if form.Get("refresh_token") == "bad" {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant"})
			return
		}
		f.success(w, r, form)
	}
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common")
	ctx := context.Background()
	_, _ = c.AcquireTokenByRefreshToken(ctx, "bad", []string{"User.Read"})
	failed := f.lastHeader().Get("client-request-id")
	if _, err := c.AcquireTokenByRefreshToken(ctx, "good", []string{"User.Read"}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.lastHeader().Get("x-client-last-telemetry"), "4|0|85,"+failed+"|invalid_grant|"; got != want {
		t.Errorf("last telemetry %q, want %q", got, want)
	}
}

func TestThrottling(t *testing.T) {
	ctx := context.Background()
	t.Run("429 Retry-After", func(t *testing.T) {
		f := newFakeEntra(t)
		f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
			w.Header().Set("Retry-After", "7")
			writeJSON(w, 429, map[string]any{"error": "temporarily_unavailable"})
		}
		clock := newTestClock()
		c := loopbackPublic(t, f, WithClock(clock.now))
		_, err := c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 429 || e.RetryAfter != 7*time.Second {
			t.Fatalf("err = %#v, want 429 with RetryAfter 7s", err)
		}
		clock.advance(3 * time.Second)
		_, err = c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
		if !errors.Is(err, ErrThrottled) || !errors.As(err, &e) || e.RetryAfter != 4*time.Second {
			t.Fatalf("within Retry-After: err = %v (retry after %v), want ErrThrottled, 4s", err, e.RetryAfter)
		}
		if n := f.count(tenantTokenPath); n != 1 {
			t.Fatalf("%d requests within the Retry-After window, want 1", n)
		}
		clock.advance(5 * time.Second)
		_, _ = c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
		if n := f.count(tenantTokenPath); n != 2 {
			t.Fatalf("%d requests after the window, want 2", n)
		}
	})
	for _, status := range []int{500, 503} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFakeEntra(t)
			f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, "<html>busy</html>")
			}
			c := loopbackPublic(t, f)
			_, err := c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != status || !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("err = %v, want *Error %d", err, status)
			}
			_, err = c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
			if !errors.Is(err, ErrThrottled) || f.count(tenantTokenPath) != 1 {
				t.Fatalf("5xx not throttled for the default minute: err %v, %d requests", err, f.count(tenantTokenPath))
			}
			// Another account (refresh token) is not throttled.
			_, _ = c.AcquireTokenByRefreshToken(ctx, "RT2", []string{"User.Read"})
			if f.count(tenantTokenPath) != 2 {
				t.Fatal("throttling leaked to another refresh token")
			}
		})
	}
	t.Run("identical 400", func(t *testing.T) {
		f := newFakeEntra(t)
		f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "AADSTS70000: expired", "error_codes": []int{70000},
				"suberror": "bad_token", "trace_id": "tr", "correlation_id": "co", "timestamp": "2026-11-24 20:00:00Z"})
		}
		clock := newTestClock()
		c := loopbackPublic(t, f, WithClock(clock.now))
		for i := 0; i < 3; i++ {
			_, err := c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
			var e *Error
			if !errors.As(err, &e) || e.Code != "invalid_grant" || !errors.Is(err, ErrInteractionRequired) ||
				e.Classification != "bad_token" || e.TraceID != "tr" || e.CorrelationID != "co" || e.Codes[0] != 70000 {
				t.Fatalf("call %d: err = %#v", i, err)
			}
		}
		if n := f.count(tenantTokenPath); n != 1 {
			t.Fatalf("identical 400 sent %d times, want 1", n)
		}
		clock.advance(61 * time.Second)
		_, _ = c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
		if n := f.count(tenantTokenPath); n != 2 {
			t.Fatalf("after a minute: %d requests, want 2", n)
		}
	})
	t.Run("device flow polls are not throttled", func(t *testing.T) {
		f := newFakeEntra(t)
		var polls atomic.Int32
		f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
			if polls.Add(1) < 3 {
				writeJSON(w, 400, map[string]any{"error": "authorization_pending"})
				return
			}
			f.success(w, r, form)
		}
		c := loopbackPublic(t, f)
		c.transport.pause = pauseFunc(func(context.Context, time.Duration) error { return nil })
		flow, err := c.InitiateDeviceFlow(ctx, []string{"User.Read"})
		if err != nil {
			t.Fatal(err)
		}
		if flow.Interval != time.Second || flow.ExpiresAt.Sub(time.Now()) < 800*time.Second {
			t.Errorf("string interval/expires_in not read: %v %v", flow.Interval, flow.ExpiresAt)
		}
		if _, err := c.AcquireTokenByDeviceFlow(ctx, flow); err != nil {
			t.Fatal(err)
		}
		if polls.Load() != 3 {
			t.Errorf("%d polls, want 3", polls.Load())
		}
	})
}

func TestTokenEndpointFaults(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		handler func(w http.ResponseWriter)
		want    error
	}{
		"malformed JSON":  {func(w http.ResponseWriter) { w.WriteHeader(200); _, _ = io.WriteString(w, `{"access_token": "x",`) }, ErrMalformedResponse},
		"JSON array":      {func(w http.ResponseWriter) { w.WriteHeader(200); _, _ = io.WriteString(w, `[1,2]`) }, ErrMalformedResponse},
		"no access token": {func(w http.ResponseWriter) { writeJSON(w, 200, map[string]any{"token_type": "Bearer"}) }, ErrMalformedResponse},
		"bad expires_in": {func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"access_token": "x", "expires_in": "soon"})
		}, ErrMalformedResponse},
		"bad client_info": {func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"access_token": "x", "client_info": "%%%"})
		}, ErrMalformedResponse},
		"bad id token": {func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"access_token": "x", "id_token": "a.b.c"})
		}, ErrInvalidIDToken},
		"50 MB body": {func(w http.ResponseWriter) {
			w.WriteHeader(200)
			chunk := bytes.Repeat([]byte(" "), 1<<20)
			for i := 0; i < 50; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, ErrResponseTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeEntra(t)
			f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) { tc.handler(w) }
			c := loopbackPublic(t, f)
			_, err := c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"})
			var e *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.CorrelationID == "" {
				t.Fatalf("err = %v, want *Error wrapping %v with a correlation id", err, tc.want)
			}
		})
	}
}

func TestSlowTokenEndpointTimesOut(t *testing.T) {
	f := newFakeEntra(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	c := loopbackPublic(t, f, WithTimeout(300*time.Millisecond))
	if _, err := c.resolveAuthority(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.AcquireTokenByRefreshToken(context.Background(), "RT", []string{"User.Read"})
	var ne net.Error
	var e *Error
	if !errors.As(err, &e) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want an *Error wrapping a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if n := f.count(tenantTokenPath); n != 1 {
		t.Errorf("a timed-out request was retried (%d requests)", n)
	}
	// A context deadline is honoured as well.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.AcquireTokenByRefreshToken(ctx, "RT2", []string{"User.Read"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// resetServer accepts connections and resets them at once.
func resetServer(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			buf := make([]byte, 4096)
			_, _ = conn.Read(buf)
			_ = conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

func TestConnectionResetRetriedOnce(t *testing.T) {
	f := newFakeEntra(t)
	addr, accepted := resetServer(t)
	for _, custom := range []bool{false, true} {
		accepted.Store(0)
		opts := []Option{}
		if custom {
			opts = append(opts, WithHTTPClient(&http.Client{}))
		}
		c := loopbackPublic(t, f, opts...)
		info, err := c.resolveAuthority(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		broken := *info
		broken.TokenEndpoint = "http://" + addr + "/token"
		_, err = c.redeem(context.Background(), tokenRequest{authority: &broken, apiID: APIAcquireTokenByRefreshToken,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"RT"}}, scopes: []string{"User.Read"}})
		var e *Error
		if !errors.As(err, &e) || e.Err == nil {
			t.Fatalf("custom=%v: err = %v, want *Error", custom, err)
		}
		want := int32(2)
		if custom {
			want = 1 // retries are the custom client's duty
		}
		if got := accepted.Load(); got != want {
			t.Errorf("custom=%v: %d connections, want %d", custom, got, want)
		}
	}
}

func TestTLSUnknownCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"authorization_endpoint": "https://" + r.Host + "/authorize", "token_endpoint": "https://" + r.Host + "/token", "issuer": "https://" + r.Host})
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := NewPublicClient("client", WithOIDCAuthority(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.resolveAuthority(ctx, "")
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "WithTLSConfig") {
		t.Fatalf("err = %v, want a clear unknown-CA error", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c, err = NewPublicClient("client", WithOIDCAuthority(srv.URL), WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.resolveAuthority(ctx, ""); err != nil {
		t.Fatalf("with the CA bundle: %v", err)
	}
}

func TestFaultsKeepTheCache(t *testing.T) {
	f := newFakeEntra(t)
	c := loopbackPublic(t, f)
	ctx := context.Background()
	if _, err := c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"}); err != nil {
		t.Fatal(err)
	}
	before, err := c.TokenCache().Serialize()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []func(w http.ResponseWriter){
		func(w http.ResponseWriter) { w.WriteHeader(200); _, _ = io.WriteString(w, "{") },
		func(w http.ResponseWriter) { writeJSON(w, 400, map[string]any{"error": "invalid_grant"}) },
		func(w http.ResponseWriter) { w.WriteHeader(503) },
	} {
		f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) { h(w) }
		if _, err := c.AcquireTokenByRefreshToken(ctx, "RT-"+randomString(4), []string{"User.Read"}); err == nil {
			t.Fatal("fault not reported")
		}
	}
	after, _ := c.TokenCache().Serialize()
	if !bytes.Equal(before, after) {
		t.Error("a failed token request changed the cache")
	}
}

func TestRetryAfterSurvivesACLIRestart(t *testing.T) {
	f := newFakeEntra(t)
	f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
		w.Header().Set("Retry-After", "120")
		writeJSON(w, 429, map[string]any{"error": "temporarily_unavailable"})
	}
	ctx := context.Background()
	hc := NewHTTPCache()
	c := loopbackPublic(t, f, WithHTTPCache(hc))
	if _, err := c.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"}); err == nil {
		t.Fatal("429 not reported")
	}
	saved, err := hc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(saved, []byte(`"RT"`)) || bytes.Contains(saved, []byte("refresh_token=RT")) {
		t.Fatal("the persisted http cache holds the refresh token")
	}
	next := NewHTTPCache()
	if err := next.UnmarshalBinary(saved); err != nil {
		t.Fatal(err)
	}
	c2 := loopbackPublic(t, f, WithHTTPCache(next))
	if _, err := c2.AcquireTokenByRefreshToken(ctx, "RT", []string{"User.Read"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after restart: err = %v, want ErrThrottled", err)
	}
	if n := f.count(tenantTokenPath); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
}
