package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Zitadel users and client of the example provider (internal/testenv/zitadel).
const (
	// ZitadelUser is the example's user id1; its ID token carries no username or name
	// (only userinfo does), as with zitadel itself.
	ZitadelUser = "test-user@127.0.0.1"
	// ZitadelUserName is id1's name as userinfo reports it.
	ZitadelUserName = "Test User"
	// ZitadelPassword is every example user's password.
	ZitadelPassword = "verysecure"
)

// ZitadelOP is a running zitadel/oidc v3 example OpenID provider on 127.0.0.1: a
// second real provider, written by other people, with their choices: an issuer with
// a trailing slash, redirect URIs matched with their path, 5-minute access tokens,
// refresh tokens bound to the scopes granted at sign-in, and names only in userinfo.
type ZitadelOP struct {
	// Issuer is "http://127.0.0.1:PORT/", trailing slash included, as the provider
	// names itself.
	Issuer string
	// ClientID is the native public client ("native"), PKCE, no secret.
	ClientID string
	// RedirectURI is one the client registered: the path matters, the port does not.
	RedirectURI string

	cmd      *exec.Cmd
	stdin    io.Closer
	stopOnce sync.Once
}

var zitadelShared struct {
	mu       sync.Mutex
	built    bool
	bin, dir string
	op       *ZitadelOP
	err      error
}

// Zitadel returns the zitadel example provider shared by the tests of this test binary,
// building it (once per test binary: a cold build takes about a minute on 2 cores, a
// warm one a second) and starting it on first use. Main stops it. It skips only when
// TOKENDESK_SKIP_ZITADEL=1 and CI is not "true".
func Zitadel(t testing.TB) *ZitadelOP {
	t.Helper()
	skipIfAllowed(t, "TOKENDESK_SKIP_ZITADEL")
	zitadelShared.mu.Lock()
	defer zitadelShared.mu.Unlock()
	if zitadelShared.op == nil && zitadelShared.err == nil {
		zitadelShared.op, zitadelShared.err = startZitadel()
	}
	if zitadelShared.err != nil {
		t.Fatalf("testenv: zitadel provider: %v", zitadelShared.err)
	}
	return zitadelShared.op
}

// stopZitadel stops the shared provider and removes its binary (Main calls it).
func stopZitadel() {
	zitadelShared.mu.Lock()
	defer zitadelShared.mu.Unlock()
	if zitadelShared.op != nil {
		zitadelShared.op.stop()
		zitadelShared.op = nil
	}
	if zitadelShared.dir != "" {
		_ = os.RemoveAll(zitadelShared.dir)
		zitadelShared.dir = ""
	}
}

// zitadelDir finds the wrapper module from this source file (TOKENDESK_ZITADEL_DIR
// overrides it, for -trimpath builds).
func zitadelDir() (string, error) {
	if d := os.Getenv("TOKENDESK_ZITADEL_DIR"); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("cannot locate internal/testenv/zitadel (built with -trimpath?); set TOKENDESK_ZITADEL_DIR")
	}
	return filepath.Join(filepath.Dir(file), "zitadel"), nil
}

// buildZitadel builds the wrapper module once per test binary, into a temporary
// directory. Called with zitadelShared.mu held.
func buildZitadel() (string, error) {
	if zitadelShared.built {
		return zitadelShared.bin, nil
	}
	src, err := zitadelDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "tokendesk-zitadel-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "zitadel-op")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	// Its own module: no workspace, and the main module's flags do not apply.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("go build in %s: %v\n%s", src, err, out)
	}
	zitadelShared.built, zitadelShared.bin, zitadelShared.dir = true, bin, dir
	return bin, nil
}

func startZitadel() (*ZitadelOP, error) {
	bin, err := buildZitadel()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	op := &ZitadelOP{ClientID: "native", RedirectURI: "http://127.0.0.1/auth/callback", cmd: cmd, stdin: stdin}
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "ISSUER "); ok {
				issuer <- rest
			}
		}
		close(issuer)
	}()
	select {
	case iss, ok := <-issuer:
		if !ok {
			op.stop()
			return nil, fmt.Errorf("exited before serving: %s", stderr.String())
		}
		op.Issuer = iss
	case <-time.After(startTimeout):
		op.stop()
		return nil, fmt.Errorf("did not start within %v: %s", startTimeout, stderr.String())
	}
	return op, nil
}

func (z *ZitadelOP) stop() {
	z.stopOnce.Do(func() {
		_ = z.stdin.Close()
		done := make(chan struct{})
		go func() { _ = z.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = z.cmd.Process.Kill()
			<-done
		}
	})
}

// hiddenID is the login form's auth request id.
var hiddenID = regexp.MustCompile(`name="id" value="([^"]*)"`)

// LoginAndDeliver plays a user in a browser: it opens authURL, signs in as username
// with ZitadelPassword on the provider's login form, and requests the final redirect
// to the client's loopback redirect URI, as the browser would. A non-2xx answer from
// the listener is an error.
func (z *ZitadelOP) LoginAndDeliver(ctx context.Context, authURL, username string) error {
	loc, err := z.Login(ctx, authURL, username)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return err
	}
	resp, err := loopbackClient().Do(req)
	if err != nil {
		return fmt.Errorf("testenv: deliver redirect: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("testenv: the redirect listener answered %d: %s", resp.StatusCode, body)
	}
	return nil
}

// Login is LoginAndDeliver without the delivery: it returns the redirect to the
// client (code, state) unrequested.
func (z *ZitadelOP) Login(ctx context.Context, authURL, username string) (*url.URL, error) {
	issuer, err := url.Parse(z.Issuer)
	if err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	var toClient *url.URL
	c := &http.Client{
		Jar:       jar,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != issuer.Host {
				toClient = req.URL // the redirect to the app: the browser's last step
				return http.ErrUseLastResponse
			}
			if len(via) > maxSteps {
				return errors.New("testenv: too many redirects")
			}
			return nil
		},
	}
	get := func(u string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", err
		}
		return readPage(c.Do(req))
	}
	page, err := get(authURL)
	if err != nil {
		return nil, err
	}
	if toClient != nil {
		return toClient, nil // an error answered straight to the client
	}
	m := hiddenID.FindStringSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("testenv: zitadel showed no login form: %.300s", page)
	}
	form := url.Values{"id": {html.UnescapeString(m[1])}, "username": {username}, "password": {ZitadelPassword}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer.ResolveReference(&url.URL{Path: "/login/username"}).String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	page, err = readPage(c.Do(req))
	if err != nil {
		return nil, err
	}
	if toClient == nil {
		return nil, fmt.Errorf("testenv: zitadel did not redirect to the client after login: %.300s", page)
	}
	return toClient, nil
}

func readPage(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}

// loopbackClient requests the redirect to the app, never through a proxy.
func loopbackClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
