package identity

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientCredentialsFallsBackToAgingToken: past refresh_on a cached app token is
// refreshed, and when that fails while the token is still valid, the token is returned
// (MSAL Python 1.31) instead of the error.
func TestClientCredentialsFallsBackToAgingToken(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	var fail atomic.Bool
	f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
		if fail.Load() {
			writeJSON(w, 503, map[string]any{"error": "temporarily_unavailable"})
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3600, "refresh_in": 1800,
			"access_token": "app-at-1", "scope": form.Get("scope")})
	}
	clock := newTestClock()
	c, err := NewConfidentialClient("client", NewSecretCredential("s"), WithAuthority("https://login.microsoftonline.com/t1"),
		WithHTTPClient(f.client()), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{"https://graph.microsoft.com/.default"}
	if res, err := c.AcquireTokenForClient(ctx, scopes); err != nil || res.AccessToken != "app-at-1" {
		t.Fatalf("first: %q, %v", res.AccessToken, err)
	}
	clock.advance(40 * time.Minute) // past refresh_on, 20 minutes before expiry
	fail.Store(true)
	res, err := c.AcquireTokenForClient(ctx, scopes)
	if err != nil || res.AccessToken != "app-at-1" || res.Source != SourceCache {
		t.Fatalf("after a failed early refresh: %q from %v, %v; want the cached token", res.AccessToken, res.Source, err)
	}
	if n := f.count("/t1/oauth2/v2.0/token"); n != 2 {
		t.Fatalf("%d token requests, want 2 (the early refresh was not tried)", n)
	}
	clock.advance(16 * time.Minute) // within five minutes of expiry: no fallback
	if _, err := c.AcquireTokenForClient(ctx, scopes); err == nil {
		t.Fatal("a token within five minutes of expiry was returned after the refresh failed")
	}
}

// TestOnBehalfOfCacheKeepsToItsTenant: an OBO token cached for one tenant is not
// served to the same assertion at another tenant.
func TestOnBehalfOfCacheKeepsToItsTenant(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	var n atomic.Int32
	f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
		n.Add(1)
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3600,
			"access_token": "obo-" + r.URL.Path, "scope": "User.Read"})
	}
	c, err := NewConfidentialClient("client", NewSecretCredential("s"), WithAuthority("https://login.microsoftonline.com/t1"),
		WithHTTPClient(f.client()))
	if err != nil {
		t.Fatal(err)
	}
	const assertion = "eyJ.incoming.assertion"
	a, err := c.AcquireTokenOnBehalfOf(ctx, assertion, []string{"User.Read"})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.AcquireTokenOnBehalfOf(ctx, assertion, []string{"User.Read"}); err != nil || again.AccessToken != a.AccessToken || n.Load() != 1 {
		t.Fatalf("same tenant: %q (%d requests), %v; want the cached %q", again.AccessToken, n.Load(), err, a.AccessToken)
	}
	other, err := c.AcquireTokenOnBehalfOf(ctx, assertion, []string{"User.Read"}, WithRequestAuthority("https://login.microsoftonline.com/t2"))
	if err != nil {
		t.Fatal(err)
	}
	if other.AccessToken == a.AccessToken || n.Load() != 2 {
		t.Fatalf("tenant t2 got t1's token %q (%d requests)", other.AccessToken, n.Load())
	}
}
