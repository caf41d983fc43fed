package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/storage"
)

// TestEndToEndBinaryStorageTrouble: what storage had to do on its own, or why it could
// not open, reaches a script's user on stderr (never stdout, which carries tokens).
func TestEndToEndBinaryStorageTrouble(t *testing.T) {
	bin := buildBinary(t)
	p := testenv.Provider(t)
	testenv.RequireKeyring(t)
	ctx := e2eContext(t)

	// A damaged cache is moved aside, a fresh one starts, and the user is told.
	home := t.TempDir()
	writeConfig(t, home, p)
	if err := os.WriteFile(filepath.Join(home, storage.IndexFileName), []byte("not a Tokendesk cache"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cliProc{t: t, bin: bin, home: home}.run(ctx, nil, "accounts")
	if r.code != ExitOK && r.code != ExitNotFound { // an empty cache: nobody signed in
		t.Fatalf("accounts over a damaged cache: %v", r)
	}
	aside, _ := filepath.Glob(filepath.Join(home, storage.IndexFileName+".corrupt-*"))
	if len(aside) != 1 {
		t.Fatalf("the damaged cache was not moved aside (found %v)", aside)
	}
	if !strings.Contains(r.stderr, "could not be read") || !strings.Contains(r.stderr, filepath.Base(aside[0])) {
		t.Errorf("stderr does not tell the user about the moved cache:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout, "could not be read") {
		t.Error("the notice went to stdout")
	}

	// A broken config.json: the CLI says what is wrong with it, not just that it failed.
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, storage.ConfigFileName), []byte(`{"profiles": [{"name": 1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cliProc{t: t, bin: bin, home: broken}.run(ctx, nil, "accounts")
	if r.code == ExitOK || !strings.Contains(r.stderr, "config.json") || !strings.Contains(r.stderr, "name") {
		t.Errorf("a broken config.json: exit %d, stderr %q; want a failure naming the file and the field", r.code, r.stderr)
	}
}
