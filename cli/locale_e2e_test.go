package cli

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestBinaryQuietInEveryLocale runs the real binary in the locales of container images,
// CI and odd user settings: Fyne, which parses the locale before main runs, must print
// nothing; stderr carries only tokendesk's own lines.
func TestBinaryQuietInEveryLocale(t *testing.T) {
	bin := buildBinary(t)
	// A private home, as Tokendesk makes its own: t.TempDir's 0755 would rightly earn the
	// loose-directory notice, and this test wants stderr to hold nothing at all.
	home := t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	c := cliProc{t: t, bin: bin, home: home}
	ctx := e2eContext(t)
	for _, env := range [][]string{
		{"LANG=C.UTF-8"},
		{"LANG=C.utf8"},
		{"LANG=C"},
		{"LANG=POSIX.UTF-8"},
		{"LANG="},
		{"LANG=en_US.UTF-8", "LC_ALL=C.UTF-8"},
		{"LANG=en_US.UTF-8", "LC_MESSAGES=C.UTF-8"},
		{"LANG=de_DE@euro"},
		{"LANG=en_US.UTF-8", "LANGUAGE=sr_RS@latin:C.UTF-8:en"},
	} {
		// Unset the others so each case is only what it says.
		full := append([]string{"LC_ALL=", "LC_MESSAGES=", "LANGUAGE="}, env...)
		for _, args := range [][]string{{"version"}, {"profiles"}, {"help", "token"}} {
			r := c.run(ctx, full, args...)
			if r.code != ExitOK || r.stderr != "" {
				t.Errorf("%v tokendesk %s: exit %d, stderr:\n%s", env, strings.Join(args, " "), r.code, r.stderr)
			}
		}
		r := c.run(context.Background(), full, "tokne")
		if r.code != ExitUsage || strings.Contains(r.stderr, "Fyne") || !strings.HasPrefix(r.stderr, "tokendesk") {
			t.Errorf("%v unknown command: exit %d, stderr:\n%s", env, r.code, r.stderr)
		}
	}
}
