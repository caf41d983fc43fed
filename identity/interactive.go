package identity

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/skratchdot/open-golang/open"

	"github.com/tokendesk/tokendesk/loopback"
)

// DefaultInteractiveRedirectURI is the redirect URI AcquireTokenInteractive listens on
// when none is given, as MSAL's public clients do: "localhost" on a free port, bound on
// both 127.0.0.1 and [::1].
const DefaultInteractiveRedirectURI = "http://localhost"

// RedirectListener receives the authorization response of one interactive sign-in.
// *loopback.Listener is the default; a UI or a test may supply its own through
// WithListener.
type RedirectListener interface {
	// RedirectURI is the exact redirect URI to send, port included.
	RedirectURI() string
	// Wait returns the first response whose state equals state; see loopback.Listener.Wait.
	Wait(ctx context.Context, state string) (loopback.Response, error)
	// Close frees the listener; it is called however the sign-in ends.
	Close() error
}

// ListenerFactory starts a RedirectListener for redirectURI (possibly without a port,
// meaning any free one).
type ListenerFactory func(ctx context.Context, redirectURI string) (RedirectListener, error)

// InteractiveOption tunes AcquireTokenInteractive (MSAL Python's keyword arguments of
// acquire_token_interactive).
type InteractiveOption func(*interactiveConfig)

type interactiveConfig struct {
	call     []CallOption
	port     int
	timeout  time.Duration
	pages    []loopback.Option
	onBefore func(authURL string)
	opener   func(ctx context.Context, authURL string) error
	listen   ListenerFactory
}

// WithCallOptions passes CallOptions to the underlying auth code flow: any of those
// InitiateAuthCodeFlow reads (WithExtraQueryParameters, WithRequestAuthority, ...).
// The WithInteractive* options below are shorthands for the common ones.
func WithCallOptions(opts ...CallOption) InteractiveOption {
	return func(c *interactiveConfig) { c.call = append(c.call, opts...) }
}

// WithInteractivePrompt sets prompt (PromptLogin, PromptSelectAccount, ...).
func WithInteractivePrompt(prompt string) InteractiveOption {
	return WithCallOptions(WithPrompt(prompt))
}

// WithInteractiveLoginHint pre-fills the username at the sign-in page.
func WithInteractiveLoginHint(hint string) InteractiveOption {
	return WithCallOptions(WithLoginHint(hint))
}

// WithInteractiveDomainHint skips home realm discovery (MSAL: domain_hint).
func WithInteractiveDomainHint(hint string) InteractiveOption {
	return WithCallOptions(WithDomainHint(hint))
}

// WithInteractiveClaimsChallenge passes a resource's claims challenge.
func WithInteractiveClaimsChallenge(claims string) InteractiveOption {
	return WithCallOptions(WithClaimsChallenge(claims))
}

// WithInteractiveMaxAge sets max_age; the ID token's auth_time is checked against it.
func WithInteractiveMaxAge(d time.Duration) InteractiveOption {
	return WithCallOptions(WithMaxAge(d))
}

// WithInteractiveRedirectURI sets the loopback redirect URI to listen on (default
// DefaultInteractiveRedirectURI). Without a port, a free one is chosen; with a port
// or path, they are used exactly as given (see loopback.Listen).
func WithInteractiveRedirectURI(uri string) InteractiveOption {
	return WithCallOptions(WithRedirectURI(uri))
}

// WithInteractiveResponseMode sets response_mode: "form_post" has the browser POST the
// response instead of carrying the code in the URL (and so in its history).
func WithInteractiveResponseMode(mode string) InteractiveOption {
	return WithCallOptions(WithResponseMode(mode))
}

// WithPort listens on this port when the redirect URI has none (MSAL: port=).
func WithPort(port int) InteractiveOption { return func(c *interactiveConfig) { c.port = port } }

// WithInteractiveTimeout bounds the whole sign-in, the user's time in the browser
// included (MSAL: timeout=). By default only ctx bounds it.
func WithInteractiveTimeout(d time.Duration) InteractiveOption {
	return func(c *interactiveConfig) { c.timeout = d }
}

// WithSuccessTemplate replaces the page the browser shows after the redirect (MSAL:
// success_template). It has no effect with WithListener.
func WithSuccessTemplate(t *template.Template) InteractiveOption {
	return func(c *interactiveConfig) { c.pages = append(c.pages, loopback.WithSuccessTemplate(t)) }
}

// WithErrorTemplate replaces the page shown when the authority answered an error (MSAL:
// error_template), executed with a loopback.PageData. It has no effect with WithListener.
func WithErrorTemplate(t *template.Template) InteractiveOption {
	return func(c *interactiveConfig) { c.pages = append(c.pages, loopback.WithErrorTemplate(t)) }
}

