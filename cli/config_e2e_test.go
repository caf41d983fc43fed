package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
)

// TestEndToEndBinaryConcurrentConfigWriters: 20 tokendesk processes each change
// config.json at once (profiles set-secret marks its profile's secret_in_keyring): every
// change must survive. Before the config lock, 2 of 20 did.
func TestEndToEndBinaryConcurrentConfigWriters(t *testing.T) {
	bin := buildBinary(t)
	testenv.RequireKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	const n = 20
	cfg := &storage.Config{ClipboardClearSeconds: 30}
	for i := range n {
		cfg.Profiles = append(cfg.Profiles, profile.Profile{Name: fmt.Sprintf("p%02d", i),
			Issuer: "https://issuer.example", ClientID: "c"})
	}
	if err := storage.SaveConfig(home, cfg); err != nil {
		t.Fatal(err)
	}
	c := cliProc{t: t, bin: bin, home: home}
	// Each profile's secret goes to the keyring under its name: clear them all after.
	t.Cleanup(func() {
		for i := range n {
			_ = storage.DeleteProfileSecret(storage.SystemKeyring(0), fmt.Sprintf("p%02d", i))
		}
	})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, bin, "profiles", "set-secret", fmt.Sprintf("p%02d", i))
			cmd.Env = c.env()
			cmd.Stdin = strings.NewReader(fmt.Sprintf("secret-%02d\n", i))
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Run(); err != nil {
				t.Errorf("set-secret p%02d: %v\n%s", i, err, errb.String())
			}
		}()
	}
	wg.Wait()
	got, err := storage.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	flags := 0
	for _, p := range got.Profiles {
		if p.SecretInKeyring {
			flags++
		}
	}
	if flags != n || len(got.Profiles) != n {
		t.Errorf("%d of %d secret_in_keyring flags present (%d profiles)", flags, n, len(got.Profiles))
	}
	if got.ClipboardClearSeconds != 30 {
		t.Errorf("a field the CLI does not edit changed: clipboard_clear_seconds %d", got.ClipboardClearSeconds)
	}
}

// TestEndToEndBinaryTightensItsDirectory: a Tokendesk directory left open to other users
// (0755, as an older release or a careless copy left it) is made private by the next
// command, which says so on stderr.
func TestEndToEndBinaryTightensItsDirectory(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := filepath.Join(t.TempDir(), "tokendesk")
	if err := storage.SaveConfig(home, &storage.Config{Profiles: []profile.Profile{{Name: "lab",
		Issuer: "https://issuer.example", ClientID: "c"}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	r := cliProc{t: t, bin: bin, home: home}.run(ctx, nil, "profiles")
	want(t, r, ExitOK, "profiles")
	fi, err := os.Stat(home)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || !strings.Contains(r.stderr, "0755") || !strings.Contains(r.stderr, "now 0700") {
		t.Errorf("mode %04o after the command; stderr:\n%s", fi.Mode().Perm(), r.stderr)
	}
}
