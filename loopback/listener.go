package loopback

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// DefaultRedirectURI is used when Listen is given an empty redirect URI: the IPv4
// loopback literal, which RFC 8252 §8.3 prefers to "localhost", on a free port.
const DefaultRedirectURI = "http://127.0.0.1/"

// ErrClosed is returned by Wait when the listener was closed before a redirect arrived.
var ErrClosed = errors.New("loopback: listener closed")

// maxHeaderBytes bounds the request line plus headers; a query over MaxQueryBytes but
// under this is answered 414, anything larger 431 by net/http itself.
const maxHeaderBytes = 64 << 10

// Listener receives one authorization response on a loopback redirect URI
// (RFC 8252 §7.3). Create it with Listen, send RedirectURI to the authority, open the
// browser, then call Wait. It serves only until the first valid redirect.
type Listener struct {
	cfg         config
	redirectURI string
	path        string   // the only path served
	hosts       []string // accepted Host headers, lower-case
	srv         *http.Server
	lns         []net.Listener
	serving     sync.WaitGroup

	// The handler judges a redirect itself, against the state Wait declared, and hands
	// the one it accepts to Wait through a buffered channel: it never waits for the
	// app, so the browser gets its page at once whatever the app is doing.
	state     string        // expected state; written once before stateSet closes
	stateSet  chan struct{} // closed by Wait when state is known
	accepted  atomic.Bool   // the first matching redirect won
	result    chan Response // capacity 1: the accepted response
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	mu        sync.Mutex  // guards stopAfter, which the Listen context may race to use
	stopAfter func() bool // detaches the Listen context
	waiting   atomic.Bool
}

// Listen binds the loopback redirect URI and starts serving it.
//
// redirectURI must be http:// on 127.0.0.1, [::1] or localhost; "" means
// DefaultRedirectURI. Without a port (or with port 0) a free port is chosen. With a
// fixed port, the URI is used exactly as given, and if the port is busy the ports of
// WithFallbackPorts are tried in order. The path is kept as given and is the only one
// served ("/" when empty). For "localhost" the listener binds 127.0.0.1 and [::1] on
// the same port, so the browser may resolve the name either way; where IPv6 is not
// available it binds 127.0.0.1 alone.
//
// When ctx ends, the listener closes (so does Wait). Close it when done in any case.
func Listen(ctx context.Context, redirectURI string, opts ...Option) (*Listener, error) {
	if redirectURI == "" {
		redirectURI = DefaultRedirectURI
	}
	u, err := parseRedirectURI(redirectURI)
	if err != nil {
		return nil, fmt.Errorf("loopback: %w", err)
	}
	cfg := newConfig(opts)

	var ips []string
	switch strings.ToLower(u.Hostname()) {
	case "127.0.0.1":
		ips = []string{"127.0.0.1"}
	case "::1":
		ips = []string{"::1"}
	case "localhost":
		ips = []string{"127.0.0.1", "::1"}
	}
	port := 0
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p) // parseRedirectURI checked it
	}
	candidates := []int{port}
	if port != 0 {
		candidates = append(candidates, cfg.fallbackPorts...)
	}
	var lns []net.Listener
	var bindErr error
	for _, p := range candidates {
		lns, bindErr = bindAll(ctx, new(net.ListenConfig).Listen, ips, p)
		if bindErr == nil || !errors.Is(bindErr, syscall.EADDRINUSE) {
			break
		}
	}
	if bindErr != nil {
		return nil, fmt.Errorf("loopback: cannot listen for %s: %w", redirectURI, bindErr)
	}

	bound := strconv.Itoa(lns[0].Addr().(*net.TCPAddr).Port)
	hostport := net.JoinHostPort(u.Hostname(), bound)
	served := url.URL{Scheme: "http", Host: hostport, Path: u.Path, RawPath: u.RawPath}
	l := &Listener{
		cfg:         cfg,
		redirectURI: served.String(),
		path:        u.Path,
		hosts:       []string{strings.ToLower(hostport)},
		lns:         lns,
		stateSet:    make(chan struct{}),
		result:      make(chan Response, 1),
		done:        make(chan struct{}),
	}
	if l.path == "" {
		l.path = "/"
	}
	if bound == "80" {
		// Browsers leave the default port out of Host.
		l.hosts = append(l.hosts, strings.ToLower(u.Hostname()))
	}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(l.serve),
		ReadHeaderTimeout: cfg.readTimeout,
		ReadTimeout:       cfg.readTimeout,
		IdleTimeout:       cfg.readTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// net/http's own log lines may quote a request; keep them out of stderr.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	for _, ln := range lns {
		l.serving.Add(1)
		go func() {
			defer l.serving.Done()
			_ = l.srv.Serve(ln) // returns http.ErrServerClosed on Close
		}()
	}
	l.mu.Lock()
	l.stopAfter = context.AfterFunc(ctx, func() { _ = l.Close() })
	l.mu.Unlock()
	return l, nil
}

