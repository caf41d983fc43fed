package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// A token-like value the tests search for in files.
const knownToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.storage-test-known-token.c2lnbmF0dXJl"

func openMem(t *testing.T, dir string, kr Keyring, opts ...StoreOption) *CacheStore {
	t.Helper()
	s, err := OpenCacheStore(dir, kr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCacheStoreRoundTripAcrossStores(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "home")
	kr := newMemKeyring()
	s1 := openMem(t, dir, kr)
	c1 := newMapCache()
	if err := put(ctx, s1, c1, "at", knownToken); err != nil {
		t.Fatal(err)
	}

	// A second store stands for another process: it must see the first one's write.
	s2 := openMem(t, dir, kr)
	c2 := newMapCache()
	if err := load(ctx, s2, c2); err != nil {
		t.Fatal(err)
	}
	if got := c2.get("at"); got != knownToken {
		t.Fatalf("second store read %q", got)
	}

	// And the first sees the second's change on its next access.
	if err := put(ctx, s2, c2, "rt", "refresh"); err != nil {
		t.Fatal(err)
	}
	if err := load(ctx, s1, c1); err != nil {
		t.Fatal(err)
	}
	if got := c1.get("rt"); got != "refresh" {
		t.Fatalf("first store did not reload the change, rt=%q", got)
	}

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	fi, err = os.Stat(s1.Path())
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(s1.Path())
	if bytes.Contains(raw, []byte(knownToken)) || bytes.Contains(raw, []byte("refresh")) {
		t.Error("cache file holds a token in plaintext")
	}
	if !bytes.HasPrefix(raw, []byte(fileMagic)) {
		t.Errorf("file does not start with the magic: %q", raw[:8])
	}
	if s1.Plaintext() {
		t.Error("Plaintext() is true for a sealed store")
	}
}

func TestCacheStoreAsksKeyringOncePerStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	if kr.callCount() != 0 {
		t.Fatalf("OpenCacheStore called the keyring %d times; it should wait for first use", kr.callCount())
	}
	c := newMapCache()
	for i := range 5 {
		if err := put(ctx, s, c, "k", string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	// First use ever: Get (not found), Get again under the lock, Set.
	if n := kr.callCount(); n != 3 {
		t.Fatalf("first store made %d keyring calls, want 3 (get, get under lock, set)", n)
	}
	s2 := openMem(t, dir, kr)
	for range 5 {
		if err := load(ctx, s2, newMapCache()); err != nil {
			t.Fatal(err)
		}
	}
	if n := kr.callCount() - 3; n != 1 {
		t.Fatalf("a later store made %d keyring calls, want exactly 1", n)
	}
}

func TestCacheStoreReloadsOnlyWhenFileChanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	writer := openMem(t, dir, kr)
	wc := newMapCache()
	if err := put(ctx, writer, wc, "a", "1"); err != nil {
		t.Fatal(err)
	}
	reader := openMem(t, dir, kr)
	rc := newMapCache()
	for range 10 {
		if err := load(ctx, reader, rc); err != nil {
			t.Fatal(err)
		}
	}
	if rc.deserialized != 1 {
		t.Fatalf("unchanged file deserialized %d times, want 1", rc.deserialized)
	}
	if err := put(ctx, writer, wc, "b", "2"); err != nil {
		t.Fatal(err)
	}
	if wc.deserialized != 0 {
		t.Fatalf("writer reloaded its own write (%d deserializations)", wc.deserialized)
	}
	if err := load(ctx, reader, rc); err != nil {
		t.Fatal(err)
	}
	if rc.deserialized != 2 || rc.get("b") != "2" {
		t.Fatalf("changed file: %d deserializations, b=%q", rc.deserialized, rc.get("b"))
	}
}

func TestCacheStoreGenerationCounts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openMem(t, dir, newMemKeyring())
	c := newMapCache()
	for i := range 3 {
		if err := put(ctx, s, c, "k", string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	if h.generation != 3 || h.mode != modeSealed {
		t.Fatalf("header %+v, want generation 3, sealed", h)
	}
}

func TestCacheStoreUnreadableFileMovedAside(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, kr *memKeyring)
	}{
		{"wrong key", func(t *testing.T, path string, kr *memKeyring) {
			// Another key in the keyring (a reset keyring, another machine's file).
			other := newMemKeyring()
			s := openMem(t, filepath.Dir(path), other)
			if err := put(ctx, s, newMapCache(), "x", "y"); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string, _ *memKeyring) {
			raw, _ := os.ReadFile(path)
			os.WriteFile(path, raw[:len(raw)/2], 0o600)
		}},
		{"truncated header", func(t *testing.T, path string, _ *memKeyring) {
			raw, _ := os.ReadFile(path)
			os.WriteFile(path, raw[:7], 0o600)
		}},
		{"tampered ciphertext", func(t *testing.T, path string, _ *memKeyring) {
			raw, _ := os.ReadFile(path)
			raw[len(raw)-20] ^= 0x01
			os.WriteFile(path, raw, 0o600)
		}},
		{"tampered generation", func(t *testing.T, path string, _ *memKeyring) {
			raw, _ := os.ReadFile(path)
			raw[15]++
			os.WriteFile(path, raw, 0o600)
		}},
		{"plaintext header in sealed store", func(t *testing.T, path string, _ *memKeyring) {
			f, _ := seal(nil, 9, []byte(`{"evil":"injected"}`))
			os.WriteFile(path, f, 0o600)
		}},
		{"empty file", func(t *testing.T, path string, _ *memKeyring) {
			os.WriteFile(path, nil, 0o600)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			kr := newMemKeyring()
			var seen []Notice
			s := openMem(t, dir, kr, WithNoticeFunc(func(n Notice) { seen = append(seen, n) }))
			if err := put(ctx, s, newMapCache(), "at", knownToken); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, s.Path(), kr)
			damaged, _ := os.ReadFile(s.Path())

			// A fresh process (store) with the right key meets the damaged file.
			s2 := openMem(t, dir, kr)
			c := newMapCache()
			if err := load(ctx, s2, c); err != nil {
				t.Fatalf("load of a damaged cache failed instead of starting fresh: %v", err)
			}
			if len(c.keys()) != 0 {
				t.Fatalf("damaged cache yielded entries %v", c.keys())
			}
			ns := s2.Notices()
			if len(ns) != 1 || ns[0].Kind != NoticeCacheCorrupt {
				t.Fatalf("notices %+v, want one %s", ns, NoticeCacheCorrupt)
			}
			kept, err := os.ReadFile(ns[0].Path)
			if err != nil || !bytes.Equal(kept, damaged) {
				t.Fatalf("damaged file not kept aside at %s (err %v)", ns[0].Path, err)
			}
			if !strings.Contains(ns[0].Path, IndexFileName+".corrupt-") ||
				!strings.Contains(ns[0].Message, ns[0].Path) {
				t.Errorf("notice does not name the moved file: %+v", ns[0])
			}
			if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
				t.Fatalf("damaged file still in place: %v", err)
			}
			// The fresh cache works.
			if err := put(ctx, s2, c, "new", "v"); err != nil {
				t.Fatal(err)
			}
			c3 := newMapCache()
			if err := load(ctx, openMem(t, dir, kr), c3); err != nil || c3.get("new") != "v" {
				t.Fatalf("fresh cache unreadable: %v %v", err, c3.keys())
			}
		})
	}
}

