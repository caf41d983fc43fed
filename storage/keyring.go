package storage

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/zalando/go-keyring"
)

// Keyring stores small secrets in the OS keyring. SystemKeyring is the real one; tests
// pass their own.
//
// Get returns an error matching ErrNotFound when no secret is stored.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// Keyring entries Tokendesk owns.
const (
	// KeyringService is the keyring service name of every Tokendesk secret.
	KeyringService = "tokendesk"
	// CacheKeyUser holds the token cache's AES-256 key, base64-encoded.
	CacheKeyUser = "cache-key"
	// profileSecretPrefix + profile name holds a profile's client secret.
	profileSecretPrefix = "profile-secret:"
)

// DefaultKeyringTimeout bounds every keyring call of SystemKeyring(0).
const DefaultKeyringTimeout = 3 * time.Second

var (
	// ErrNotFound means the keyring holds no secret under that service and user.
	ErrNotFound = errors.New("storage: secret not found in the OS keyring")

	// ErrKeyringTimeout means the keyring daemon did not answer in time. go-keyring
	// takes no context and waits forever on a hung daemon; SystemKeyring gives up instead.
	ErrKeyringTimeout = errors.New("storage: the OS keyring did not answer in time: " +
		"restart the Secret Service (gnome-keyring-daemon, KWallet) and unlock it, " +
		"or enable the plaintext cache setting (allow_plaintext_cache)")

	// ErrKeyringUnavailable means no OS keyring could be reached, such as Linux without
	// a D-Bus session or without a Secret Service on it.
	ErrKeyringUnavailable = errors.New("storage: no OS keyring (Secret Service) is available: " +
		"start gnome-keyring or another Secret Service in your session, " +
		"or enable the plaintext cache setting (allow_plaintext_cache)")
)

// SystemKeyring returns the OS keyring (Secret Service on Linux, Keychain on macOS,
// Credential Manager on Windows, through github.com/zalando/go-keyring) with every call
// bounded by timeout (DefaultKeyringTimeout when timeout <= 0).
//
// Errors: ErrNotFound for a missing secret, ErrKeyringTimeout when the daemon does not
// answer, ErrKeyringUnavailable (wrapping the cause) when there is no keyring at all.
func SystemKeyring(timeout time.Duration) Keyring {
	return TimeoutKeyring(goKeyring{}, timeout)
}

// TimeoutKeyring bounds every call of kr by timeout (DefaultKeyringTimeout when
// timeout <= 0), failing with ErrKeyringTimeout, and maps errors as SystemKeyring does.
// A call that never returns keeps one goroutine; a timed-out or unavailable keyring is
// remembered, so later calls fail at once with the same error instead of waiting again.
func TimeoutKeyring(kr Keyring, timeout time.Duration) Keyring {
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	return &timeoutKeyring{kr: kr, timeout: timeout, slot: make(chan struct{}, 1)}
}

// goKeyring adapts go-keyring's package functions.
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, secret string) error   { return keyring.Set(service, user, secret) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// timeoutKeyring runs each call of kr in a goroutine and stops waiting after timeout.
// A call that never returns keeps its goroutine forever (go-keyring cannot be
// interrupted), so calls go through one slot: while a hung call holds it, later calls
// time out waiting for the slot instead of piling up more stuck goroutines.
//
// The first call that times out or finds no keyring is remembered: every later call
// fails at once with the same error, for the life of the keyring value (main makes one
// per process). A daemon that hung once is not asked again for 3 s per profile.
type timeoutKeyring struct {
	kr      Keyring
	timeout time.Duration
	slot    chan struct{}
	broken  atomic.Pointer[error]
}

func (k *timeoutKeyring) Get(service, user string) (string, error) {
	var v string
	err := k.do("reading", service, user, func() (err error) {
		v, err = k.kr.Get(service, user)
		return err
	})
	return v, err
}

func (k *timeoutKeyring) Set(service, user, secret string) error {
	return k.do("writing", service, user, func() error { return k.kr.Set(service, user, secret) })
}

func (k *timeoutKeyring) Delete(service, user string) error {
	return k.do("deleting", service, user, func() error { return k.kr.Delete(service, user) })
}

func (k *timeoutKeyring) do(verb, service, user string, call func() error) error {
	if prev := k.broken.Load(); prev != nil {
		return fmt.Errorf("%w (not asked again after: %w)", errBrokenKind(*prev), *prev)
	}
	err := k.call(verb, service, user, call)
	if errors.Is(err, ErrKeyringTimeout) || errors.Is(err, ErrKeyringUnavailable) {
		k.broken.CompareAndSwap(nil, &err)
	}
	return err
}

// errBrokenKind is the sentinel a remembered failure matched.
func errBrokenKind(err error) error {
	if errors.Is(err, ErrKeyringTimeout) {
		return ErrKeyringTimeout
	}
	return ErrKeyringUnavailable
}

func (k *timeoutKeyring) call(verb, service, user string, call func() error) error {
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case k.slot <- struct{}{}:
	case <-timer.C:
		return k.timeoutErr(verb, service, user)
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-k.slot }()
		done <- call()
	}()
	select {
	case err := <-done:
		return classifyKeyringErr(verb, service, user, err)
	case <-timer.C:
		return k.timeoutErr(verb, service, user)
	}
}

func (k *timeoutKeyring) timeoutErr(verb, service, user string) error {
	return fmt.Errorf("%w (%s %s/%s, waited %s)", ErrKeyringTimeout, verb, service, user, k.timeout)
}

// classifyKeyringErr maps go-keyring's errors onto the package's sentinels. Any error
// other than "not found" means the keyring itself is unusable (no D-Bus session, no
// Secret Service, a locked collection that will not unlock), and the fix is the same.
func classifyKeyringErr(verb, service, user string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w (%s/%s)", ErrNotFound, service, user)
	case errors.Is(err, ErrKeyringTimeout), errors.Is(err, ErrKeyringUnavailable):
		return err
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("storage: %s %s/%s: %w", verb, service, user, err)
	default:
		return fmt.Errorf("%w (%s %s/%s: %w)", ErrKeyringUnavailable, verb, service, user, err)
	}
}
