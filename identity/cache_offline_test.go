package identity

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// countingTransport refuses every request and counts them, so a test can prove that
// a call needed no network at all.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("test: no request expected")
}

// TestCacheReadsNeedNoRequest checks that a fresh client (as in a new CLI process)
// lists accounts and serves a cache hit without resolving its authority: nothing is
// fetched that the call does not need. Entra (with the built-in aliases: the entry
// was written under login.windows.net, the client uses login.microsoftonline.com)
// and a generic OIDC issuer.
func TestCacheReadsNeedNoRequest(t *testing.T) {
	ctx := context.Background()

	t.Run("entra", func(t *testing.T) {
		data, err := os.ReadFile("testdata/cache/foreign.json")
		if err != nil {
			t.Fatal(err)
		}
		cache := NewTokenCache()
		if err := cache.Deserialize(data); err != nil {
			t.Fatal(err)
		}
		rt := &countingTransport{}
		c, err := NewPublicClient("b0b0b0b0-1111-2222-3333-444444444444",
			WithAuthority("https://login.microsoftonline.com/organizations"), WithTokenCache(cache),
			WithHTTPClient(&http.Client{Transport: rt}), WithClock(func() time.Time { return time.Unix(1700000100, 0) }))
		if err != nil {
			t.Fatal(err)
		}
		accounts, err := c.Accounts(ctx, "")
		if err != nil || accounts.Len() == 0 {
			t.Fatalf("Accounts = %d accounts, %v", accounts.Len(), err)
		}
		var acct Account
		for _, a := range accounts.All() {
			if a.HomeAccountID == "0000cccc.72f988bf-0000-0000-0000-000000000001" {
				acct = a
			}
		}
		if acct.IsZero() {
			t.Fatalf("the login.windows.net account is not listed for login.microsoftonline.com")
		}
		res, err := c.AcquireTokenSilent(ctx, []string{"User.Read"}, acct)
		if err != nil || res.Source != SourceCache || res.AccessToken != "foreign-at" {
			t.Fatalf("silent hit: source %v, %v", res.Source, err)
		}
		if n := rt.n.Load(); n != 0 {
			t.Fatalf("%d requests sent for cache reads, want 0", n)
		}
		// A forced refresh must resolve, so the counter can move: the test would notice.
		if _, err := c.AcquireTokenSilent(ctx, []string{"User.Read"}, acct, WithForceRefresh()); err == nil {
			t.Fatal("a forced refresh succeeded without any network")
		}
		if rt.n.Load() == 0 {
			t.Fatal("a forced refresh sent no request: the counter proves nothing")
		}
	})

	t.Run("oidc", func(t *testing.T) {
		p := testenv.Provider(t)
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		first := providerClient(t, p)
		signedIn, _ := providerSignIn(t, ctx, p, first, "olga")

		rt := &countingTransport{}
		fresh := providerClient(t, p, WithTokenCache(first.TokenCache()), WithHTTPClient(&http.Client{Transport: rt}))
		accounts, err := fresh.Accounts(ctx, "")
		if err != nil || accounts.Len() != 1 || accounts.At(0).HomeAccountID != signedIn.Account.HomeAccountID {
			t.Fatalf("Accounts = %v, %v", accounts, err)
		}
		res, err := fresh.AcquireTokenSilent(ctx, []string{"email"}, accounts.At(0))
		if err != nil || res.Source != SourceCache || res.AccessToken != signedIn.AccessToken {
			t.Fatalf("silent hit: source %v, %v", res.Source, err)
		}
		if n := rt.n.Load(); n != 0 {
			t.Fatalf("%d requests sent for cache reads, want 0", n)
		}
		if _, err := fresh.AcquireTokenSilent(ctx, []string{"email"}, accounts.At(0), WithForceRefresh()); err == nil || rt.n.Load() == 0 {
			t.Fatalf("a forced refresh must go to the network (err %v, %d requests)", err, rt.n.Load())
		}
	})
}

// TestCacheEnvironmentsHostFirst: an authority on any alias of a known cloud searches
// its own host first and every alias after, with no reordering left for a cache hit.
func TestCacheEnvironmentsHostFirst(t *testing.T) {
	for _, host := range []string{"login.microsoftonline.com", "login.windows.net", "sts.windows.net"} {
		spec, err := parseAuthority("https://" + host + "/organizations")
		if err != nil {
			t.Fatal(err)
		}
		info := spec.staticInfo()
		if info.Aliases[0] != host || len(info.Aliases) != 4 {
			t.Errorf("%s: aliases %v, want the 4 public-cloud hosts with %s first", host, info.Aliases, host)
		}
		envs := cacheEnvironments(info)
		if &envs[0] != &info.Aliases[0] {
			t.Errorf("%s: cacheEnvironments copied the aliases instead of using them", host)
		}
	}
}
