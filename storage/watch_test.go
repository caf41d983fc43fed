package storage

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatch checks both ways of watching (OS notifications and the stat fallback)
// against what writers really do to the directory: a store saving the cache the way
// another process does, a config rewrite, and the noise that must be ignored (the lock
// file, temporary files).
func TestWatch(t *testing.T) {
	for _, mode := range []string{"notify", "poll"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var calls atomic.Int64
			onChange := func() { calls.Add(1) }
			if mode == "notify" {
				if err := Watch(ctx, dir, onChange); err != nil {
					t.Fatal(err)
				}
			} else {
				old := watchPoll
				watchPoll = 20 * time.Millisecond
				t.Cleanup(func() { watchPoll = old })
				go pollDir(ctx, dir, map[string]bool{IndexFileName: true, ConfigFileName: true}, onChange)
				time.Sleep(50 * time.Millisecond) // let it take its first look
			}
			// settled waits for the calls to stop growing and returns how many came.
			settled := func() int64 {
				last := calls.Load()
				for range 100 {
					time.Sleep(100 * time.Millisecond)
					if n := calls.Load(); n == last && n > 0 {
						return n
					} else {
						last = n
					}
				}
				return calls.Load()
			}
			quiet := func(what string) {
				t.Helper()
				time.Sleep(300 * time.Millisecond)
				if n := calls.Swap(0); n != 0 {
					t.Errorf("%s: %d change reports, want none", what, n)
				}
			}

			// Noise: the lock file and a temporary file are not the cache.
			if err := os.WriteFile(filepath.Join(dir, LockFileName), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, IndexFileName+".tmp-1"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			quiet("lock and temporary files")

			// Another process saves the cache: a second store on the same directory.
			other, err := OpenCacheStore(dir, newMemKeyring())
			if err != nil {
				t.Fatal(err)
			}
			c := newMapCache()
			if err := put(context.Background(), other, c, "k", "v"); err != nil {
				t.Fatal(err)
			}
			if n := settled(); n < 1 {
				t.Errorf("cache saved by another store: no change report")
			}
			calls.Store(0)

			// A burst of saves is reported a few times at most, not once per save.
			for i := range 20 {
				if err := put(context.Background(), other, c, "k", string(rune('a'+i))); err != nil {
					t.Fatal(err)
				}
			}
			// Notifications are debounced; a poll reports at most once per look.
			maxReports := int64(10)
			if mode == "poll" {
				maxReports = 20
			}
			if n := settled(); n < 1 || n > maxReports {
				t.Errorf("20 saves in a burst: %d change reports, want 1..%d", n, maxReports)
			}
			calls.Store(0)

			if err := writeFileAtomic(filepath.Join(dir, ConfigFileName), []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if n := settled(); n < 1 {
				t.Errorf("config.json replaced: no change report")
			}
			calls.Store(0)

			// After ctx ends, nothing more is reported.
			cancel()
			time.Sleep(100 * time.Millisecond)
			if err := put(context.Background(), other, c, "k", "z"); err != nil {
				t.Fatal(err)
			}
			quiet("after the context ended")
		})
	}
}

func TestWatchMissingDir(t *testing.T) {
	if err := Watch(context.Background(), filepath.Join(t.TempDir(), "absent"), func() {}); err == nil {
		t.Error("Watch of a missing directory: no error")
	}
}