func TestCacheStoreCorruptPayloadMovedAside(t *testing.T) {
	// Decrypts fine, but the cache layer cannot parse it.
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	if err := load(ctx, s, newMapCache()); err != nil { // creates the key
		t.Fatal(err)
	}
	f, err := seal(s.aead, 1, []byte("not json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(), f, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := openMem(t, dir, kr)
	if err := load(ctx, s2, newMapCache()); err != nil {
		t.Fatal(err)
	}
	if ns := s2.Notices(); len(ns) != 1 || ns[0].Kind != NoticeCacheCorrupt {
		t.Fatalf("notices %+v", ns)
	}
}

// makeReadOnly stops every write into dir, even root's, and undoes it at cleanup.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	// Root ignores permission bits; the immutable attribute stops root too.
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i (needed to make a directory read-only for root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
}

func TestCacheStoreReadOnlyDirKeepsOldFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := newMapCache()
	if err := put(ctx, s, c, "at", "old"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())
	makeReadOnly(t, dir)

	err := put(ctx, s, c, "at", "new")
	if err == nil {
		t.Fatal("save into a read-only directory succeeded")
	}
	if !strings.Contains(err.Error(), "previous file is intact") || !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("error does not explain the failure: %v", err)
	}
	after, _ := os.ReadFile(s.Path())
	if !bytes.Equal(before, after) {
		t.Fatal("previous cache file changed")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	// The store is still usable: the lock was released and the old file reads back.
	c2 := newMapCache()
	if err := load(ctx, openMem(t, dir, kr), c2); err != nil || c2.get("at") != "old" {
		t.Fatalf("after a failed save: %v, at=%q", err, c2.get("at"))
	}
}

func TestCacheStoreLockTimeout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openMem(t, dir, newMemKeyring(), WithLockTimeout(150*time.Millisecond))
	if err := load(ctx, s, newMapCache()); err != nil { // key ready
		t.Fatal(err)
	}
	// Another "process" holds the lock file exclusively.
	other := flock.New(filepath.Join(dir, LockFileName))
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	defer other.Unlock()

	start := time.Now()
	err := s.before(ctx, newMapCache(), true, fullScope)
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("err = %v, want ErrLockTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %v, want about 150ms", d)
	}
	// A caller's own cancellation is reported as such.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.before(cctx, newMapCache(), true, fullScope); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	// Reads need no file lock: a lookup still works while another process writes.
	if err := load(ctx, s, newMapCache()); err != nil {
		t.Fatalf("read while another process holds the lock: %v", err)
	}
	// The failed attempts released the in-process lock.
	other.Unlock()
	if err := load(ctx, s, newMapCache()); err != nil {
		t.Fatal(err)
	}
}

