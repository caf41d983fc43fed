package identity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkResolveAuthorityMemoized is the cost a silent cache hit pays for authority
// resolution after the first call: no I/O, and no allocation.
func BenchmarkResolveAuthorityMemoized(b *testing.B) {
	f := newFakeEntra(b)
	c, err := NewPublicClient("client", WithAuthority("https://login.microsoftonline.com/common"), WithHTTPClient(f.client()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.resolveAuthority(ctx, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.resolveAuthority(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseTokenResponse is the parsing share of every token request.
func BenchmarkParseTokenResponse(b *testing.B) {
	res := &httpResponse{status: 200, header: http.Header{}, body: []byte(`{"token_type":"Bearer","scope":"User.Read openid profile offline_access","expires_in":4851,"ext_expires_in":4851,"access_token":"eyJ0eXAiOiJKV1QiLCJub25jZSI6IjEyMyIsImFsZyI6IlJTMjU2In0.e30.c2ln","refresh_token":"0.ARoA","client_info":"eyJ1aWQiOiJ1MSIsInV0aWQiOiJ0MSJ9"}`)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseTokenResponse(res, now); err != nil {
			b.Fatal(err)
		}
	}
}

func TestProxyIsUsed(t *testing.T) {
	f := newFakeEntra(t)
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			_, _ = w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	c := loopbackPublic(t, f, WithProxy(http.ProxyURL(pu)))
	if _, err := c.AcquireTokenByRefreshToken(context.Background(), "RT", []string{"User.Read"}); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() < 2 {
		t.Fatalf("%d requests went through the proxy, want discovery and token", proxied.Load())
	}
}
