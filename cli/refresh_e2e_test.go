package cli

// Single-flight refresh, proved against its adversary: the real provider rotates refresh
// tokens and revokes the grant when a rotated-away one comes back (RFC 9700 §4.14), so
// two processes that both redeem the same refresh token sign the user out. The count of
// refreshes is the provider's own (testenv's GrantCount), not the client's.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/app"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

const refreshGrant = "refresh_token"

// expireAccessTokens rewrites home's token cache (through storage, under its lock, as
// any Tokendesk process would) so every access token expired a minute ago; refresh
// tokens stay as they are.
func expireAccessTokens(t *testing.T, ctx context.Context, home string) {
	t.Helper()
	store, err := storage.OpenCacheStore(home, storage.SystemKeyring(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cache := identity.NewTokenCache(identity.WithCacheHook(store))
	if err := store.BeforeAccess(ctx, cache, true); err != nil {
		t.Fatal(err)
	}
	changed := false
	defer func() {
		if err := store.AfterAccess(ctx, cache, true, changed); err != nil {
			t.Fatal(err)
		}
	}()
	raw, err := cache.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	for _, at := range doc["AccessToken"] {
		at["expires_on"], at["extended_expires_on"] = past, past
		delete(at, "refresh_on")
	}
	if len(doc["AccessToken"]) == 0 {
		t.Fatal("the cache holds no access token to expire")
	}
	raw, err = json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := cache.Deserialize(raw); err != nil {
		t.Fatal(err)
	}
	changed = true
}

func grantCount(t *testing.T, ctx context.Context, p *testenv.OIDCProvider) int {
	t.Helper()
	n, err := p.GrantCount(ctx, refreshGrant)
	if err != nil {
		t.Fatalf("asking the provider for its refresh count: %v", err)
	}
	return n
}

// TestEndToEndBinaryParallelRefresh: N tokendesk processes (as kubectl, helm and k9s
// start credential plugins) ask for one account's token after its access token expired.
// Every one must exit 0 with the same token, the provider must see exactly one refresh,
// and the account must still refresh afterwards (the grant was not revoked).
func TestEndToEndBinaryParallelRefresh(t *testing.T) {
	bin := buildBinary(t)
	p := testenv.NewProvider(t) // its own: the refresh count must be this test's alone
	testenv.RequireKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	home := t.TempDir()
	writeConfig(t, home, p)
	c := cliProc{t: t, bin: bin, home: home}
	key, err := c.login(ctx, p, "gina")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"token", "--scope", e2eScope, "--account", key}
	for _, n := range []int{2, 8, 20} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			expireAccessTokens(t, ctx, home)
			before := grantCount(t, ctx, p)
			results := make([]result, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i] = c.run(ctx, nil, args...)
				}()
			}
			close(start)
			wg.Wait()
			tokens := map[string]int{}
			for i, r := range results {
				if r.code != ExitOK {
					t.Errorf("process %d of %d: %v", i+1, n, r)
					continue
				}
				tokens[strings.TrimSpace(r.stdout)]++
			}
			if len(tokens) != 1 {
				t.Errorf("%d processes printed %d different tokens, want one", n, len(tokens))
			}
			if got := grantCount(t, ctx, p) - before; got != 1 {
				t.Errorf("the provider saw %d refreshes for %d processes, want exactly 1", got, n)
			}
		})
	}
	// The grant survived: a forced refresh redeems the latest refresh token.
	before := grantCount(t, ctx, p)
	r := c.run(ctx, nil, append(args, "--force-refresh")...)
	want(t, r, ExitOK, "forced refresh after the parallel ones")
	if got := grantCount(t, ctx, p) - before; got != 1 {
		t.Errorf("forced refresh: the provider saw %d refreshes, want 1", got)
	}
}

// TestParallelRefreshTwoDesks: two Desks in one process over one Tokendesk directory
// (built as main builds them, each with its own cache store, as the window and another
// in-process user would be), ten goroutines each, after the access token expired: one
// refresh, one token.
func TestParallelRefreshTwoDesks(t *testing.T) {
	bin := buildBinary(t)
	p := testenv.NewProvider(t)
	testenv.RequireKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	writeConfig(t, home, p)
	key, err := cliProc{t: t, bin: bin, home: home}.login(ctx, p, "hank")
	if err != nil {
		t.Fatal(err)
	}
	var desks []*usecase.Desk
	for range 2 {
		st, err := app.OpenDir(home, storage.SystemKeyring(3*time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		desks = append(desks, st.Desk)
	}
	for round := range 2 {
		expireAccessTokens(t, ctx, home)
		before := grantCount(t, ctx, p)
		var mu sync.Mutex
		tokens := map[string]int{}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := desks[i%2].Token(ctx, key, []string{e2eScope}, false)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("round %d, goroutine %d: %v", round, i, err)
					return
				}
				tokens[res.AccessToken]++
			}()
		}
		wg.Wait()
		if len(tokens) != 1 {
			t.Errorf("round %d: %d different tokens, want one", round, len(tokens))
		}
		if got := grantCount(t, ctx, p) - before; got != 1 {
			t.Errorf("round %d: the provider saw %d refreshes, want exactly 1", round, got)
		}
	}
}
