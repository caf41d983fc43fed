package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ForegroundLauncher is a stand-in xdg-open that behaves like xdg-open in generic mode
// (i3, sway, $BROWSER, minimal sessions): it runs "the browser" in the foreground and
// exits only when the browser is done. Here the browser is the scripted one: the
// stand-in hands its URL to the test process, which signs in with Login and delivers
// the redirect, and the stand-in exits only after that delivery was answered. An app
// that waits for its launcher before it serves the redirect hangs on it, as it would
// for a real user.
type ForegroundLauncher struct {
	// Dir holds the stand-in "xdg-open"; put it first on PATH.
	Dir string

	p        *OIDCProvider
	username string
	logins   chan error
	stop     chan struct{}
	wg       sync.WaitGroup
}

// launcherScript is the stand-in xdg-open. It gives up after two minutes so a test
// that fails never leaves it running.
const launcherScript = `#!/bin/sh
# Stand-in xdg-open (internal/testenv): hands the URL over and stays in the
# foreground until the test's scripted browser has delivered the redirect.
d=%q
printf '%%s\n' "$1" > "$d/url.$$.tmp" && mv "$d/url.$$.tmp" "$d/url.$$"
i=0
while [ ! -e "$d/done.$$" ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done
exit 0
`

// NewForegroundLauncher writes the stand-in xdg-open into a temporary directory and
// starts watching it: every URL it is started with is signed in as username at p and
// delivered, after which that stand-in exits. Logins reports each sign-in's result.
// Nothing is put on PATH: tests do that (t.Setenv, or a child's environment) with
// Dir, and set DISPLAY so a browser is deemed openable.
func (p *OIDCProvider) NewForegroundLauncher(t testing.TB, username string) *ForegroundLauncher {
	t.Helper()
	l := &ForegroundLauncher{Dir: t.TempDir(), p: p, username: username,
		logins: make(chan error, 16), stop: make(chan struct{})}
	script := fmt.Sprintf(launcherScript, l.Dir)
	if err := os.WriteFile(filepath.Join(l.Dir, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	l.wg.Add(1)
	go l.watch()
	t.Cleanup(func() {
		close(l.stop)
		l.wg.Wait()
	})
	return l
}

// PathEnv is the PATH value with Dir first.
func (l *ForegroundLauncher) PathEnv() string {
	return l.Dir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// Logins delivers the result of each sign-in the stand-in was started for.
func (l *ForegroundLauncher) Logins() <-chan error { return l.logins }

// watch polls Dir for URLs the stand-in handed over.
func (l *ForegroundLauncher) watch() {
	defer l.wg.Done()
	seen := map[string]bool{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			// Release any stand-in still waiting, so none outlives the test.
			for name := range seen {
				_ = os.WriteFile(filepath.Join(l.Dir, "done."+name), nil, 0o600)
			}
			return
		case <-tick.C:
		}
		entries, _ := os.ReadDir(l.Dir)
		for _, e := range entries {
			pid, ok := strings.CutPrefix(e.Name(), "url.")
			if !ok || strings.HasSuffix(pid, ".tmp") || seen[pid] {
				continue
			}
			seen[pid] = true
			raw, err := os.ReadFile(filepath.Join(l.Dir, e.Name()))
			if err != nil {
				l.logins <- err
				continue
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				go func() {
					select {
					case <-l.stop:
						cancel()
					case <-ctx.Done():
					}
				}()
				err := l.p.LoginAndDeliver(ctx, strings.TrimSpace(string(raw)), l.username)
				// Only now does the "browser" exit, and with it the stand-in launcher.
				_ = os.WriteFile(filepath.Join(l.Dir, "done."+pid), nil, 0o600)
				select {
				case l.logins <- err:
				default:
				}
			}()
		}
	}
}
