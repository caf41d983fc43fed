package identity

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/loopback"
)

// Limits of the HTTP client identity builds when WithHTTPClient is not given. Every
// wait is finite: a token endpoint that stalls, or drips its answer a byte at a time,
// must not hang a credential plugin (and kubectl behind it) for ever. WithTimeout
// replaces DefaultRequestTimeout; WithHTTPClient replaces them all. MSAL .NET waits
// 100 s per request; ours is shorter because a person or a kubectl call is waiting, and
// a token response is a few KiB.
const (
	// DefaultConnectTimeout bounds a TCP connect.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultTLSHandshakeTimeout bounds a TLS handshake.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for the response headers once the
	// request is sent.
	DefaultResponseHeaderTimeout = 30 * time.Second
	// DefaultRequestTimeout bounds a whole request: connect, send, headers and body.
	DefaultRequestTimeout = 60 * time.Second
)

// maxRedirects bounds the same-origin redirects a discovery GET follows.
const maxRedirects = 5

// ErrTimeout is matched (errors.Is) by a request that did not finish in time: the
// client's own limits (see DefaultRequestTimeout) or the caller's context deadline. The
// message names the endpoint, and so the host, that did not answer.
var ErrTimeout = errors.New("identity: timed out")

// ErrRedirectRefused is matched (errors.Is) when an authority answered with a redirect
// identity will not follow: any redirect of a request carrying credentials (the token
// and device-code endpoints' POSTs, which hold refresh tokens, codes and client
// secrets), and for other requests one to another origin or to plain http off loopback.
var ErrRedirectRefused = errors.New("identity: redirect refused")

// newDefaultHTTPClient builds identity's own client: a clone of the default transport
// (proxy from the environment, HTTP/2) with the limits above.
func newDefaultHTTPClient(cfg *config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: DefaultConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	tr.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	if cfg.tlsConfig != nil {
		tr.TLSClientConfig = cfg.tlsConfig.Clone()
	}
	if cfg.proxy != nil {
		tr.Proxy = cfg.proxy
	}
	timeout := cfg.timeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// withRedirectPolicy returns a shallow copy of c (sharing its transport and connection
// pool) whose redirects follow CheckRedirect. It applies to a caller's client too
// (WithHTTPClient): where credentials may go is not the HTTP client's decision.
func withRedirectPolicy(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = CheckRedirect
	return &cp
}

// redirectError is returned by CheckRedirect; send turns it into an *Error.
type redirectError struct {
	status   int
	from, to string
	why      string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("%v: the server answered %d, redirecting to %s; %s", ErrRedirectRefused, e.status, e.to, e.why)
}

func (e *redirectError) Unwrap() error { return ErrRedirectRefused }

// CheckRedirect is identity's redirect policy, an http.Client CheckRedirect: it never
// lets a request with a body (every POST identity sends carries a client id and a
// grant: refresh token, code, device code, client secret or assertion) be re-sent
// elsewhere, as a 307/308 would, and lets a GET (discovery) follow a few redirects
// within its origin over https, or over http on loopback only (test servers). Refusals
// match ErrRedirectRefused. Other clients that talk to authorities (an app's discovery
// or userinfo requests) can use it too.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	e := &redirectError{from: redactURL(first.URL.String()), to: redactURL(req.URL.String())}
	if req.Response != nil {
		e.status = req.Response.StatusCode
	}
	switch {
	case first.Method != http.MethodGet:
		e.why = "requests carrying credentials never follow redirects"
	case len(via) > maxRedirects:
		e.why = fmt.Sprintf("stopped after %d redirects", maxRedirects)
	case req.URL.Scheme != first.URL.Scheme || !strings.EqualFold(req.URL.Host, first.URL.Host):
		e.why = "only redirects within the same origin (scheme, host and port) are followed"
	case req.URL.Scheme == "https":
		return nil
	case req.URL.Scheme == "http" && loopback.IsHost(req.URL.Hostname()):
		return nil
	default:
		e.why = "only https redirects are followed"
	}
	return e
}

// isTimeout reports a request that ran out of time rather than failed: the caller's
// deadline, the client's Timeout (also while reading the body), or a transport limit.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// timeoutError explains a request that ran out of time, naming the host that did not
// answer: the one fact a user behind a proxy or VPN needs.
func timeoutError(method, endpoint string, status int, err error) *Error {
	host := endpoint
	if u, perr := url.Parse(endpoint); perr == nil && u.Host != "" {
		host = u.Host
	}
	return &Error{StatusCode: status, Err: fmt.Errorf("%s %s: %w: %s did not answer completely in time: %w",
		method, redactURL(endpoint), ErrTimeout, host, err)}
}
