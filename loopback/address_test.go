package loopback

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

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