func TestCacheStoreAfterAccessWithoutBefore(t *testing.T) {
	s := openMem(t, t.TempDir(), newMemKeyring())
	// identity calls AfterAccess even when BeforeAccess failed: it must not unlock
	// anything or panic.
	if err := s.after(context.Background(), newMapCache(), true); err != nil {
		t.Fatal(err)
	}
}

func TestCacheStoreConcurrentGoroutines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine has its own store, as separate processes do, so only the
			// file lock keeps them apart.
			// flock is not fair: on a loaded machine one of eight pollers can lose
			// the lock again and again for longer than the default 10 s. This test
			// is about lost writes, not the wait bound, which has tests of its own.
			s := openMem(t, dir, kr, WithLockTimeout(2*time.Minute))
			c := newMapCache()
			for i := range 20 {
				if err := put(ctx, s, c, string(rune('A'+g))+string(rune('a'+i)), "v"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := newMapCache()
	if err := load(ctx, openMem(t, dir, kr), c); err != nil {
		t.Fatal(err)
	}
	if n := len(c.keys()); n != 8*20 {
		t.Fatalf("%d entries, want %d: writes were lost", n, 8*20)
	}
}

func TestCacheStoreSharedStoreGoroutines(t *testing.T) {
	ctx := context.Background()
	s := openMem(t, t.TempDir(), newMemKeyring())
	c := newMapCache()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := put(ctx, s, c, string(rune('A'+g))+string(rune('a'+i)), "v"); err != nil {
					t.Error(err)
					return
				}
				if err := load(ctx, s, c); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c2 := newMapCache()
	if err := load(ctx, openMem(t, s.dir, keyringOf(s)), c2); err != nil {
		t.Fatal(err)
	}
	if len(c2.keys()) != 100 {
		t.Fatalf("%d entries, want 100", len(c2.keys()))
	}
}

func TestStaleTempFilesRemovedOnSave(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openMem(t, dir, newMemKeyring())
	stale := filepath.Join(dir, IndexFileName+".tmp-123456")
	if err := os.WriteFile(stale, []byte("half a cache"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, s, newMapCache(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale temporary file from a killed writer was kept")
	}
}

// TestReaderNeverMovesAsideAFreshFile: a lock-free reader finds the file unreadable, and
// before it can act a writer puts a good cache in place. The reader must load the good
// one, not move it aside.
func TestReaderNeverMovesAsideAFreshFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	writer := openMem(t, dir, kr)
	wc := newMapCache()
	if err := put(ctx, writer, wc, "at", "v1"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(writer.Path())
	os.WriteFile(writer.Path(), raw[:len(raw)-5], 0o600) // truncated

	reader := openMem(t, dir, kr)
	reader.testHookCorrupt = func() {
		if err := put(ctx, writer, wc, "at", "v2"); err != nil {
			t.Error(err)
		}
	}
	rc := newMapCache()
	if err := load(ctx, reader, rc); err != nil {
		t.Fatal(err)
	}
	if rc.get("at") != "v2" {
		t.Fatalf("reader got %q, want the writer's fresh v2", rc.get("at"))
	}
	if ns := reader.Notices(); len(ns) != 0 {
		t.Fatalf("reader moved a good file aside: %+v", ns)
	}
	// Without a rescue, the same reader path does move the damaged file aside.
	raw, _ = os.ReadFile(writer.Path())
	os.WriteFile(writer.Path(), raw[:len(raw)-5], 0o600)
	reader.testHookCorrupt = nil
	if err := load(ctx, reader, rc); err != nil {
		t.Fatal(err)
	}
	if ns := reader.Notices(); len(ns) != 1 {
		t.Fatalf("notices %+v, want one", ns)
	}
}
