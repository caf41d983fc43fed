package identity

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/browser"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/loopback"
)

var interactiveScopes = []string{"email"}

func interactiveContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// background runs the browser side of a sign-in and collects its failures; the opener
// returns at once, as a real one does.
type background struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (b *background) run(f func() error) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := f(); err != nil {
			b.mu.Lock()
			b.errs = append(b.errs, err)
			b.mu.Unlock()
		}
	}()
}

func (b *background) check(t *testing.T) {
	t.Helper()
	b.wg.Wait()
	for _, err := range b.errs {
		t.Errorf("browser side: %v", err)
	}
}

// scriptedOpener signs in as username with the provider's scripted browser and
// delivers the redirect to the listener.
func scriptedOpener(p *testenv.OIDCProvider, bg *background, username string) InteractiveOption {
	return WithOpener(func(ctx context.Context, authURL string) error {
		bg.run(func() error { return p.LoginAndDeliver(ctx, authURL, username) })
		return nil
	})
}

// fetch requests u as a browser would (Host overridable) and returns status and body.
func fetch(ctx context.Context, method, u, host string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, "", err
	}
	if host != "" {
		req.Host = host
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func authQuery(t *testing.T, authURL string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func portFree(t *testing.T, redirectURI string) {
	t.Helper()
	u, err := url.Parse(redirectURI)
	if err != nil || u.Port() == "" {
		t.Fatalf("redirect URI %q has no port", redirectURI)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", u.Port()))
	if err != nil {
		t.Errorf("port of %s still taken: %v", redirectURI, err)
		return
	}
	ln.Close()
}

// TestInteractiveSignIn signs in through AcquireTokenInteractive with each kind of
// loopback redirect URI; the account is then cached and silent acquisition hits.
func TestInteractiveSignIn(t *testing.T) {
	p := testenv.Provider(t)
	freePort, _ := probeLoopback("")
	tests := []struct {
		name     string
		opts     []InteractiveOption
		wantHost string // host of the redirect_uri sent
		wantPath string
		v6       bool
	}{
		{"default localhost", nil, "localhost", "", false},
		{"127.0.0.1", []InteractiveOption{WithInteractiveRedirectURI("http://127.0.0.1/")}, "127.0.0.1", "/", false},
		{"localhost slash", []InteractiveOption{WithInteractiveRedirectURI("http://localhost/")}, "localhost", "/", false},
		{"ipv6", []InteractiveOption{WithInteractiveRedirectURI("http://[::1]/")}, "::1", "/", true},
		{"form_post", []InteractiveOption{WithInteractiveRedirectURI("http://127.0.0.1/"), WithInteractiveResponseMode("form_post")}, "127.0.0.1", "/", false},
		{"fixed port", []InteractiveOption{WithInteractiveRedirectURI("http://127.0.0.1/"), WithPort(freePort)}, "127.0.0.1", "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := probeLoopback("http://[::1]/"); tt.v6 && !ok {
				t.Skip("no IPv6 loopback here")
			}
			ctx := interactiveContext(t)
			c := newProviderPublicClient(t, p)
			var bg background
			var shown, opened string
			opts := append([]InteractiveOption{
				WithOnBeforeLaunchingUI(func(u string) { shown = u }),
				WithOpener(func(ctx context.Context, u string) error {
					opened = u
					bg.run(func() error { return p.LoginAndDeliver(ctx, u, "alice") })
					return nil
				}),
			}, tt.opts...)
			res, err := c.AcquireTokenInteractive(ctx, interactiveScopes, opts...)
			bg.check(t)
			if err != nil {
				t.Fatalf("AcquireTokenInteractive: %v", err)
			}
			if shown == "" || shown != opened {
				t.Error("on_before_launching_ui did not get the opened URL")
			}
			ru, _ := url.Parse(authQuery(t, opened).Get("redirect_uri"))
			if ru.Hostname() != tt.wantHost || ru.Path != tt.wantPath || ru.Port() == "" {
				t.Errorf("redirect_uri %s, want host %s path %q with a port", ru, tt.wantHost, tt.wantPath)
			}
			if res.AccessToken == "" || res.IDTokenClaims.StringClaim("sub") != "alice" || res.Source != SourceIdentityProvider {
				t.Fatalf("result: access token %v, sub %v, source %v", res.AccessToken != "", res.IDTokenClaims.StringClaim("sub"), res.Source)
			}
			portFree(t, ru.String())

			accounts, err := c.Accounts(ctx, "")
			if err != nil || accounts.Len() != 1 || accounts.At(0).HomeAccountID != res.Account.HomeAccountID {
				t.Fatalf("Accounts: %+v, %v (want the signed-in account)", accounts, err)
			}
			silent, err := c.AcquireTokenSilent(ctx, interactiveScopes, accounts.At(0))
			if err != nil {
				t.Fatalf("AcquireTokenSilent: %v", err)
			}
			if silent.Source != SourceCache || silent.AccessToken != res.AccessToken {
				t.Errorf("silent: source %v, same token %v", silent.Source, silent.AccessToken == res.AccessToken)
			}
		})
	}
}

// TestInteractiveAbort: the user cancels at the provider; the error is the provider's.
func TestInteractiveAbort(t *testing.T) {
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	c := newProviderPublicClient(t, p)
	var bg background
	page := make(chan string, 1)
	_, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
		WithInteractiveRedirectURI("http://127.0.0.1/"),
		WithOpener(func(ctx context.Context, u string) error {
			bg.run(func() error {
				redirect, err := p.Abort(ctx, u)
				if err != nil {
					return err
				}
				status, body, err := fetch(ctx, http.MethodGet, redirect.String(), "")
				if status != 200 {
					return errors.New("listener did not answer the error response with 200")
				}
				page <- body
				return err
			})
			return nil
		}))
	bg.check(t)
	var ierr *Error
	if !errors.As(err, &ierr) || ierr.Code != "access_denied" {
		t.Fatalf("err %v, want access_denied *Error", err)
	}
	if body := <-page; !strings.Contains(body, "Sign-in failed") || !strings.Contains(body, "access_denied") {
		t.Errorf("error page: %s", body)
	}
}

