//go:build unix

package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
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
	for _, plaintext := range []bool{false} {
		home := t.TempDir()
		cfg := &storage.Config{AllowPlaintextCache: plaintext}
		for i := range 5 {
			cfg.Profiles = append(cfg.Profiles, storage.Profile{Name: fmt.Sprintf("p%d", i),
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
				t.Errorf("plaintext=%v %s with a hung keyring: %v", plaintext, args[0], r)
			}
			if !strings.Contains(r.stderr, "keyring") {
				t.Errorf("plaintext=%v %s: stderr does not name the keyring:\n%s", plaintext, args[0], r.stderr)
			}
			if took > 4*time.Second {
				t.Errorf("plaintext=%v %s took %v with a hung keyring and 5 profiles, want under 4 s", plaintext, args[0], took)
			}
			t.Logf("plaintext=%v %s: exit %d after %v", plaintext, args[0], r.code, took.Round(10*time.Millisecond))
		}
	}
}