// WithOnBeforeLaunchingUI is called with the sign-in URL just before the browser is
// opened (MSAL: on_before_launching_ui), so a UI can show or copy it.
func WithOnBeforeLaunchingUI(f func(authURL string)) InteractiveOption {
	return func(c *interactiveConfig) { c.onBefore = f }
}

// WithOpener replaces the system browser: open is called with the sign-in URL while
// the redirect is already being waited for, so it may return at once or block (as a
// launcher that runs the browser in the foreground does). An error before the redirect
// arrives ends the sign-in with a *BrowserError; once it has arrived, the opener is no
// longer awaited.
func WithOpener(open func(ctx context.Context, authURL string) error) InteractiveOption {
	return func(c *interactiveConfig) {
		if open != nil {
			c.opener = open
		}
	}
}

// WithListener replaces the loopback listener.
func WithListener(f ListenerFactory) InteractiveOption {
	return func(c *interactiveConfig) {
		if f != nil {
			c.listen = f
		}
	}
}

// BrowserError is returned by AcquireTokenInteractive when the browser could not be
// opened. It matches ErrBrowserUnavailable; URL is the sign-in URL, for the UI to show
// or copy (or to offer the device code flow instead).
type BrowserError struct {
	// URL is the authorization request the browser should have opened.
	URL string
	// Err is why it could not be opened.
	Err error
}

// Error leaves the URL out: it is long and belongs in the UI, not in a log line.
func (e *BrowserError) Error() string {
	if e.Err == nil {
		return ErrBrowserUnavailable.Error()
	}
	return ErrBrowserUnavailable.Error() + ": " + e.Err.Error()
}

// Unwrap makes errors.Is match ErrBrowserUnavailable and the cause.
func (e *BrowserError) Unwrap() []error { return []error{ErrBrowserUnavailable, e.Err} }

