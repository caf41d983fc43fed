package app

import (
	"context"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/storage"
)

// TestOpenFollowsHomeAndWatchesIt: Open works in TOKENDESK_HOME, and Stored.Watch
// hears a change another process makes there (here a config.json saved).
func TestOpenFollowsHomeAndWatchesIt(t *testing.T) {
	home := t.TempDir()
	t.Setenv(storage.EnvHome, home)
	st, err := Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dir != home {
		t.Fatalf("Dir = %q, want TOKENDESK_HOME %q", st.Dir, home)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	changed := make(chan struct{}, 1)
	if err := st.Watch(ctx, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	cfg := storage.DefaultConfig()
	cfg.ClipboardClearSeconds = 5
	if err := storage.SaveConfig(home, cfg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("Watch did not report config.json saved in TOKENDESK_HOME")
	}
}
