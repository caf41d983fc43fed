// Package browser drives a real headless Chromium in end-to-end tests, through
// github.com/chromedp/chromedp: an opener for identity.AcquireTokenInteractive that
// signs in at the test OpenID provider's login form as a user would.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// candidates are where Chromium is looked for, Debian's package first.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// Find returns the path of a Chromium binary. TOKENDESK_CHROMIUM overrides the search.
func Find() (string, error) {
	if p := os.Getenv("TOKENDESK_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium binary found (apt-get install chromium, or set TOKENDESK_CHROMIUM)")
}

// Require returns Chromium's path. It skips t only when TOKENDESK_SKIP_BROWSER=1 and CI
// is not "true"; a missing browser otherwise fails the test, so CI cannot pass by
// silently not running the browser test.
func Require(t testing.TB) string {
	t.Helper()
	if os.Getenv("TOKENDESK_SKIP_BROWSER") == "1" && os.Getenv("CI") != "true" {
		t.Skip("TOKENDESK_SKIP_BROWSER=1")
	}
	p, err := Find()
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return p
}

// Chromium is one headless Chromium process with its own throw-away profile.
type Chromium struct {
	ctx    context.Context // the browser's (first tab's) context
	cancel func()

	mu   sync.Mutex
	errs []error
	wg   sync.WaitGroup
}

// Start launches Chromium at path with the flags that make it quiet and self-contained
// on a headless machine, and a new temporary user-data-dir. It is stopped (and its
// goroutines awaited) in t.Cleanup.
func Start(t testing.TB, path string) *Chromium {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	// Launch now, so a broken browser fails here and not inside the sign-in.
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		t.Fatalf("browser: starting %s: %v", path, err)
	}
	c := &Chromium{ctx: bctx, cancel: func() { bcancel(); acancel() }}
	t.Cleanup(c.stop)
	return c
}

func (c *Chromium) stop() {
	c.cancel()
	c.wg.Wait()
}

// Err returns what went wrong in the background sign-ins so far.
func (c *Chromium) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

// LoginOpener returns an opener that navigates to the sign-in URL, fills the provider's
// login form (fields "login" and "password"; any password is accepted) as username and
// submits it; the provider then redirects the browser to the loopback listener. Like a
// real opener it returns once the page is loading; the sign-in goes on in the
// background, and its failure, if any, is reported by Err.
func (c *Chromium) LoginOpener(username string) func(ctx context.Context, authURL string) error {
	return c.FormLoginOpener(LoginForm{UserField: "login", PasswordField: "password", Username: username, Password: "any-password"})
}

// LoginForm says how to fill a provider's login page: the names of its username and
// password inputs, and what to type.
type LoginForm struct {
	UserField, PasswordField string
	Username, Password       string
}

// FormLoginOpener is LoginOpener for any provider's one-page login form (zitadel's
// example OP: "username" and "password").
func (c *Chromium) FormLoginOpener(f LoginForm) func(ctx context.Context, authURL string) error {
	user := chromedp.CSS(fmt.Sprintf(`input[name=%q]`, f.UserField))
	pass := chromedp.CSS(fmt.Sprintf(`input[name=%q]`, f.PasswordField))
	return func(ctx context.Context, authURL string) error {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			tctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
			defer cancel()
			err := chromedp.Do(tctx,
				chromedp.Navigate(authURL),
				chromedp.WaitVisible(user),
				chromedp.SetValue(user, f.Username),
				chromedp.SetValue(pass, f.Password),
				chromedp.Submit(user),
			)
			if err != nil {
				c.mu.Lock()
				c.errs = append(c.errs, fmt.Errorf("browser: sign-in as %s: %w", f.Username, err))
				c.mu.Unlock()
			}
		}()
		return nil
	}
}

// Page returns the URL and the body text of the browser's current page, as the user
// sees it at the end of a sign-in.
func (c *Chromium) Page() (location, text string, err error) {
	tctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if location, err = chromedp.Run(tctx, chromedp.Location()); err != nil {
		return "", "", err
	}
	text, err = chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	return location, text, err
}