// AcquireTokenInteractive signs a user in through the system browser (MSAL:
// acquire_token_interactive): it listens on a loopback redirect URI (RFC 8252), opens
// the authorization request, waits for the redirect and redeems the code with
// InitiateAuthCodeFlow and AcquireTokenByAuthCodeFlow, so PKCE, state, nonce and the
// RFC 9207 iss check all apply. The tokens land in the cache.
//
// When no browser can be opened (no display, an SSH session, WSL without a browser
// bridge, or the opener failing), it returns a *BrowserError at once. A user who
// cancels at the authority yields its *Error (Code "access_denied"); ctx ending or the
// timeout passing yields an error wrapping the context's.
func (p *PublicClient) AcquireTokenInteractive(ctx context.Context, scopes []string, opts ...InteractiveOption) (Result, error) {
	cfg := interactiveConfig{opener: openSystemBrowser}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.listen == nil {
		// The listener logs through the client's logger, so one WithLogger shows the
		// whole sign-in (it never logs the code or state).
		lopts := append([]loopback.Option{loopback.WithLogger(p.log)}, cfg.pages...)
		cfg.listen = func(ctx context.Context, uri string) (RedirectListener, error) {
			return loopback.Listen(ctx, uri, lopts...)
		}
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	redirect := applyCallOptions(cfg.call).redirectURI
	if redirect == "" {
		redirect = DefaultInteractiveRedirectURI
	}
	redirect, err := withRedirectPort(redirect, cfg.port)
	if err != nil {
		return Result{}, err
	}

	l, err := cfg.listen(ctx, redirect)
	if err != nil {
		return Result{}, localError(err, "cannot listen on redirect URI %s", redirect)
	}
	defer l.Close()

	call := append(cfg.call[:len(cfg.call):len(cfg.call)], WithRedirectURI(l.RedirectURI()))
	flow, err := p.InitiateAuthCodeFlow(ctx, scopes, call...)
	if err != nil {
		return Result{}, err
	}
	flow.apiID = APIAcquireTokenInteractive
	if cfg.onBefore != nil {
		cfg.onBefore(flow.AuthURI)
	}
	resp, err := waitWhileOpening(ctx, l, flow, cfg.opener)
	if err != nil {
		return Result{}, err
	}
	return p.AcquireTokenByAuthCodeFlow(ctx, flow, resp.Values, cfg.call...)
}

// waitWhileOpening waits for the redirect while the opener runs, neither waiting for
// the other: a launcher may stay in the foreground until the browser exits (xdg-open
// in generic mode does), and the redirect must be answered meanwhile. An opener error
// before the redirect ends the sign-in with a *BrowserError; once the redirect is in,
// the opener is no longer awaited.
func waitWhileOpening(ctx context.Context, l RedirectListener, flow *AuthCodeFlow, opener func(context.Context, string) error) (loopback.Response, error) {
	type waited struct {
		resp loopback.Response
		err  error
	}
	got := make(chan waited, 1)
	go func() {
		// ctx itself, not a child: when ctx ends, the Listen context may close the
		// listener before a child would see the end, and Wait must report ctx's cause.
		r, err := l.Wait(ctx, flow.State)
		got <- waited{r, err}
	}()
	// The opener gets ctx itself: a browser that delivered the redirect may still be
	// reading its page when the sign-in returns.
	opened := make(chan error, 1)
	go func() { opened <- opener(ctx, flow.AuthURI) }()
	for {
		select {
		case err := <-opened:
			opened = nil
			if err == nil {
				continue
			}
			select {
			case w := <-got:
				if w.err == nil {
					return w.resp, nil // the browser delivered, then its opener failed
				}
			default:
			}
			_ = l.Close() // ends Wait
			<-got
			return loopback.Response{}, &BrowserError{URL: flow.AuthURI, Err: err}
		case w := <-got:
			if w.err != nil {
				return loopback.Response{}, fmt.Errorf("identity: no response from the browser: %w", w.err)
			}
			return w.resp, nil
		}
	}
}

// withRedirectPort puts port into uri when uri has none; a different explicit port is
// a contradiction the caller must resolve.
func withRedirectPort(uri string, port int) (string, error) {
	if port == 0 {
		return uri, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", localError(err, "bad redirect URI %q", uri)
	}
	want := strconv.Itoa(port)
	switch u.Port() {
	case "":
		u.Host = net.JoinHostPort(u.Hostname(), want)
		return u.String(), nil
	case want:
		return uri, nil
	}
	return "", localError(nil, "redirect URI %q has port %s, but WithPort asks for %d", uri, u.Port(), port)
}

// browserEnv is what decides whether a browser can be opened; tests fill it in.
type browserEnv struct {
	goos      string
	getenv    func(string) string
	lookPath  func(string) (string, error)
	osrelease string // /proc/sys/kernel/osrelease, "microsoft" in it on WSL
}

func systemBrowserEnv() browserEnv {
	rel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return browserEnv{goos: runtime.GOOS, getenv: os.Getenv, lookPath: exec.LookPath, osrelease: string(rel)}
}

// browserCommand says how to open a URL in env: a program to run with the URL ("" for
// open-golang's default), or why no browser can be opened. It only looks, so the
// common failures (headless server, SSH, WSL without a bridge) are reported at once
// instead of after a launcher times out.
func browserCommand(env browserEnv) (program string, err error) {
	switch env.goos {
	case "windows", "darwin", "ios", "android", "js", "wasip1", "plan9":
		return "", nil
	}
	display := env.getenv("DISPLAY") != "" || env.getenv("WAYLAND_DISPLAY") != ""
	wsl := strings.Contains(strings.ToLower(env.osrelease), "microsoft")
	if wsl {
		if _, err := env.lookPath("wslview"); err == nil {
			return "wslview", nil // wslu hands the URL to the Windows browser
		}
	}
	if !display {
		switch {
		case wsl:
			return "", errors.New("WSL without wslview (wslu) or a display")
		case env.getenv("SSH_CONNECTION") != "" || env.getenv("SSH_TTY") != "":
			return "", errors.New("SSH session without a display")
		default:
			return "", errors.New("no display (DISPLAY and WAYLAND_DISPLAY are unset)")
		}
	}
	if _, err := env.lookPath("xdg-open"); err != nil {
		return "", errors.New("xdg-open is not installed")
	}
	return "", nil
}

// launcherGrace is how long the default opener watches a launcher for an early
// failure (xdg-open exits 3 or 4 at once when it finds no browser). A launcher still
// running after it is taken to be a browser in the foreground: it is left running and
// reaped whenever it exits.
var launcherGrace = 3 * time.Second

// openSystemBrowser is the default opener: it starts xdg-open (or wslview, or open on
// macOS) with the URL and never waits for it to finish. xdg-open in generic mode (i3,
// sway, $BROWSER, minimal sessions) runs the browser in the foreground and returns only
// when it exits; waiting for it would hold the sign-in until the user closes the
// browser. The launcher is not tied to ctx: ending a sign-in must not kill the user's
// browser.
func openSystemBrowser(ctx context.Context, authURL string) error {
	program, err := browserCommand(systemBrowserEnv())
	if err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		// rundll32 returns at once; Windows has no zombies to reap.
		return open.Start(authURL)
	}
	cmd := launcherCommand(runtime.GOOS, program, authURL)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the launcher whenever it exits
	t := time.NewTimer(launcherGrace)
	defer t.Stop()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
		}
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return nil
	}
}

// launcherCommand is the command that opens url: program when browserCommand named
// one, else the platform's URL opener.
func launcherCommand(goos, program, url string) *exec.Cmd {
	switch {
	case program != "":
		return exec.Command(program, url)
	case goos == "darwin" || goos == "ios":
		return exec.Command("open", url)
	default:
		return exec.Command("xdg-open", url)
	}
}
