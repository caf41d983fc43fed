package cli

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/storage"
)

// TestEndToEndScopeAddedLater: a scope not consented at sign-in is refused by the
// provider (its refresh tokens are bound to the granted scopes); token exits 3 naming
// the login command that fixes it, and that command does.
func TestEndToEndScopeAddedLater(t *testing.T) {
	p := testenv.Provider(t)
	testenv.RequireKeyring(t)
	ctx := e2eContext(t)
	home := t.TempDir()
	var logins []string
	desk := newDesk(t, home, p, func(ctx context.Context, authURL string) error {
		logins = append(logins, authURL)
		return p.LoginAndDeliver(ctx, authURL, "olga")
	})
	r := inProcess(ctx, desk, "login", "--profile", "lab")
	want(t, r, ExitOK, "login")
	key := strings.TrimSpace(r.stdout)

	const later = "api://tokendesk-cli/added-later"
	r = inProcess(ctx, desk, "token", "--scope", later, "--account", key)
	want(t, r, ExitInteractionRequired, "token for a scope not consented at sign-in")
	fix := "tokendesk login --profile lab --login-hint olga@example.test --scope " + later
	if !strings.Contains(r.stderr, fix) || strings.Contains(r.stderr, "usecase:") {
		t.Fatalf("token did not name the fix %q:\n%s", fix, r.stderr)
	}

	args := strings.Fields(fix)[1:]
	r = inProcess(ctx, desk, args...)
	want(t, r, ExitOK, "login --scope")
	if strings.TrimSpace(r.stdout) != key {
		t.Errorf("login --scope added account %q, want the same %q", r.stdout, key)
	}
	u, _ := url.Parse(logins[len(logins)-1])
	if sc := u.Query().Get("scope"); !strings.Contains(sc, later) || !strings.Contains(sc, e2eScope) {
		t.Errorf("login --scope asked for %q", sc)
	}
	r = inProcess(ctx, desk, "token", "--scope", later, "--account", key, "--force-refresh")
	want(t, r, ExitOK, "token for the newly consented scope, refreshed")
	r = inProcess(ctx, desk, "token", "--scope", e2eScope, "--account", key, "--force-refresh")
	want(t, r, ExitOK, "token for the old scope, refreshed")
}

// snapshotCache copies the token cache of home (its index and the data files it
// names) and returns a func that puts that copy back, as a user restoring a backup.
func snapshotCache(t *testing.T, home string) (restore func()) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(home, "cache.[di]*"))
	saved := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		saved[f] = b
	}
	if _, ok := saved[filepath.Join(home, storage.IndexFileName)]; !ok {
		t.Fatalf("no %s to snapshot", storage.IndexFileName)
	}
	return func() {
		t.Helper()
		for f, b := range saved {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}
