package cli

// The real binary against a token endpoint that stalls, drips or redirects (the real
// provider's endpoint, switched by testenv's SetTokenEndpointMode): every case ends
// in exit 1 within --timeout + 2 s with a message naming the host, no credential leaves
// for the redirect's target, and the refresh token still works afterwards.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

func TestEndToEndBinaryHostileTokenEndpoint(t *testing.T) {
	bin := buildBinary(t)
	p := testenv.NewProvider(t) // its token endpoint is switched below
	testenv.RequireKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	writeConfig(t, home, p)
	c := cliProc{t: t, bin: bin, home: home}
	key, err := c.login(ctx, p, "ivy")
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(p.Issuer, "http://")
	var sinkHits atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sinkHits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer sink.Close()
	setMode := func(m testenv.TokenEndpointMode) {
		t.Helper()
		if err := p.SetTokenEndpointMode(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	const timeout = 3 * time.Second
	args := []string{"token", "--scope", e2eScope, "--account", key, "--force-refresh", "--timeout", timeout.String()}
	for _, tc := range []struct {
		name string
		mode testenv.TokenEndpointMode
		says string
	}{
		{"stall", testenv.TokenEndpointMode{Mode: "stall"}, "in time"},
		{"drip", testenv.TokenEndpointMode{Mode: "drip"}, "in time"},
		{"302", testenv.TokenEndpointMode{Mode: "redirect", Status: 302, Location: sink.URL + "/token"}, "never follow redirects"},
		{"307", testenv.TokenEndpointMode{Mode: "redirect", Status: 307, Location: sink.URL + "/token"}, "never follow redirects"},
		{"308", testenv.TokenEndpointMode{Mode: "redirect", Status: 308, Location: sink.URL + "/token"}, "never follow redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setMode(tc.mode)
			defer setMode(testenv.TokenEndpointMode{Mode: "normal"})
			before := grantCount(t, ctx, p)
			start := time.Now()
			r := c.run(ctx, nil, args...)
			took := time.Since(start)
			if r.code != ExitError {
				t.Errorf("want exit %d, got %v", ExitError, r)
			}
			if took > timeout+2*time.Second {
				t.Errorf("took %v, want at most --timeout %v + 2 s", took, timeout)
			}
			if !strings.Contains(r.stderr, host) || !strings.Contains(r.stderr, tc.says) {
				t.Errorf("stderr should name %s and say %q:\n%s", host, tc.says, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
			if n := sinkHits.Load(); n != 0 {
				t.Errorf("the redirect's target got %d requests", n)
			}
			if n := grantCount(t, ctx, p) - before; n != 0 {
				t.Errorf("the provider granted %d refreshes meanwhile", n)
			}
			u, _ := url.Parse(sink.URL)
			if strings.Contains(r.stderr, "refresh_token=") || (tc.mode.Mode == "redirect" && !strings.Contains(r.stderr, u.Host)) {
				t.Errorf("stderr should name the redirect's target and no credential:\n%s", r.stderr)
			}
		})
	}
	// The refresh token was kept: the next refresh works.
	before := grantCount(t, ctx, p)
	r := c.run(ctx, nil, args...)
	want(t, r, ExitOK, "refresh once the endpoint behaves")
	if n := grantCount(t, ctx, p) - before; n != 1 {
		t.Errorf("the provider granted %d refreshes, want 1", n)
	}
}
