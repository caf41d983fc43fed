package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The cache store's keyring: a hung or missing one, a malformed key, and the
// plaintext opt-in that does without it.

// keyringOf returns the keyring s uses, for a second store on the same file.
func keyringOf(s *CacheStore) Keyring { return s.kr }

func TestPlaintextIsExplicit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := OpenCacheStore(dir, nil); err == nil {
		t.Fatal("a sealed store without a keyring opened")
	}
	s := openMem(t, dir, nil, WithPlaintext())
	if !s.Plaintext() {
		t.Fatal("Plaintext() false with WithPlaintext")
	}
	c := newMapCache()
	if err := put(ctx, s, c, "at", knownToken); err != nil {
		t.Fatal(err)
	}
	data, _ := filepath.Glob(filepath.Join(dir, "cache-plaintext.d-*"))
	var raw []byte
	if len(data) == 1 {
		raw, _ = os.ReadFile(data[0])
	}
	if _, err := os.Stat(filepath.Join(dir, PlaintextIndexFileName)); err != nil || !bytes.Contains(raw, []byte(knownToken)) {
		t.Fatal("plaintext store did not write the plaintext file")
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFileName)); !os.IsNotExist(err) {
		t.Fatal("plaintext store wrote the sealed file name")
	}
	// Switching back to a sealed store never reads the plaintext file, and says so.
	sealed := openMem(t, dir, newMemKeyring())
	c2 := newMapCache()
	if err := load(ctx, sealed, c2); err != nil {
		t.Fatal(err)
	}
	if len(c2.keys()) != 0 {
		t.Fatal("sealed store read the plaintext cache")
	}
	if ns := sealed.Notices(); len(ns) != 1 || ns[0].Kind != NoticePlaintextLeftover {
		t.Fatalf("notices %+v, want a plaintext-leftover notice", ns)
	}
}

func TestHungKeyringTimesOut(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	hung := &blockingKeyring{block: block}
	kr := TimeoutKeyring(hung, 100*time.Millisecond)
	s := openMem(t, t.TempDir(), kr)
	for i := range 3 {
		start := time.Now()
		err := load(context.Background(), s, newMapCache())
		if !errors.Is(err, ErrKeyringTimeout) {
			t.Fatalf("call %d: err = %v, want ErrKeyringTimeout", i, err)
		}
		if !strings.Contains(err.Error(), "gnome-keyring") || !strings.Contains(err.Error(), "allow_plaintext_cache") {
			t.Errorf("error does not name the fix: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("call %d took %v", i, d)
		}
	}
	if n := hung.calls.Load(); n != 1 {
		t.Fatalf("%d calls reached the hung keyring; later calls should wait for the stuck one", n)
	}
}

func TestKeyringErrorsAreClassified(t *testing.T) {
	kr := newMemKeyring()
	kr.err = errors.New("The name org.freedesktop.secrets was not provided by any .service files")
	s := openMem(t, t.TempDir(), TimeoutKeyring(kr, time.Second))
	err := load(context.Background(), s, newMapCache())
	if !errors.Is(err, ErrKeyringUnavailable) || !strings.Contains(err.Error(), "org.freedesktop.secrets") {
		t.Fatalf("err = %v, want ErrKeyringUnavailable with the cause", err)
	}
	if _, err := TimeoutKeyring(newMemKeyring(), time.Second).Get("s", "u"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing secret: %v, want ErrNotFound", err)
	}
}

func TestMalformedKeyIsAClearError(t *testing.T) {
	kr := newMemKeyring()
	kr.Set(KeyringService, CacheKeyUser, "not base64 !!")
	s := openMem(t, t.TempDir(), kr)
	err := load(context.Background(), s, newMapCache())
	if err == nil || !strings.Contains(err.Error(), "tokendesk/cache-key") {
		t.Fatalf("err = %v, want one naming the keyring entry", err)
	}
}
