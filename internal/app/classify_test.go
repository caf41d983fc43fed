package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

// brokenKeyring fails every call with err, as a keyring without a Secret Service does.
type brokenKeyring struct{ err error }

func (k brokenKeyring) Get(string, string) (string, error) { return "", k.err }
func (k brokenKeyring) Set(string, string, string) error   { return k.err }
func (k brokenKeyring) Delete(string, string) error        { return k.err }

// hungKeyring never answers, as a frozen Secret Service.
type hungKeyring struct{ release chan struct{} }

func (k hungKeyring) Get(string, string) (string, error) { <-k.release; return "", errors.New("late") }
func (k hungKeyring) Set(string, string, string) error   { <-k.release; return errors.New("late") }
func (k hungKeyring) Delete(string, string) error        { <-k.release; return errors.New("late") }

// TestStorageFailuresAreClassified: what OpenDir and Probe return for a missing or hung
// keyring and a bad config.json carries usecase's kind (what the window and the CLI
// say how to fix) and still storage's error, its text unchanged.
func TestStorageFailuresAreClassified(t *testing.T) {
	hung := hungKeyring{release: make(chan struct{})}
	t.Cleanup(func() { close(hung.release) })
	noService := fmt.Errorf("%w: dbus: no session bus", storage.ErrKeyringUnavailable)
	for _, tc := range []struct {
		name     string
		kr       storage.Keyring
		config   string
		kind     error
		original error // matched with errors.Is; nil for config.json
	}{
		{"no keyring", brokenKeyring{noService}, "", usecase.ErrKeyringUnavailable, storage.ErrKeyringUnavailable},
		{"hung keyring", storage.TimeoutKeyring(hung, 50*time.Millisecond), "", usecase.ErrKeyringUnavailable, storage.ErrKeyringTimeout},
		{"bad config.json", brokenKeyring{noService}, `{"profiles": [{"name": "x", "issuer": "https://id.example"}]}`, usecase.ErrConfigInvalid, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.config != "" {
				if err := os.WriteFile(filepath.Join(dir, storage.ConfigFileName), []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			st, err := OpenDir(dir, tc.kr, nil)
			if err == nil {
				_, err = st.Probe(context.Background())
			}
			var se *usecase.StorageError
			if !errors.As(err, &se) || !errors.Is(err, tc.kind) {
				t.Fatalf("err %v (%T), want a *usecase.StorageError of kind %v", err, err, tc.kind)
			}
			if tc.original != nil && !errors.Is(err, tc.original) {
				t.Errorf("err %v lost storage's %v", err, tc.original)
			}
			if err.Error() != se.Err.Error() || !strings.HasPrefix(err.Error(), "storage: ") && tc.config == "" {
				t.Errorf("text %q: want storage's own", err.Error())
			}
			if tc.config != "" {
				var ce *storage.ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "client_id") {
					t.Errorf("err %v: want storage's *ConfigError naming client_id", err)
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	busy := fmt.Errorf("cache: %w", storage.ErrLockTimeout)
	if err := classify(busy); !errors.Is(err, usecase.ErrStorageBusy) || !errors.Is(err, storage.ErrLockTimeout) || err.Error() != busy.Error() {
		t.Errorf("classify(lock timeout) = %v", err)
	}
	other := errors.New("mkdir /x: permission denied")
	if err := classify(other); err != other {
		t.Errorf("classify(%v) = %v, want it unchanged", other, err)
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
