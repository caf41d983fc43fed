package identity

import (
	"context"
	"errors"
	"html/template"
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

func TestBrowserCommand(t *testing.T) {
	found := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, x := range names {
				if x == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		env     browserEnv
		program string
		errLike string
	}{
		{"windows", browserEnv{goos: "windows", getenv: env(), lookPath: found()}, "", ""},
		{"darwin over ssh", browserEnv{goos: "darwin", getenv: env("SSH_TTY", "/dev/pts/1"), lookPath: found()}, "", ""},
		{"x11", browserEnv{goos: "linux", getenv: env("DISPLAY", ":0"), lookPath: found("xdg-open")}, "", ""},
		{"wayland", browserEnv{goos: "linux", getenv: env("WAYLAND_DISPLAY", "wayland-0"), lookPath: found("xdg-open")}, "", ""},
		{"display without xdg-open", browserEnv{goos: "linux", getenv: env("DISPLAY", ":0"), lookPath: found()}, "", "xdg-open"},
		{"headless", browserEnv{goos: "linux", getenv: env(), lookPath: found("xdg-open")}, "", "no display"},
		{"ssh", browserEnv{goos: "linux", getenv: env("SSH_CONNECTION", "1 2 3 4"), lookPath: found("xdg-open")}, "", "SSH"},
		{"ssh with X forwarding", browserEnv{goos: "linux", getenv: env("SSH_TTY", "x", "DISPLAY", "localhost:10"), lookPath: found("xdg-open")}, "", ""},
		{"wsl with wslview", browserEnv{goos: "linux", getenv: env(), lookPath: found("wslview"), osrelease: "5.15.0-microsoft-standard-WSL2"}, "wslview", ""},
		{"wsl bare", browserEnv{goos: "linux", getenv: env(), lookPath: found("xdg-open"), osrelease: "5.15.0-Microsoft-standard-WSL2"}, "", "WSL"},
		{"freebsd headless", browserEnv{goos: "freebsd", getenv: env(), lookPath: found("xdg-open")}, "", "no display"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			program, err := browserCommand(tt.env)
			if tt.errLike == "" {
				if err != nil || program != tt.program {
					t.Fatalf("got %q, %v; want %q", program, err, tt.program)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errLike) {
				t.Fatalf("err %v, want one mentioning %q", err, tt.errLike)
			}
		})
	}
}

func TestWithRedirectPort(t *testing.T) {
	tests := []struct {
		uri  string
		port int
		want string // "" = error
	}{
		{"http://localhost", 0, "http://localhost"},
		{"http://localhost", 8400, "http://localhost:8400"},
		{"http://127.0.0.1/", 8400, "http://127.0.0.1:8400/"},
		{"http://[::1]/cb", 8400, "http://[::1]:8400/cb"},
		{"http://127.0.0.1:8400/", 8400, "http://127.0.0.1:8400/"},
		{"http://127.0.0.1:8401/", 8400, ""},
	}
	for _, tt := range tests {
		got, err := withRedirectPort(tt.uri, tt.port)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("withRedirectPort(%q, %d) = %q, %v; want %q", tt.uri, tt.port, got, err, tt.want)
		}
	}
}

func TestBrowserErrorMatches(t *testing.T) {
	cause := errors.New("xdg-open: exit status 3")
	var err error = &BrowserError{URL: "http://127.0.0.1:1/auth?x", Err: cause}
	if !errors.Is(err, ErrBrowserUnavailable) || !errors.Is(err, cause) {
		t.Errorf("errors.Is fails: %v", err)
	}
	var be *BrowserError
	if !errors.As(err, &be) || be.URL == "" {
		t.Error("errors.As fails")
	}
	if strings.Contains(err.Error(), "auth?x") {
		t.Error("the URL is in the message")
	}
	if !errors.Is(&BrowserError{}, ErrBrowserUnavailable) || (&BrowserError{}).Error() == "" {
		t.Error("zero BrowserError")
	}
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

// TestInteractiveHostileRedirects: before the real redirect, a wrong state, a foreign
// Host and another path reach the listener; they are refused and the sign-in still
// succeeds. The success page is the caller's template.
func TestInteractiveHostileRedirects(t *testing.T) {
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	c := newProviderPublicClient(t, p)
	succ := template.Must(template.New("s").Parse(`<p>custom: all done</p>`))
	var bg background
	var replay string // set by the scripted browser before bg.check returns
	res, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
		WithInteractiveRedirectURI("http://127.0.0.1/"),
		WithSuccessTemplate(succ),
		WithOpener(func(ctx context.Context, u string) error {
			bg.run(func() error {
				redirect, err := p.Login(ctx, u, "alice")
				if err != nil {
					return err
				}
				wrong := *redirect
				q := wrong.Query()
				q.Set("state", "attacker-state")
				wrong.RawQuery = q.Encode()
				favicon := *redirect
				favicon.Path, favicon.RawQuery = "/favicon.ico", ""
				for _, h := range []struct {
					u, host string
					status  int
				}{
					{wrong.String(), "", 400},
					{redirect.String(), "attacker.example:" + redirect.Port(), 400},
					{favicon.String(), "", 404},
					{redirect.String(), "", 200},
				} {
					status, body, err := fetch(ctx, http.MethodGet, h.u, h.host)
					if err != nil {
						return err
					}
					if status != h.status {
						return errors.New("listener answered " + http.StatusText(status) + ", want " + http.StatusText(h.status))
					}
					if status == 200 && !strings.Contains(body, "custom: all done") {
						return errors.New("success page is not the custom template: " + body)
					}
				}
				// The sign-in is over. The listener may still be closing (it lets the
				// browser read its page first), so a replay racing that is answered
				// 503 or finds no listener; it is never accepted.
				if status, _, err := fetch(ctx, http.MethodGet, redirect.String(), ""); err == nil && status == http.StatusOK {
					return errors.New("replayed redirect was accepted")
				}
				replay = redirect.String()
				return nil
			})
			return nil
		}))
	bg.check(t)
	if err != nil || res.IDTokenClaims.StringClaim("sub") != "alice" {
		t.Fatalf("AcquireTokenInteractive: %v", err)
	}
	// Once AcquireTokenInteractive has returned, the port is closed: a replay finds
	// nothing to talk to.
	if replay == "" {
		t.Fatal("the scripted browser never reached the replay step")
	}
	if status, _, err := fetch(context.Background(), http.MethodGet, replay, ""); err == nil {
		t.Fatalf("a replay after the sign-in reached a listener (HTTP %d)", status)
	}
}

