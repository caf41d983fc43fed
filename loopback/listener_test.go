package loopback

import (
	"context"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
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
