package identity

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Library identity sent in the x-client-* headers, as MSAL sends "MSAL.Python".
const (
	clientSKU     = "Tokendesk.Go"
	clientVersion = "0.1.0"
)

// maxResponseBytes bounds every response body we read: a token response is a few KiB,
// a discovery document a few more. A hostile or broken server cannot make us buffer more.
const maxResponseBytes = 1 << 20

// Throttling windows, as MSAL Python's throttled_http_client.
const (
	throttleDefault   = 60 * time.Second // 429/5xx without a Retry-After
	throttle400       = 60 * time.Second // identical 400 answered from memory
	discoveryCacheTTL = 24 * time.Hour   // discovery and instance discovery GETs
	deviceCodeGrant   = "urn:ietf:params:oauth:grant-type:device_code"
	defaultIMDS       = "http://169.254.169.254/metadata/instance/compute/location?format=text&api-version=2021-01-01"
)

// transport is the HTTP side of a ClientApplication: the HTTP client, the memoized
// authority resolutions, JWKS, telemetry and throttling state. The constructor builds
// it without any I/O.
type transport struct {
	cfg       *config
	client    *http.Client
	retry     bool       // one retry on connection errors, for our own client only
	httpCache *HTTPCache // discovery responses and throttling state
	spec      *authoritySpec
	static    *authorityInfo // spec.staticInfo(), computed once for the hot path

	mu       sync.Mutex
	resolved map[string]*resolveCall
	jwks     map[string]*jwksState

	telemetry telemetryBuffer

	regionOnce sync.Once
	region     string

	// pause waits between device-flow polls: a timer the context can end, in
	// production (timerPause); the device-flow tests put a test clock's advance there.
	pause pollPause
}

// pollPause is how the device flow waits out the interval the authority asked for
// (RFC 8628 §3.5) between two polls.
type pollPause interface {
	wait(ctx context.Context, d time.Duration) error
}

// timerPause waits on a real timer, or until ctx ends.
type timerPause struct{}

func (timerPause) wait(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }

func newTransport(cfg *config) (*transport, error) {
	spec, err := parseConfiguredAuthority(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkExcludeScopes(cfg.excludeScopes); err != nil {
		return nil, err
	}
	w := &transport{
		cfg:       cfg,
		spec:      spec,
		static:    spec.staticInfo(),
		httpCache: cfg.httpCache,
		resolved:  make(map[string]*resolveCall),
		jwks:      make(map[string]*jwksState),
		pause:     timerPause{},
	}
	if w.httpCache == nil {
		w.httpCache = NewHTTPCache()
	}
	if cfg.httpClient != nil {
		w.client = withRedirectPolicy(cfg.httpClient)
	} else {
		w.client = withRedirectPolicy(newDefaultHTTPClient(cfg))
		w.retry = true
	}
	return w, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// httpResponse is a fully read response.
type httpResponse struct {
	status    int
	header    http.Header
	body      []byte
	throttled bool          // answered from the throttling memory, not the network
	wait      time.Duration // for throttled answers: time left in the window
}

// ctxKey carries per-request metadata that the contract's tokenRequest has no field for.
type ctxKey int

const (
	ctxCorrelationID ctxKey = iota
	ctxRefreshReason
	ctxAnchorMailbox
)

// withAnchorMailbox routes a token request to the user's home region in Entra's
// cache-credential service (MSAL's X-AnchorMailbox: "Oid:<uid>@<utid>" or "upn:<name>").
func withAnchorMailbox(ctx context.Context, anchor string) context.Context {
	return context.WithValue(ctx, ctxAnchorMailbox, anchor)
}

// withCorrelationID makes every request made with ctx carry id as client-request-id
// (device flow keeps one id across its polls, as MSAL does).
func withCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxCorrelationID, id)
}

// Refresh reasons of the telemetry header (MSAL telemetry.py).
const (
	refreshNonSilent   = 0
	refreshForce       = 1
	refreshATAbsent    = 2
	refreshATExpired   = 3
	refreshATAging     = 4
	refreshReservedVal = 5
)

// withRefreshReason tells the telemetry header why a silent call went to the network;
// the cache layer's silent path sets it.
func withRefreshReason(ctx context.Context, reason int) context.Context {
	return context.WithValue(ctx, ctxRefreshReason, reason)
}

