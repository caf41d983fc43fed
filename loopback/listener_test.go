package loopback

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Test values. The code is a marker: no log line or page may ever contain it.
const (
	testCode  = "SECRET-CODE-4711"
	testState = "state-0123456789"
)

// noLeaks fails the test if goroutines started during it are still running once its
// cleanups are done (a hand-written goleak: the count must settle back).
func noLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func listen(t *testing.T, uri string, opts ...Option) *Listener {
	t.Helper()
	l, err := Listen(context.Background(), uri, opts...)
	if err != nil {
		t.Fatalf("Listen(%q): %v", uri, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

type waitResult struct {
	resp Response
	err  error
}

func waitAsync(ctx context.Context, l *Listener, state string) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		r, err := l.Wait(ctx, state)
		ch <- waitResult{r, err}
	}()
	return ch
}

// client never keeps connections, so no transport goroutine outlives a test.
func client() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, u string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

func redirectURL(l *Listener, q url.Values) string { return l.RedirectURI() + "?" + q.Encode() }

func valid() url.Values {
	return url.Values{"code": {testCode}, "state": {testState}, "iss": {"http://127.0.0.1:1"}}
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

// TestHostileRequestsDoNotEndWait sends everything that must be answered and ignored,
// then the valid redirect, which alone ends the wait.
func TestHostileRequestsDoNotEndWait(t *testing.T) {
	noLeaks(t)
	l := listen(t, "http://127.0.0.1/cb")
	port := strconv.Itoa(l.Addrs()[0].(*net.TCPAddr).Port)
	res := waitAsync(context.Background(), l, testState)

	with := func(mod func(url.Values)) string {
		v := valid()
		mod(v)
		return redirectURL(l, v)
	}
	base := "http://127.0.0.1:" + port
	tests := []struct {
		name   string
		method string
		url    string
		host   string
		ctype  string
		body   string
		status int
	}{
		{"favicon", "GET", base + "/favicon.ico", "", "", "", 404},
		{"root path", "GET", base + "/?" + valid().Encode(), "", "", "", 404},
		{"path prefix", "GET", base + "/cb/x?" + valid().Encode(), "", "", "", 404},
		{"no parameters", "GET", l.RedirectURI(), "", "", "", 400},
		{"neither code nor error", "GET", l.RedirectURI() + "?state=" + testState, "", "", "", 400},
		{"wrong state", "GET", with(func(v url.Values) { v.Set("state", "guess") }), "", "", "", 400},
		{"missing state", "GET", with(func(v url.Values) { v.Del("state") }), "", "", "", 400},
		{"state prefix", "GET", with(func(v url.Values) { v.Set("state", testState[:5]) }), "", "", "", 400},
		{"repeated code", "GET", with(func(v url.Values) { v.Add("code", "other") }), "", "", "", 400},
		{"repeated state", "GET", with(func(v url.Values) { v.Add("state", testState) }), "", "", "", 400},
		{"code and error", "GET", with(func(v url.Values) { v.Set("error", "access_denied") }), "", "", "", 400},
		{"malformed query", "GET", l.RedirectURI() + "?code=%zz&state=" + testState, "", "", "", 400},
		{"foreign Host", "GET", redirectURL(l, valid()), "evil.example:" + port, "", "", 400},
		{"foreign Host no port", "GET", redirectURL(l, valid()), "evil.example", "", "", 400},
		{"localhost Host on 127.0.0.1", "GET", redirectURL(l, valid()), "localhost:" + port, "", "", 400},
		{"wrong port in Host", "GET", redirectURL(l, valid()), "127.0.0.1:1", "", "", 400},
		{"oversized query", "GET", with(func(v url.Values) { v.Set("pad", strings.Repeat("a", 20<<10)) }), "", "", "", 414},
		{"huge query", "GET", with(func(v url.Values) { v.Set("pad", strings.Repeat("a", 100<<10)) }), "", "", "", 431},
		{"PUT", "PUT", redirectURL(l, valid()), "", "", "", 405},
		{"HEAD", "HEAD", redirectURL(l, valid()), "", "", "", 405},
		{"POST not a form", "POST", l.RedirectURI(), "", "application/json", `{"code":"x"}`, 415},
		{"POST oversized", "POST", l.RedirectURI(), "", "application/x-www-form-urlencoded",
			valid().Encode() + "&pad=" + strings.Repeat("a", MaxQueryBytes), 413},
		{"POST wrong state", "POST", l.RedirectURI(), "", "application/x-www-form-urlencoded",
			url.Values{"code": {testCode}, "state": {"nope"}}.Encode(), 400},
		{"POST valid in query only", "POST", redirectURL(l, valid()), "", "application/x-www-form-urlencoded", "", 400},
		{"error with wrong state", "GET", l.RedirectURI() + "?error=access_denied&state=x", "", "", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, tt.url, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			a := send(t, req)
			if a.status != tt.status {
				t.Errorf("status %d, want %d (%s)", a.status, tt.status, a.body)
			}
			if a.status != 431 { // net/http answers 431 before the handler runs
				checkSecurityHeaders(t, a.header)
			}
			if strings.Contains(a.body, testCode) {
				t.Error("the answer echoes the code")
			}
			select {
			case r := <-res:
				t.Fatalf("wait ended by a hostile request: %v, %v", r.resp, r.err)
			default:
			}
		})
	}

	a := get(t, redirectURL(l, valid()))
	if a.status != 200 || !strings.Contains(a.body, "Sign-in complete") {
		t.Fatalf("valid redirect: %d %q", a.status, a.body)
	}
	checkSecurityHeaders(t, a.header)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.resp.Code != testCode || r.resp.State != testState || r.resp.Issuer != "http://127.0.0.1:1" {
		t.Errorf("response %+v", r.resp.Values)
	}

	// The listener is gone: a replayed redirect cannot be delivered.
	if _, err := client().Get(redirectURL(l, valid())); err == nil {
		t.Error("replayed redirect reached a listener after completion")
	}
}

func TestFormPost(t *testing.T) {
	noLeaks(t)
	l := listen(t, "")
	res := waitAsync(context.Background(), l, testState)
	req, _ := http.NewRequest(http.MethodPost, l.RedirectURI(), strings.NewReader(valid().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if a := send(t, req); a.status != 200 {
		t.Fatalf("status %d %q", a.status, a.body)
	}
	r := <-res
	if r.err != nil || r.resp.Code != testCode {
		t.Fatalf("Wait: %v %v", r.resp, r.err)
	}
}

// TestErrorResponse checks that an authority error ends the wait as a result and that
// markup injected into any shown field is escaped.
func TestErrorResponse(t *testing.T) {
	noLeaks(t)
	const inject = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	l := listen(t, "")
	res := waitAsync(context.Background(), l, testState)
	q := url.Values{
		"error":             {"access_denied" + inject},
		"error_description": {"denied " + inject},
		"error_uri":         {"javascript:alert(3)"},
		"state":             {testState},
	}
	a := get(t, redirectURL(l, q))
	if a.status != 200 || !strings.Contains(a.body, "Sign-in failed") {
		t.Fatalf("status %d %q", a.status, a.body)
	}
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(a.body, bad) {
			t.Errorf("page contains unescaped %q:\n%s", bad, a.body)
		}
	}
	if !strings.Contains(a.body, "&lt;script&gt;") {
		t.Errorf("escaped description missing:\n%s", a.body)
	}
	checkSecurityHeaders(t, a.header)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.resp.Error != "access_denied"+inject || r.resp.Code != "" {
		t.Errorf("response %v", r.resp)
	}
}

func TestCustomTemplates(t *testing.T) {
	noLeaks(t)
	succ := template.Must(template.New("s").Parse(`custom success`))
	fail := template.Must(template.New("f").Parse(`custom failure: {{.Error}} / {{.ErrorDescription}}`))
	broken := template.Must(template.New("b").Parse(`{{.NoSuchField}}`))
	tests := []struct {
		name   string
		opts   []Option
		q      url.Values
		status int
		want   string
	}{
		{"success", []Option{WithSuccessTemplate(succ)}, valid(), 200, "custom success"},
		{"error", []Option{WithErrorTemplate(fail)},
			url.Values{"error": {"e<b>"}, "error_description": {`"d"`}, "state": {testState}},
			200, "custom failure: e&lt;b&gt; / &#34;d&#34;"},
		{"nil keeps default", []Option{WithSuccessTemplate(nil)}, valid(), 200, "Sign-in complete"},
		{"broken template", []Option{WithSuccessTemplate(broken)}, valid(), 500, "template failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := listen(t, "", tt.opts...)
			res := waitAsync(context.Background(), l, testState)
			a := get(t, redirectURL(l, tt.q))
			if a.status != tt.status || !strings.Contains(a.body, tt.want) {
				t.Errorf("got %d %q, want %d containing %q", a.status, a.body, tt.status, tt.want)
			}
			if r := <-res; r.err != nil {
				t.Error(r.err)
			}
		})
	}
}

func TestRedirectURIs(t *testing.T) {
	noLeaks(t)
	free := freePort(t)
	tests := []struct {
		in       string
		wantHost string // RedirectURI host without port
		wantPort int    // 0: any
		wantPath string
		addrs    int // minimum listening addresses
	}{
		{"", "127.0.0.1", 0, "/", 1},
		{"http://127.0.0.1/", "127.0.0.1", 0, "/", 1},
		{"http://127.0.0.1", "127.0.0.1", 0, "", 1},
		{"http://127.0.0.1:0/x", "127.0.0.1", 0, "/x", 1},
		{"http://127.0.0.1:" + strconv.Itoa(free) + "/auth/callback", "127.0.0.1", free, "/auth/callback", 1},
		{"http://[::1]/", "[::1]", 0, "/", 1},
		{"http://localhost/", "localhost", 0, "/", 1},
		{"http://localhost", "localhost", 0, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l := listen(t, tt.in)
			u, err := url.Parse(l.RedirectURI())
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Host[:strings.LastIndex(u.Host, ":")]; got != tt.wantHost {
				t.Errorf("host %q, want %q", got, tt.wantHost)
			}
			port, _ := strconv.Atoi(u.Port())
			if port == 0 || (tt.wantPort != 0 && port != tt.wantPort) {
				t.Errorf("port %d, want %d", port, tt.wantPort)
			}
			if u.Path != tt.wantPath {
				t.Errorf("path %q, want %q", u.Path, tt.wantPath)
			}
			if len(l.Addrs()) < tt.addrs {
				t.Errorf("addrs %v", l.Addrs())
			}
			// The redirect arrives at exactly that URI.
			res := waitAsync(context.Background(), l, testState)
			if a := get(t, redirectURL(l, valid())); a.status != 200 {
				t.Errorf("status %d %q", a.status, a.body)
			}
			if r := <-res; r.err != nil || r.resp.Code != testCode {
				t.Errorf("Wait: %v %v", r.resp, r.err)
			}
		})
	}
}

