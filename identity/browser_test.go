package identity

// How AcquireTokenInteractive decides to open a browser, and on which port it listens.

import (
	"errors"
	"strings"
	"testing"
)

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
