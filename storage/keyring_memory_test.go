package storage

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A keyring that timed out once is not waited for again: every later call, for any
// entry, fails at once with ErrKeyringTimeout and says why. With five profiles' secrets
// plus the cache key that is one wait, not six.
func TestHungKeyringIsRemembered(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	kr := TimeoutKeyring(&blockingKeyring{block: block}, 200*time.Millisecond)
	start := time.Now()
	if _, err := kr.Get(KeyringService, CacheKeyUser); !errors.Is(err, ErrKeyringTimeout) {
		t.Fatalf("first call: %v", err)
	}
	first := time.Since(start)
	start = time.Now()
	for i := range 5 {
		_, err := kr.Get(KeyringService, "profile-secret:p"+string(rune('0'+i)))
		if !errors.Is(err, ErrKeyringTimeout) || !strings.Contains(err.Error(), "not asked again") {
			t.Fatalf("call %d: %v, want the remembered ErrKeyringTimeout", i, err)
		}
	}
	if err := kr.Set("s", "u", "v"); !errors.Is(err, ErrKeyringTimeout) {
		t.Fatalf("Set after a timeout: %v", err)
	}
	if rest := time.Since(start); rest > 50*time.Millisecond {
		t.Errorf("six later calls took %v (the first %v); want them at once", rest, first)
	}
}

// A keyring found missing is remembered the same way, and nothing else is: a missing
// secret (ErrNotFound) leaves the keyring usable.
func TestUnavailableKeyringIsRemembered(t *testing.T) {
	mem := newMemKeyring()
	kr := TimeoutKeyring(mem, time.Second)
	if _, err := kr.Get("s", "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing secret: %v", err)
	}
	if err := kr.Set("s", "u", "v"); err != nil {
		t.Fatalf("a not-found did not leave the keyring usable: %v", err)
	}
	mem.err = errors.New("The name org.freedesktop.secrets was not provided by any .service files")
	if _, err := kr.Get("s", "u"); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("unavailable: %v", err)
	}
	mem.mu.Lock()
	mem.err = nil
	calls := mem.calls
	mem.mu.Unlock()
	if _, err := kr.Get("s", "u"); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("after an unavailable keyring: %v, want it remembered", err)
	}
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if mem.calls != calls {
		t.Error("the keyring was asked again after it was found unavailable")
	}
}
