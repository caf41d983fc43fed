package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestDiscover(t *testing.T) {
	var hits atomic.Int32
	var base string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/good/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"` + base + `/good","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t"}`))
		case "/liar/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"https://elsewhere","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t"}`))
		case "/relative/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"` + base + `/relative","authorization_endpoint":"a","token_endpoint":"t"}`))
		case "/remote/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"` + base + `/remote","authorization_endpoint":"http://example.com/a","token_endpoint":"` + base + `/t"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	base = srv.URL
	tests := []struct {
		path string
		want error // nil: resolves
	}{
		{"/good", nil},
		{"/liar", ErrIssuerMismatch},
		{"/relative", ErrMalformedResponse},
		{"/remote", ErrMalformedResponse}, // a token endpoint in the clear off this machine
		{"/missing", nil},
	}
	for _, tt := range tests {
		pc, err := NewPublicClient("c", WithOIDCAuthority(base+tt.path), WithHTTPClient(srv.Client()))
		if err != nil {
			t.Fatal(err)
		}
		err = pc.Discover(context.Background())
		switch {
		case tt.path == "/missing":
			if err == nil {
				t.Errorf("%s: Discover succeeded on a 404", tt.path)
			}
		case tt.want == nil && err != nil:
			t.Errorf("%s: Discover = %v", tt.path, err)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: Discover = %v, want %v", tt.path, err, tt.want)
		}
		if tt.want == nil && err == nil {
			before := hits.Load()
			if err := pc.Discover(context.Background()); err != nil || hits.Load() != before {
				t.Errorf("%s: a second Discover = %v and sent %d requests; want the remembered answer", tt.path, err, hits.Load()-before)
			}
		}
	}
}