func TestBadRedirectURIs(t *testing.T) {
	for _, in := range []string{
		"https://127.0.0.1/",
		"http://example.com/",
		"http://10.0.0.1/",
		"http://0.0.0.0/",
		"http://127.0.0.2/",
		"http://localhost.evil.example/",
		"http://127.0.0.1/?a=b",
		"http://127.0.0.1/#frag",
		"http://user@127.0.0.1/",
		"http://127.0.0.1:99999/",
		"http://127.0.0.1:abc/",
		"127.0.0.1:8080",
		"://",
	} {
		t.Run(in, func(t *testing.T) {
			l, err := Listen(context.Background(), in)
			if err == nil {
				l.Close()
				t.Fatalf("Listen(%q) succeeded: %s", in, l.RedirectURI())
			}
		})
	}
}

// TestLocalhostBindsBothFamilies: for "localhost" the browser may pick either
// address; both must reach the same listener on the same port.
func TestLocalhostBindsBothFamilies(t *testing.T) {
	noLeaks(t)
	if !ipv6Available() {
		t.Skip("no IPv6 loopback on this machine; Listen binds 127.0.0.1 alone (tested by TestRedirectURIs)")
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		t.Run(ip, func(t *testing.T) {
			l := listen(t, "http://localhost/")
			if len(l.Addrs()) != 2 {
				t.Fatalf("addrs %v, want 127.0.0.1 and ::1", l.Addrs())
			}
			p0 := l.Addrs()[0].(*net.TCPAddr).Port
			p1 := l.Addrs()[1].(*net.TCPAddr).Port
			if p0 != p1 {
				t.Fatalf("ports differ: %d %d", p0, p1)
			}
			res := waitAsync(context.Background(), l, testState)
			req, _ := http.NewRequest("GET", "http://"+net.JoinHostPort(ip, strconv.Itoa(p0))+"/?"+valid().Encode(), nil)
			req.Host = "localhost:" + strconv.Itoa(p0) // what the browser sends for http://localhost:PORT/
			if a := send(t, req); a.status != 200 {
				t.Fatalf("status %d %q", a.status, a.body)
			}
			if r := <-res; r.err != nil {
				t.Fatal(r.err)
			}
		})
	}
}