// TestInteractiveInjectedErrorDescription: an error response whose description holds
// markup is shown escaped (in the caller's error template) and returned verbatim.
func TestInteractiveInjectedErrorDescription(t *testing.T) {
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	c := newProviderPublicClient(t, p)
	const inject = `<script>alert(document.cookie)</script>`
	fail := template.Must(template.New("f").Parse(`<p>custom error {{.Error}}: {{.ErrorDescription}}</p>`))
	var bg background
	page := make(chan string, 1)
	_, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
		WithInteractiveRedirectURI("http://127.0.0.1/"),
		WithErrorTemplate(fail),
		WithOpener(func(ctx context.Context, u string) error {
			q := authQuery(t, u)
			resp := url.Values{
				"error":             {"server_error"},
				"error_description": {"boom " + inject},
				"state":             {q.Get("state")},
				"iss":               {p.Issuer},
			}
			bg.run(func() error {
				_, body, err := fetch(ctx, http.MethodGet, q.Get("redirect_uri")+"?"+resp.Encode(), "")
				page <- body
				return err
			})
			return nil
		}))
	bg.check(t)
	var ierr *Error
	if !errors.As(err, &ierr) || ierr.Code != "server_error" || ierr.Description != "boom "+inject {
		t.Fatalf("err %v, want server_error *Error with the description", err)
	}
	body := <-page
	if strings.Contains(body, "<script") || !strings.Contains(body, "custom error server_error: boom &lt;script&gt;") {
		t.Errorf("error page not escaped or not the custom template: %s", body)
	}
}

// TestInteractiveNoBrowser: with no display the default opener fails at once, and the
// error carries the URL that on_before_launching_ui saw; the port is freed.
func TestInteractiveNoBrowser(t *testing.T) {
	for _, k := range []string{"DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY"} {
		t.Setenv(k, "")
	}
	if _, err := browserCommand(systemBrowserEnv()); err == nil {
		t.Skip("this machine can open a browser without a display (WSL with wslview)")
	}
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	c := newProviderPublicClient(t, p)
	cause := errors.New("opener broke")
	tests := []struct {
		name  string
		opts  []InteractiveOption
		cause error
	}{
		{"no display", nil, nil},
		{"opener fails", []InteractiveOption{WithOpener(func(context.Context, string) error { return cause })}, cause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var shown string
			start := time.Now()
			_, err := c.AcquireTokenInteractive(ctx, interactiveScopes, append([]InteractiveOption{
				WithInteractiveRedirectURI("http://127.0.0.1/"),
				WithOnBeforeLaunchingUI(func(u string) { shown = u }),
			}, tt.opts...)...)
			var be *BrowserError
			if !errors.As(err, &be) || !errors.Is(err, ErrBrowserUnavailable) {
				t.Fatalf("err %v, want *BrowserError", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("cause lost: %v", err)
			}
			if be.URL == "" || be.URL != shown || !strings.HasPrefix(be.URL, p.Issuer) {
				t.Errorf("URL %q, shown %q", be.URL, shown)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v; must fail fast", d)
			}
			portFree(t, authQuery(t, be.URL).Get("redirect_uri"))
		})
	}
}

