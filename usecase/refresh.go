package usecase

import (
	"context"
	"strings"
	"sync"

	"github.com/tokendesk/tokendesk/identity"
)

// RefreshLocker serializes the silent token acquisitions (and so the refreshes) of one
// account across every Tokendesk process: providers that rotate refresh tokens revoke
// the whole grant when a rotated-away one is redeemed again (RFC 9700 §4.14), so two
// processes refreshing one account at once would sign its user out. storage's
// RefreshLocks implements it with a lock file per account.
type RefreshLocker interface {
	// LockRefresh takes the lock of key, waiting until ctx ends (the error then wraps
	// ctx.Err()), and returns its unlock.
	LockRefresh(ctx context.Context, key string) (unlock func(), err error)
}

// refreshKey names an account's refresh lock: its home account id and authority host.
// A refresh token belongs to one account at one host, shared by every client of its
// family (FOCI), so one lock per account covers every client and family of it; it is
// coarser than needed (two clients' refreshes of one account wait for each other) and
// never finer.
func refreshKey(a identity.Account) string {
	return "refresh\x00" + strings.ToLower(a.Environment) + "\x00" + a.HomeAccountID
}

// processRefreshLocks is the RefreshLocker of a Desk built without one: it serializes
// refreshes within this process only (every Desk of it: the window and the tray may run
// two), which is all a Desk without a Tokendesk directory can share anyway.
var processRefreshLocks = &memoryLocks{m: map[string]chan struct{}{}}

type memoryLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (l *memoryLocks) LockRefresh(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	ch, ok := l.m[key]
	if !ok {
		ch = make(chan struct{}, 1)
		l.m[key] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-ch }) }, nil
}