func TestFixedPortFallback(t *testing.T) {
	noLeaks(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	free := freePort(t)
	uri := "http://127.0.0.1:" + strconv.Itoa(busyPort) + "/cb"

	t.Run("no fallback", func(t *testing.T) {
		_, err := Listen(context.Background(), uri)
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("err %v, want EADDRINUSE", err)
		}
	})
	t.Run("fallback", func(t *testing.T) {
		l := listen(t, uri, WithFallbackPorts(busyPort, free))
		if want := "http://127.0.0.1:" + strconv.Itoa(free) + "/cb"; l.RedirectURI() != want {
			t.Errorf("RedirectURI %q, want %q", l.RedirectURI(), want)
		}
	})
	t.Run("all busy", func(t *testing.T) {
		_, err := Listen(context.Background(), uri, WithFallbackPorts(busyPort))
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("err %v, want EADDRINUSE", err)
		}
	})
	t.Run("ignored for free port", func(t *testing.T) {
		l := listen(t, "http://127.0.0.1/", WithFallbackPorts(busyPort))
		if strings.Contains(l.RedirectURI(), ":"+strconv.Itoa(busyPort)+"/") {
			t.Error("fallback port used though any port was allowed")
		}
	})
}

// TestEndsAndFreesPort: cancelling either the Listen or the Wait context, or Close,
// ends Wait and frees the port for the next sign-in.
func TestEndsAndFreesPort(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		name string
		run  func(t *testing.T, uri string) error
		want error
	}{
		{"wait ctx cancelled", func(t *testing.T, uri string) error {
			l := listen(t, uri)
			ctx, cancel := context.WithCancel(context.Background())
			res := waitAsync(ctx, l, testState)
			cancel()
			return (<-res).err
		}, context.Canceled},
		{"wait ctx timeout", func(t *testing.T, uri string) error {
			l := listen(t, uri)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, err := l.Wait(ctx, testState)
			return err
		}, context.DeadlineExceeded},
		{"listen ctx cancelled", func(t *testing.T, uri string) error {
			ctx, cancel := context.WithCancel(context.Background())
			l, err := Listen(ctx, uri)
			if err != nil {
				t.Fatal(err)
			}
			res := waitAsync(context.Background(), l, testState)
			cancel()
			return (<-res).err
		}, ErrClosed},
		{"closed", func(t *testing.T, uri string) error {
			l := listen(t, uri)
			res := waitAsync(context.Background(), l, testState)
			l.Close()
			l.Close() // idempotent
			return (<-res).err
		}, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := freePort(t)
			uri := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
			if err := tt.run(t, uri); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			// The port is free again at once.
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatalf("port not freed: %v", err)
			}
			ln.Close()
		})
	}
}

