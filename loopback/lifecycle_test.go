package loopback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
