package identity

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// fakeTokenStore records what the grants store, and fails when err is set.
type fakeTokenStore struct {
	mu     sync.Mutex
	stored []storeParams
	ctxErr []error // the context's error when each store began
	err    error
}

func (f *fakeTokenStore) storeCtx(ctx context.Context, p storeParams, _ bool) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored = append(f.stored, p)
	f.ctxErr = append(f.ctxErr, ctx.Err())
	if f.err != nil {
		return Result{}, f.err
	}
	return Result{AccessToken: p.response.AccessToken, Source: SourceIdentityProvider}, nil
}

// TestGrantsStoreThroughTheTokenStore: a grant hands the authority's answer to the
// client's token store (its cache), even once the caller's context has ended, and a
// store failure is reported as ours, not as the authority's *Error.
func TestGrantsStoreThroughTheTokenStore(t *testing.T) {
	f := newFakeEntra(t)
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common")
	fs := &fakeTokenStore{}
	c.tokens = fs
	ctx := context.Background()
	res, err := c.AcquireTokenByRefreshToken(ctx, "RT0", []string{"User.Read"})
	if err != nil || res.AccessToken == "" {
		t.Fatalf("grant: %+v, %v", res, err)
	}
	if len(fs.stored) != 1 {
		t.Fatalf("%d stores, want 1", len(fs.stored))
	}
	p := fs.stored[0]
	if p.clientID != "client" || p.authority == nil || p.response.RefreshToken == "" || strings.Join(p.requestedScopes, " ") != "User.Read" {
		t.Errorf("stored %+v", p)
	}
	if n := len(cacheJSON(t, c.TokenCache())["AccessToken"]); n != 0 {
		t.Errorf("the grant wrote %d access tokens to the cache behind the token store", n)
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.store(ended, p.authority, []string{"User.Read"}, p.response, storeParams{}); err != nil || fs.ctxErr[1] != nil {
		t.Errorf("an answer arriving after the caller's context ended was stored under a dead context (%v) or not at all (%v)", fs.ctxErr[1], err)
	}

	fs.err = errors.New("disk full")
	_, err = c.AcquireTokenByRefreshToken(ctx, "RT0", []string{"User.Read"})
	var ae *Error
	if !errors.Is(err, fs.err) || !strings.Contains(err.Error(), "storing the tokens") || errors.As(err, &ae) {
		t.Errorf("store failure came back as %v (an *Error: %v)", err, ae != nil)
	}
}