// TestListenContextEndsEarly: a Listen context that ends while Listen is still
// setting up closes the listener cleanly (run with -race).
func TestListenContextEndsEarly(t *testing.T) {
	noLeaks(t)
	for i := range 40 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i*10)*time.Microsecond)
		l, err := Listen(ctx, "")
		if err == nil {
			_, err = l.Wait(context.Background(), testState)
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Wait after the Listen context ended: %v", err)
			}
		}
		cancel()
	}
}

// TestRequestBeforeWait: a fast browser may deliver before Wait is called; the request
// is held, not lost.
func TestRequestBeforeWait(t *testing.T) {
	noLeaks(t)
	l := listen(t, "")
	got := make(chan answer, 1)
	go func() {
		resp, err := client().Get(redirectURL(l, valid()))
		if err != nil {
			got <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- answer{status: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(50 * time.Millisecond)
	r, err := l.Wait(context.Background(), testState)
	if err != nil || r.Code != testCode {
		t.Fatalf("Wait: %v %v", r, err)
	}
	if a := <-got; a.status != 200 {
		t.Fatalf("browser got %d %q", a.status, a.body)
	}
	if _, err := l.Wait(context.Background(), testState); err == nil {
		t.Error("second Wait succeeded")
	}
}

// TestConcurrentListeners: two sign-ins at once get two ports and each its own answer.
func TestConcurrentListeners(t *testing.T) {
	noLeaks(t)
	a := listen(t, "")
	b := listen(t, "")
	if a.RedirectURI() == b.RedirectURI() {
		t.Fatalf("both on %s", a.RedirectURI())
	}
	ra := waitAsync(context.Background(), a, "state-a")
	rb := waitAsync(context.Background(), b, "state-b")
	// Each listener rejects the other's state.
	if x := get(t, b.RedirectURI()+"?code=ca&state=state-a"); x.status != 400 {
		t.Errorf("cross delivery: %d", x.status)
	}
	get(t, b.RedirectURI()+"?code=cb&state=state-b")
	get(t, a.RedirectURI()+"?code=ca&state=state-a")
	if r := <-ra; r.err != nil || r.resp.Code != "ca" {
		t.Errorf("a: %v %v", r.resp.Values, r.err)
	}
	if r := <-rb; r.err != nil || r.resp.Code != "cb" {
		t.Errorf("b: %v %v", r.resp.Values, r.err)
	}
}

// TestSlowloris: a client that never finishes its headers is cut off after the read
// timeout, and meanwhile the real redirect is still served.
func TestSlowloris(t *testing.T) {
	noLeaks(t)
	const timeout = 200 * time.Millisecond
	l := listen(t, "", WithReadTimeout(timeout))
	res := waitAsync(context.Background(), l, testState)
	addr := l.Addrs()[0].String()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}

	if a := get(t, redirectURL(l, valid())); a.status != 200 {
		t.Fatalf("valid redirect while a slow client waits: %d", a.status)
	}
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}

	// The slow connection is closed by the server (or by Close), not left open.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, conn)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("slow connection still open after %v", time.Since(start))
		}
	}
}