// bindAll listens on every ip on one port: port, or a free one chosen for the first ip
// when port is 0. A second address that is unavailable (no IPv6) is skipped; one that
// is busy makes the whole attempt busy, or with a free port, retried on another.
// listen is net.ListenConfig.Listen, a parameter so tests can make addresses fail.
func bindAll(ctx context.Context, listen listenFunc, ips []string, port int) ([]net.Listener, error) {
	const attempts = 8
	for range attempts {
		first, err := listen(ctx, "tcp", net.JoinHostPort(ips[0], strconv.Itoa(port)))
		if err != nil {
			return nil, err
		}
		lns := []net.Listener{first}
		actual := first.Addr().(*net.TCPAddr).Port
		var busy error
		for _, ip := range ips[1:] {
			ln, err := listen(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(actual)))
			switch {
			case err == nil:
				lns = append(lns, ln)
			case errors.Is(err, syscall.EADDRINUSE):
				busy = err
			default:
				// This address family is unavailable here; the other one serves alone.
			}
			if busy != nil {
				break
			}
		}
		if busy == nil {
			return lns, nil
		}
		for _, ln := range lns {
			_ = ln.Close()
		}
		if port != 0 {
			return nil, busy
		}
	}
	return nil, fmt.Errorf("no port free on all of %v: %w", ips, syscall.EADDRINUSE)
}

type listenFunc func(ctx context.Context, network, address string) (net.Listener, error)

// RedirectURI is the exact redirect URI to send to the authority, with the bound port.
func (l *Listener) RedirectURI() string { return l.redirectURI }

// Addrs are the addresses the listener is bound to.
func (l *Listener) Addrs() []net.Addr {
	out := make([]net.Addr, len(l.lns))
	for i, ln := range l.lns {
		out[i] = ln.Addr()
	}
	return out
}

// Wait blocks until the browser delivers an authorization response whose state equals
// expectState, then returns it and closes the listener. A response with the wrong state
// is answered 400 and the wait goes on, so a page that guesses at the port cannot end
// the sign-in. An error response from the authority (Response.Error set) is a result,
// not an error: err is only for ctx ending (the context's error, wrapped) or the
// listener closing (ErrClosed). Wait may be called once.
//
// A redirect that arrives before Wait is called is held until Wait says which state
// to expect; from then on every redirect is answered at once, whether or not the caller
// is still inside Wait. Call Wait (in a goroutine) before opening the browser.
func (l *Listener) Wait(ctx context.Context, expectState string) (Response, error) {
	if !l.waiting.CompareAndSwap(false, true) {
		return Response{}, errors.New("loopback: Wait called twice")
	}
	defer l.Close()
	l.state = expectState
	close(l.stateSet)
	select {
	case resp := <-l.result:
		return resp, nil
	case <-ctx.Done():
		return Response{}, fmt.Errorf("loopback: no redirect received: %w", context.Cause(ctx))
	case <-l.done:
		select {
		case resp := <-l.result:
			return resp, nil // accepted just before the close
		default:
		}
		if ctx.Err() != nil {
			// Both ended; the caller's context is the cause worth reporting, since
			// a shared Listen context may have closed the listener a moment before.
			return Response{}, fmt.Errorf("loopback: no redirect received: %w", context.Cause(ctx))
		}
		return Response{}, ErrClosed
	}
}