// TestInteractiveAuthParams: the MSAL options reach the authorization request.
func TestInteractiveAuthParams(t *testing.T) {
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	c := newProviderPublicClient(t, p)
	stop := errors.New("stop here")
	var got url.Values
	_, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
		WithInteractivePrompt(PromptSelectAccount),
		WithInteractiveLoginHint("alice@example.com"),
		WithInteractiveDomainHint("example.com"),
		WithInteractiveMaxAge(90*time.Second),
		WithInteractiveClaimsChallenge(`{"id_token":{"acr":{"essential":true}}}`),
		WithInteractiveResponseMode("form_post"),
		WithCallOptions(WithExtraQueryParameters(map[string]string{"ui_locales": "de"})),
		WithOpener(func(_ context.Context, u string) error { got = authQuery(t, u); return stop }),
	)
	if !errors.Is(err, stop) {
		t.Fatalf("err %v", err)
	}
	for k, want := range map[string]string{
		"prompt": "select_account", "login_hint": "alice@example.com", "domain_hint": "example.com",
		"max_age": "90", "response_mode": "form_post", "ui_locales": "de",
		"code_challenge_method": "S256",
	} {
		if got.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.Get(k), want)
		}
	}
	if !strings.Contains(got.Get("claims"), "acr") {
		t.Errorf("claims = %q", got.Get("claims"))
	}
}

// TestInteractiveEnds: a browser that never comes back ends with the timeout or the
// caller's cancel, and frees the port.
func TestInteractiveEnds(t *testing.T) {
	p := testenv.Provider(t)
	c := newProviderPublicClient(t, p)
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		opts []InteractiveOption
		want error
	}{
		{"timeout option", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			[]InteractiveOption{WithInteractiveTimeout(300 * time.Millisecond)}, context.DeadlineExceeded},
		{"ctx deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, nil, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			var redirect string
			_, err := c.AcquireTokenInteractive(ctx, interactiveScopes, append([]InteractiveOption{
				WithInteractiveRedirectURI("http://127.0.0.1/"),
				WithOpener(func(_ context.Context, u string) error {
					redirect = authQuery(t, u).Get("redirect_uri")
					return nil
				}),
			}, tt.opts...)...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			portFree(t, redirect)
		})
	}
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
			WithInteractiveRedirectURI("http://127.0.0.1/"),
			WithOpener(func(context.Context, string) error { time.AfterFunc(50*time.Millisecond, cancel); return nil }))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	})
}

// TestInteractiveConcurrent: two sign-ins at once listen on two ports and each gets
// its own user.
func TestInteractiveConcurrent(t *testing.T) {
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	users := []string{"alice", "bob"}
	results := make([]Result, len(users))
	errs := make([]error, len(users))
	redirects := make([]string, len(users))
	var bgs [2]background
	var wg sync.WaitGroup
	for i, user := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newProviderPublicClient(t, p)
			results[i], errs[i] = c.AcquireTokenInteractive(ctx, interactiveScopes,
				WithInteractiveRedirectURI("http://127.0.0.1/"),
				WithOpener(func(ctx context.Context, u string) error {
					redirects[i] = authQuery(t, u).Get("redirect_uri")
					bgs[i].run(func() error { return p.LoginAndDeliver(ctx, u, user) })
					return nil
				}))
		}()
	}
	wg.Wait()
	for i, user := range users {
		bgs[i].check(t)
		if errs[i] != nil || results[i].IDTokenClaims.StringClaim("sub") != user {
			t.Errorf("%s: %v, sub %v", user, errs[i], results[i].IDTokenClaims.StringClaim("sub"))
		}
	}
	if redirects[0] == redirects[1] {
		t.Errorf("both sign-ins on %s", redirects[0])
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

func benchClient(b *testing.B) (*testenv.OIDCProvider, context.Context, *PublicClient) {
	p := testenv.Provider(b)
	c, err := NewPublicClient(p.PublicClientID, WithOIDCAuthority(p.Issuer))
	if err != nil {
		b.Fatal(err)
	}
	return p, interactiveContext(b), c
}

// BenchmarkInteractiveSignIn is a whole scripted sign-in through AcquireTokenInteractive:
// listener, authorization at the provider, redirect, code redemption.
func BenchmarkInteractiveSignIn(b *testing.B) {
	p, ctx, c := benchClient(b)
	for b.Loop() {
		_, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
			WithInteractiveRedirectURI("http://127.0.0.1/"),
			WithOpener(func(ctx context.Context, u string) error {
				go func() { _ = p.LoginAndDeliver(ctx, u, "alice") }()
				return nil
			}))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProviderSignIn is the provider's share of BenchmarkInteractiveSignIn: the
// same auth code flow with the redirect taken from the scripted browser directly, no
// listener. The difference between the two is what the loopback path costs.
func BenchmarkProviderSignIn(b *testing.B) {
	p, ctx, c := benchClient(b)
	for b.Loop() {
		flow, err := c.InitiateAuthCodeFlow(ctx, interactiveScopes, WithRedirectURI("http://127.0.0.1:8400/"))
		if err != nil {
			b.Fatal(err)
		}
		redirect, err := p.Login(ctx, flow.AuthURI, "alice")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, redirect.Query()); err != nil {
			b.Fatal(err)
		}
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