func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// baseHeaders are sent on every request (MSAL's default_headers).
func (w *transport) baseHeaders(h http.Header) {
	h.Set("Accept", "application/json")
	h.Set("x-client-sku", clientSKU)
	h.Set("x-client-ver", clientVersion)
	h.Set("x-client-os", runtime.GOOS)
	h.Set("x-client-cpu", runtime.GOARCH)
	h.Set("x-ms-lib-capability", "retry-after, h429")
	if w.cfg.appName != "" {
		h.Set("x-app-name", w.cfg.appName)
	}
	if w.cfg.appVersion != "" {
		h.Set("x-app-ver", w.cfg.appVersion)
	}
}

// send performs one request, retrying once on a connection error when the client is
// ours (MSAL: max_retries=1 on its default session), and reads at most
// maxResponseBytes of the body.
func (w *transport) send(ctx context.Context, method, endpoint string, form url.Values, hdr http.Header) (*httpResponse, error) {
	var body []byte
	if form != nil {
		body = []byte(form.Encode())
	}
	attempts := 1
	if w.retry {
		attempts = 2
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, &Error{Err: fmt.Errorf("%s %s: %w", method, redactURL(endpoint), err)}
		}
		w.baseHeaders(req.Header)
		for k, v := range hdr {
			req.Header[k] = v
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := w.client.Do(req)
		if err != nil {
			lastErr = err
			if ctx.Err() == nil && retriable(err) {
				w.cfg.logger.Debug("identity: connection error, retrying once", "endpoint", redactURL(endpoint), "error", err)
				continue
			}
			break
		}
		return readResponse(method, endpoint, resp)
	}
	var re *redirectError
	if errors.As(lastErr, &re) {
		return nil, &Error{StatusCode: re.status, Err: fmt.Errorf("%s %s: %w", method, redactURL(endpoint), re)}
	}
	if isTimeout(lastErr) {
		return nil, timeoutError(method, endpoint, 0, lastErr)
	}
	return nil, transportError(method, endpoint, lastErr)
}

// retriable reports connection failures worth one more attempt: refused, reset, or
// closed before an answer. Timeouts are not retried: the caller's budget is spent.
func retriable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func readResponse(method, endpoint string, resp *http.Response) (*httpResponse, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if isTimeout(err) {
			return nil, timeoutError(method, endpoint, resp.StatusCode, err)
		}
		return nil, &Error{StatusCode: resp.StatusCode, Err: fmt.Errorf("%s %s: reading the response: %w", method, redactURL(endpoint), err)}
	}
	if len(body) > maxResponseBytes {
		return nil, &Error{StatusCode: resp.StatusCode, Err: fmt.Errorf("%s %s: %w (more than %d bytes)", method, redactURL(endpoint), ErrResponseTooLarge, maxResponseBytes)}
	}
	return &httpResponse{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// getCached GETs a discovery document, answering from the HTTP cache for a day after a
// 2xx answer (MSAL caches such GETs for 24 h).
func (w *transport) getCached(ctx context.Context, endpoint string) (*httpResponse, error) {
	key := "GET " + endpoint
	if e, ok := w.httpCache.get(key, w.cfg.now()); ok {
		return &httpResponse{status: e.Status, header: e.Header, body: e.Body}, nil
	}
	hdr := http.Header{}
	hdr.Set("client-request-id", newCorrelationID())
	res, err := w.send(ctx, http.MethodGet, endpoint, nil, hdr)
	if err != nil {
		return nil, err
	}
	if res.status >= 200 && res.status < 300 {
		w.httpCache.put(key, httpCacheEntry{Status: res.status, Body: res.body, Expires: w.cfg.now().Add(discoveryCacheTTL)}, w.cfg.now())
	}
	return res, nil
}

func hashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// processKey keys the hashes of low-entropy secrets (passwords, usernames) in throttling
// keys, so a persisted HTTPCache cannot be brute-forced offline. Such entries then only
// match within this process, which is all their short windows need.
var processKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}()