// TestSlowlorisTimeout: without any redirect, the server itself drops a client that
// trickles its headers, after the read timeout.
func TestSlowlorisTimeout(t *testing.T) {
	noLeaks(t)
	const timeout = 150 * time.Millisecond
	l := listen(t, "", WithReadTimeout(timeout))
	conn, err := net.Dial("tcp", l.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\n"))
	done := make(chan time.Duration, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, conn)
		done <- time.Since(start)
	}()
	for i := 0; i < 50; i++ { // trickle a byte every 20 ms, as slowloris does
		select {
		case d := <-done:
			if d < timeout/2 || d > 2*time.Second {
				t.Fatalf("closed after %v, want about %v", d, timeout)
			}
			return
		case <-time.After(20 * time.Millisecond):
			_, _ = conn.Write([]byte("X"))
		}
	}
	t.Fatal("slow client not dropped after 1 s")
}

// TestNothingLogsTheCode runs a hostile and a valid exchange with debug logging on.
func TestNothingLogsTheCode(t *testing.T) {
	noLeaks(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := listen(t, "", WithLogger(logger))
	res := waitAsync(context.Background(), l, testState)
	get(t, l.RedirectURI()+"?code="+testCode+"&state=wrong")
	get(t, redirectURL(l, valid()))
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	logger.Info("result", "response", r.resp)
	for _, s := range []string{
		logs.String(), r.resp.String(), r.resp.GoString(),
		fmtV(r.resp),
	} {
		if strings.Contains(s, testCode) || strings.Contains(s, testState) {
			t.Errorf("code or state leaked: %s", s)
		}
	}
	if !strings.Contains(logs.String(), "rejected") || !strings.Contains(logs.String(), "received") {
		t.Errorf("expected log lines missing:\n%s", logs.String())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func ipv6Available() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TestBindAll covers the address-family cases this machine may not have: no IPv6
// loopback, and [::1] busy on the port chosen for 127.0.0.1.
func TestBindAll(t *testing.T) {
	noLeaks(t)
	var lc net.ListenConfig
	unavailable := &net.OpError{Op: "listen", Net: "tcp", Err: syscall.EADDRNOTAVAIL}
	inUse := &net.OpError{Op: "listen", Net: "tcp", Err: syscall.EADDRINUSE}
	// v6 fails with err on the first n attempts, then works (if it exists here).
	v6 := func(err error, n int) (listenFunc, *int) {
		calls := 0
		return func(ctx context.Context, network, addr string) (net.Listener, error) {
			if strings.HasPrefix(addr, "[::1]") {
				calls++
				if calls <= n {
					return nil, err
				}
			}
			return lc.Listen(ctx, network, addr)
		}, &calls
	}
	both := []string{"127.0.0.1", "::1"}
	tests := []struct {
		name      string
		err       error
		failures  int
		port      int
		wantAddrs int // 0: want EADDRINUSE
		wantCalls int
	}{
		{"no IPv6: 127.0.0.1 alone", unavailable, 100, 0, 1, 1},
		{"::1 busy, free port: retried", inUse, 2, 0, 2, 3},
		{"::1 busy on every try", inUse, 100, 0, 0, 8},
		{"::1 busy, fixed port: busy", inUse, 100, freePort(t), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantAddrs == 2 && !ipv6Available() {
				t.Skip("no IPv6 loopback here")
			}
			listen, calls := v6(tt.err, tt.failures)
			lns, err := bindAll(context.Background(), listen, both, tt.port)
			for _, ln := range lns {
				defer ln.Close()
			}
			if *calls != tt.wantCalls {
				t.Errorf("[::1] tried %d times, want %d", *calls, tt.wantCalls)
			}
			if tt.wantAddrs == 0 {
				if !errors.Is(err, syscall.EADDRINUSE) {
					t.Fatalf("err %v, want EADDRINUSE", err)
				}
				return
			}
			if err != nil || len(lns) != tt.wantAddrs {
				t.Fatalf("bound %d addresses, err %v; want %d", len(lns), err, tt.wantAddrs)
			}
		})
	}
}

// TestSharedContextReportsContextError: when the same context bounds Listen and Wait,
// its end is reported as the context's error, never as a bare ErrClosed, whichever of
// the two notices first.
func TestSharedContextReportsContextError(t *testing.T) {
	noLeaks(t)
	for range 30 {
		ctx, cancel := context.WithCancel(context.Background())
		l, err := Listen(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		_ = l.Close() // the listener is already gone when the context ends
		cancel()
		if _, err := l.Wait(ctx, testState); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait: %v, want context.Canceled", err)
		}
	}
}