// recordingListener wraps the loopback listener to show that WithListener replaces it.
type recordingListener struct {
	*loopback.Listener
	asked string
	waits int
}

func (r *recordingListener) Wait(ctx context.Context, state string) (loopback.Response, error) {
	r.waits++
	return r.Listener.Wait(ctx, state)
}

func TestInteractiveWithListener(t *testing.T) {
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	c := newProviderPublicClient(t, p)
	var rec *recordingListener
	var bg background
	res, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
		WithInteractiveRedirectURI("http://127.0.0.1/"),
		WithListener(func(ctx context.Context, uri string) (RedirectListener, error) {
			l, err := loopback.Listen(ctx, uri)
			if err != nil {
				return nil, err
			}
			rec = &recordingListener{Listener: l, asked: uri}
			return rec, nil
		}),
		scriptedOpener(p, &bg, "alice"))
	bg.check(t)
	if err != nil || res.AccessToken == "" {
		t.Fatalf("AcquireTokenInteractive: %v", err)
	}
	if rec == nil || rec.asked != "http://127.0.0.1/" || rec.waits != 1 {
		t.Errorf("custom listener not used as expected: %+v", rec)
	}

	_, err = c.AcquireTokenInteractive(ctx, interactiveScopes,
		WithInteractiveRedirectURI("http://127.0.0.1:1/"), WithPort(2))
	if err == nil || !strings.Contains(err.Error(), "WithPort") {
		t.Errorf("contradicting ports accepted: %v", err)
	}
}

// TestInteractiveChromium signs in with a real headless Chromium as the browser: it
// opens the authorization URL, fills the provider's login form and submits it; the
// provider redirects Chromium to the loopback listener.
func TestInteractiveChromium(t *testing.T) {
	path := browser.Require(t)
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	chrome := browser.Start(t, path)
	c := newProviderPublicClient(t, p)
	res, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
		WithInteractiveRedirectURI("http://127.0.0.1/"),
		WithInteractiveTimeout(45*time.Second),
		WithOpener(chrome.LoginOpener("carol")))
	if berr := chrome.Err(); berr != nil {
		t.Errorf("chromium: %v", berr)
	}
	if err != nil {
		t.Fatalf("AcquireTokenInteractive: %v", err)
	}
	if res.AccessToken == "" || res.IDTokenClaims.StringClaim("sub") != "carol" {
		t.Fatalf("result: access token %v, sub %v", res.AccessToken != "", res.IDTokenClaims.StringClaim("sub"))
	}
	loc, text, err := chrome.Page()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, "http://127.0.0.1:") || !strings.Contains(text, "Sign-in complete") {
		t.Errorf("browser ended on %q showing %q", strings.SplitN(loc, "?", 2)[0], text)
	}
}

// probeLoopback binds uri with the package under test and lets go at once: it tells
// whether the address family exists here and yields a port that was just free.
func probeLoopback(uri string) (port int, ok bool) {
	l, err := loopback.Listen(context.Background(), uri)
	if err != nil {
		return 0, false
	}
	defer l.Close()
	return l.Addrs()[0].(*net.TCPAddr).Port, true
}