func keyedHash(s string) string {
	m := hmac.New(sha256.New, processKey)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// postThrottled POSTs form to a token-like endpoint behind MSAL's two throttles:
//   - after a 429, a 5xx or any Retry-After, the same client, scope and "account"
//     (refresh token, code or username) get the remembered answer until the window ends;
//   - an identical request answered 400 moments ago gets the same 400 for a minute
//     (except device-flow polls, whose authorization_pending is expected).
func (w *transport) postThrottled(ctx context.Context, endpoint string, form url.Values, hdr http.Header) (*httpResponse, error) {
	// The "account" of the request: refresh tokens and codes (device codes too: MSAL
	// Python's polls carry one as "code", so each device flow throttles apart) are
	// high-entropy and hash plainly (a Retry-After then survives a CLI restart); a
	// username is keyed.
	account := hashString(form.Get("refresh_token") + form.Get("code") + form.Get("device_code"))
	if form.Get("refresh_token") == "" && form.Get("code") == "" && form.Get("device_code") == "" {
		account = keyedHash(form.Get("username"))
	}
	key429 := fmt.Sprintf("POST %s client_id=%s scope=%s hash=%s 429/5xx/Retry-After",
		endpoint, form.Get("client_id"), form.Get("scope"), account)
	key400 := fmt.Sprintf("POST %s hash=%s 400", endpoint, keyedHash(throttleBody(form)))
	for _, key := range []string{key400, key429} {
		if e, ok := w.httpCache.get(key, w.cfg.now()); ok {
			w.cfg.logger.Debug("identity: answered from throttling memory", "endpoint", redactURL(endpoint), "status", e.Status)
			return &httpResponse{status: e.Status, header: e.Header, body: e.Body, throttled: true,
				wait: e.Expires.Sub(w.cfg.now())}, nil
		}
	}
	res, err := w.send(ctx, http.MethodPost, endpoint, form, hdr)
	if err != nil {
		return nil, err
	}
	now := w.cfg.now()
	ra, hasRA := parseRetryAfter(res.header, now)
	switch {
	case res.status == 429 || res.status >= 500 || hasRA:
		d := ra
		if !hasRA {
			d = throttleDefault
		}
		if d > 0 {
			w.httpCache.put(key429, httpCacheEntry{Status: res.status, Header: keepHeaders(res.header), Body: res.body, Expires: now.Add(d)}, now)
		}
	case res.status == 400 && form.Get("grant_type") != deviceCodeGrant:
		w.httpCache.put(key400, httpCacheEntry{Status: res.status, Header: keepHeaders(res.header), Body: res.body, Expires: now.Add(throttle400)}, now)
	}
	return res, nil
}

// throttleBody is the request identity of the 400 throttle: every parameter except the
// per-request client assertion, which would otherwise make every request unique.
func throttleBody(form url.Values) string {
	c := cloneValues(form)
	c.Del("client_assertion")
	return c.Encode()
}

// keepHeaders keeps the few headers an error needs when it is replayed from memory.
func keepHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Retry-After", "Content-Type", "client-request-id", "x-ms-request-id"} {
		if v := h.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// telemetryBuffer is MSAL's server-side telemetry state: the last failures are
// reported in x-client-last-telemetry on the next request.
type telemetryBuffer struct {
	mu          sync.Mutex
	succeeded   int
	failed      []telemetryFailure
	failureSize int
}

type telemetryFailure struct{ apiID, correlationID, code string }

const telemetryLastLimit = 350

// headers returns the telemetry and correlation headers of one token request.
func (t *telemetryBuffer) headers(apiID APIID, correlationID string, refreshReason int) http.Header {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := http.Header{}
	h.Set("client-request-id", correlationID)
	h.Set("return-client-request-id", "true")
	h.Set("x-client-current-telemetry", fmt.Sprintf("4|%s,%d|", apiID, refreshReason))
	var calls, codes []string
	for _, f := range t.failed {
		calls = append(calls, f.apiID+","+f.correlationID)
		codes = append(codes, f.code)
	}
	h.Set("x-client-last-telemetry", fmt.Sprintf("4|%d|%s|%s|", t.succeeded, strings.Join(calls, ","), strings.Join(codes, ",")))
	return h
}

// record notes the outcome of a request: a success resets the buffer (it was reported),
// a failure is remembered while the header stays under its size limit.
func (t *telemetryBuffer) record(apiID APIID, correlationID, code string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if code == "" {
		t.succeeded, t.failed, t.failureSize = 0, nil, 0
		return
	}
	size := len(","+string(apiID)+","+correlationID+","+code) + 0
	if t.failureSize+size < telemetryLastLimit {
		t.failureSize += size
		t.failed = append(t.failed, telemetryFailure{string(apiID), correlationID, code})
	}
}

// hitAccessToken counts a cache hit for x-client-last-telemetry; the cache layer may
// call it.
func (t *telemetryBuffer) hitAccessToken() {
	t.mu.Lock()
	t.succeeded++
	t.mu.Unlock()
}
