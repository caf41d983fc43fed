package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// keyringTimeout bounds the probe: go-keyring takes no context and blocks for as long
// as a hung daemon does.
const keyringTimeout = 10 * time.Second

var keyringProbe struct {
	once sync.Once
	err  error
}

// RequireKeyring makes sure an OS keyring (freedesktop Secret Service) answers, by
// storing, reading and deleting a probe secret through go-keyring. It skips the test
// only when TOKENDESK_SKIP_KEYRING=1 and CI is not "true"; otherwise a missing keyring
// fails the test with the way to get one.
func RequireKeyring(t testing.TB) {
	t.Helper()
	skipIfAllowed(t, "TOKENDESK_SKIP_KEYRING")
	keyringProbe.once.Do(func() { keyringProbe.err = probeKeyring() })
	if keyringProbe.err != nil {
		t.Fatalf("testenv: no OS keyring (Secret Service) reachable: %v\n"+
			"Run the tests with `make test`, or one package with `scripts/ci-session.sh -- go test ./PKG/`: "+
			"both start a private D-Bus session with an unlocked gnome-keyring (`make deps` installs it). "+
			"Set TOKENDESK_SKIP_KEYRING=1 to skip outside CI.", keyringProbe.err)
	}
}

func probeKeyring() error {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	service, user := "tokendesk-testenv-probe", hex.EncodeToString(b)
	done := make(chan error, 1)
	go func() {
		if err := keyring.Set(service, user, "probe"); err != nil {
			done <- fmt.Errorf("set: %w", err)
			return
		}
		got, err := keyring.Get(service, user)
		if err == nil && got != "probe" {
			err = errors.New("read back a different value")
		}
		if err != nil {
			done <- fmt.Errorf("get: %w", err)
			return
		}
		done <- keyring.Delete(service, user)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(keyringTimeout):
		return fmt.Errorf("no answer within %v (is the keyring daemon hung or locked?)", keyringTimeout)
	}
}
