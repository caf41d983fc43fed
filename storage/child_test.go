package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
)

// runChild is the body of a re-executed test binary. The environment carries the
// parameters; the exit code says how it went (0 ok, 1 failure, detail on stderr).
func runChild(role string) int {
	ctx := context.Background()
	dir := os.Getenv("STORE_DIR")
	user := os.Getenv("KEY_USER")
	opts := []StoreOption{WithKeyringEntry(KeyringService, user), WithLockTimeout(2 * time.Minute)}
	switch role {
	case "writer":
		// WRITER_ID adds WRITES distinct entries, one read-modify-write each.
		id := os.Getenv("WRITER_ID")
		n, _ := strconv.Atoi(os.Getenv("WRITES"))
		s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), opts...)
		if err != nil {
			return fail(err)
		}
		// NARROW=1 writes through a cache holding only this writer's account, as the
		// CLI does; every write also adds an entry to the account "all", which all
		// writers share and a narrowed one never loads, so its save must merge.
		sc := fullScope
		if os.Getenv("NARROW") == "1" {
			sc = &scope{homes: map[string]bool{"w" + id: true}}
		}
		c := newMapCache()
		for i := range n {
			if err := s.before(ctx, c, true, sc); err != nil {
				return fail(err)
			}
			c.set(fmt.Sprintf("w%s-%03d", id, i), "token-"+id)
			c.set(fmt.Sprintf("all-%s-%03d", id, i), "shared-"+id)
			if err := s.after(ctx, c, true); err != nil {
				return fail(err)
			}
		}
		if ns := s.Notices(); len(ns) > 0 {
			return fail(fmt.Errorf("unexpected notices: %v", ns))
		}
		return 0
	case "churn":
		// Rewrites a 4 MB cache forever, until killed. Each version's entries all carry
		// the same generation, so a torn mix would show. Building a version is cheap
		// (churnCache), so most of the time goes to writing and a kill usually lands in
		// the middle of one.
		s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), opts...)
		if err != nil {
			return fail(err)
		}
		c := &churnCache{blob: strings.Repeat("x", 64<<10)}
		for gen := 0; ; gen++ {
			c.gen = gen
			if err := bracket(ctx, s, c, true, true); err != nil {
				return fail(err)
			}
			if gen == 0 {
				fmt.Println("first write done")
			}
		}
	case "churn-identity":
		// churn through an identity.TokenCache: each version Deserialized anew, so
		// every save is a whole one split by identity's layout (splitLayout).
		s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), opts...)
		if err != nil {
			return fail(err)
		}
		c := identity.NewTokenCache(identity.WithCacheHook(s))
		blob := strings.Repeat("x", 64<<10)
		for gen := 0; ; gen++ {
			if err := s.BeforeAccess(ctx, c, true); err != nil {
				return fail(err)
			}
			if err := c.Deserialize(msalCache(64, fmt.Sprintf("%d:%s:", gen, blob))); err != nil {
				return fail(err)
			}
			if err := s.AfterAccess(ctx, c, true, true); err != nil {
				return fail(err)
			}
			if s.layoutSplits == 0 {
				return fail(fmt.Errorf("the save was not split by identity's layout"))
			}
			if gen == 0 {
				fmt.Println("first write done")
			}
		}
	case "hold-refresh-lock":
		// Takes the refresh lock of account "held" in STORE_DIR and keeps it until killed.
		locks, err := NewRefreshLocks(dir)
		if err != nil {
			return fail(err)
		}
		if _, err := locks.LockRefresh(ctx, "held"); err != nil {
			return fail(err)
		}
		fmt.Println("held")
		select {}
	case "diskfull":
		if err := diskFullChild(dir); err != nil {
			return fail(err)
		}
		return 0
	case "keyring-get":
		// Tries the OS keyring with whatever D-Bus environment the parent set.
		s, err := OpenCacheStore(dir, SystemKeyring(2*time.Second), opts...)
		if err != nil {
			return fail(err)
		}
		err = load(ctx, s, newMapCache())
		fmt.Printf("unavailable=%v timeout=%v\n%v\n",
			errors.Is(err, ErrKeyringUnavailable), errors.Is(err, ErrKeyringTimeout), err)
		return 0
	}
	return fail(fmt.Errorf("unknown child role %q", role))
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// churnCache serializes 64 entries "eNN", each the access token "<gen>:<blob>" of its
// own home account "eNN" (so 64 records change in every write), in mapCache's shape,
// without JSON encoding work.
type churnCache struct {
	gen  int
	blob string
}

func (c *churnCache) Serialize() ([]byte, error) {
	var b strings.Builder
	b.Grow(64 * (len(c.blob) + 16))
	b.WriteString(`{"AccessToken":{`)
	for i := range 64 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"e%02d":{"home_account_id":"e%02d","environment":"login.test","secret":"%d:%s"}`, i, i, c.gen, c.blob)
	}
	b.WriteString(`}}`)
	return []byte(b.String()), nil
}

func (c *churnCache) Deserialize([]byte) error { return nil }
