//go:build unix

package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
)

// TestEndToEndBinaryHungKeyring: with the Secret Service frozen (SIGSTOP) and five
// profiles whose client secrets live in the keyring, the binary must fail within 4 s
// with the keyring named, not ask the hung daemon once per profile (3 s each).
func TestEndToEndBinaryHungKeyring(t *testing.T) {
	bin := buildBinary(t)
	ss := testenv.PrivateSecretService(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ss.Stop(t)
	home := t.TempDir()
	cfg := &storage.Config{}
	for i := range 5 {
		cfg.Profiles = append(cfg.Profiles, profile.Profile{Name: fmt.Sprintf("p%d", i),
			Issuer: "https://issuer.example", ClientID: "c", SecretInKeyring: true})
	}
	if err := storage.SaveConfig(home, cfg); err != nil {
		t.Fatal(err)
	}
	c := cliProc{t: t, bin: bin, home: home}
	for _, args := range [][]string{{"accounts"}, {"token", "--scope", "s", "--account", "x"}, {"login", "--device-code", "--profile", "p3"}} {
		start := time.Now()
		r := c.run(ctx, []string{ss.Env()}, args...)
		took := time.Since(start)
		if r.code == ExitOK {
			t.Errorf("%s with a hung keyring: %v", args[0], r)
		}
		if !strings.Contains(r.stderr, "keyring") {
			t.Errorf("%s: stderr does not name the keyring:\n%s", args[0], r.stderr)
		}
		if took > 4*time.Second {
			t.Errorf("%s took %v with a hung keyring and 5 profiles, want under 4 s", args[0], took)
		}
		t.Logf("%s: exit %d after %v", args[0], r.code, took.Round(10*time.Millisecond))
	}
}