// Close stops serving and frees the port. It is safe to call more than once and from
// any goroutine; it returns after the server's goroutines have ended.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.mu.Lock()
		stop := l.stopAfter
		l.mu.Unlock()
		if stop != nil {
			stop()
		}
		_ = l.srv.Close()
		l.serving.Wait()
	})
	return nil
}

// serve answers one request. Everything that is not a well-formed redirect for this
// listener is answered and otherwise ignored; only Wait decides what ends the wait.
func (l *Listener) serve(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if !l.hostAllowed(r.Host) {
		// A foreign Host means a page on another origin (DNS rebinding) or a confused client.
		l.reject(w, r, http.StatusBadRequest, "unexpected Host header")
		return
	}
	if r.URL.Path != l.path {
		l.reject(w, r, http.StatusNotFound, "not the redirect path")
		return
	}
	var raw string
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > MaxQueryBytes {
			l.reject(w, r, http.StatusRequestURITooLong, "query too large")
			return
		}
		raw = r.URL.RawQuery
	case http.MethodPost:
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" {
			l.reject(w, r, http.StatusUnsupportedMediaType, "form_post body is not form-urlencoded")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxQueryBytes))
		if err != nil {
			l.reject(w, r, http.StatusRequestEntityTooLarge, "form body too large or unreadable")
			return
		}
		raw = string(body)
	default:
		w.Header().Set("Allow", "GET, POST")
		l.reject(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	resp, err := parseRedirect(raw)
	if err != nil {
		l.reject(w, r, http.StatusBadRequest, "not an authorization response")
		return
	}

	// Until Wait names the state, hold the request (a browser faster than the app).
	select {
	case <-l.stateSet:
	default:
		select {
		case <-l.stateSet:
		case <-l.done:
			l.reject(w, r, http.StatusServiceUnavailable, "listener closed")
			return
		case <-r.Context().Done():
			return
		}
	}
	if subtle.ConstantTimeCompare([]byte(resp.State), []byte(l.state)) != 1 {
		l.reject(w, r, http.StatusBadRequest, "state does not match")
		return
	}
	if !l.accepted.CompareAndSwap(false, true) {
		l.reject(w, r, http.StatusConflict, "a response was received already")
		return
	}
	// The page is written before Wait learns of the response, so the browser has it
	// before the server closes.
	defer func() { l.result <- resp }()
	w.Header().Set("Connection", "close")
	l.cfg.logger.Debug("loopback: redirect received", "method", r.Method, "error", resp.Error)
	if resp.Error != "" {
		writePage(w, http.StatusOK, l.cfg.failure, PageData{
			Error:            resp.Error,
			ErrorDescription: resp.ErrorDescription,
			ErrorURI:         resp.ErrorURI,
		})
	} else {
		writePage(w, http.StatusOK, l.cfg.success, PageData{})
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (l *Listener) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	for _, h := range l.hosts {
		if host == h {
			return true
		}
	}
	return false
}

// reject answers a request that does not end the wait. The body never echoes input.
func (l *Listener) reject(w http.ResponseWriter, r *http.Request, status int, reason string) {
	path := r.URL.Path
	if len(path) > 64 {
		path = path[:64] + "…"
	}
	l.cfg.logger.Debug("loopback: request rejected", "method", r.Method, "path", path, "status", status, "reason", reason)
	http.Error(w, "loopback: "+reason, status)
}
