package identity

// AcquireTokenInteractive against its adversaries: hostile redirects, injected error
// text, no browser, an authority that never answers, many sign-ins at once.

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

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
