package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client ids registered at every provider instance. They are constants so test
// fixtures and logs stay readable; the confidential client's secret is random per instance.
const (
	publicClientID       = "tokendesk-native"
	confidentialClientID = "tokendesk-confidential"
	installedClientID    = "tokendesk-installed"
)

// startTimeout bounds node's start until discovery answers; a loaded 2-core CI
// machine needs a few seconds for the first start.
const startTimeout = 60 * time.Second

// OIDCProvider is a running oidc-provider instance on 127.0.0.1.
type OIDCProvider struct {
	// Issuer is the provider's issuer URL, "http://127.0.0.1:PORT", with no trailing slash.
	Issuer string
	// PublicClientID is a native public client: no secret, PKCE S256 required, redirect
	// URIs http://127.0.0.1/, http://[::1]/ and http://localhost/ on any port, grants
	// authorization_code, refresh_token and device_code.
	PublicClientID string
	// ConfidentialClientID authenticates with ClientSecret (client_secret_basic or
	// client_secret_post); grants client_credentials, authorization_code and
	// refresh_token; redirect URI http://127.0.0.1/ on any port.
	ConfidentialClientID string
	// ClientSecret is ConfidentialClientID's secret, random for every instance.
	ClientSecret string
	// InstalledClientID is a native client that must nonetheless send ClientSecret
	// (client_secret_post or basic), as Google's installed-app clients do: PKCE S256,
	// the loopback redirect URIs on any port, authorization_code and refresh_token.
	InstalledClientID string

	metadata map[string]any
	cmd      *exec.Cmd
	stdin    io.Closer
	done     chan struct{}
	stopOnce sync.Once
}

// ProviderOption changes how NewProvider configures its instance.
type ProviderOption func(*providerConfig)

type providerConfig struct {
	jwt          bool
	stockConsent bool
	atTTL        time.Duration
}

// WithAccessTokenLifetime makes access tokens live d (whole seconds) instead of an
// hour, as providers with short-lived tokens (zitadel: 5 minutes) do.
func WithAccessTokenLifetime(d time.Duration) ProviderOption {
	return func(c *providerConfig) { c.atTTL = d }
}

// WithJWTAccessTokens makes access tokens RS256-signed JWTs (header typ "at+jwt",
// audience the provider's default resource). Without it access tokens are opaque.
func WithJWTAccessTokens() ProviderOption {
	return func(c *providerConfig) { c.jwt = true }
}

// WithStockConsentPolicy keeps oidc-provider's stock rules, which real providers share:
// native clients are asked for consent on every login (Login answers the consent page
// like a user would), and a refresh token is issued only for offline_access requested
// together with prompt=consent. By default consent is granted silently and refresh
// tokens are always issued (and rotated on every use).
func WithStockConsentPolicy() ProviderOption {
	return func(c *providerConfig) { c.stockConsent = true }
}

// GrantCount returns how many token requests of grantType ("refresh_token",
// "authorization_code", "urn:ietf:params:oauth:grant-type:device_code", ...) the provider
// has answered successfully since it started: the provider's own count, so a test of
// "N processes, one refresh" does not trust the client under test to report it.
func (p *OIDCProvider) GrantCount(ctx context.Context, grantType string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Issuer+"/_tokendesk/grants", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		return 0, fmt.Errorf("testenv: grant counts: %w", err)
	}
	return counts[grantType], nil
}

// TokenEndpointMode says how the provider's token endpoint behaves (SetTokenEndpointMode).
type TokenEndpointMode struct {
	// Mode is "normal", "stall" (never answers), "drip" (answers 200 and then one body
	// byte a second, forever) or "redirect" (answers Status with Location).
	Mode     string `json:"mode"`
	Status   int    `json:"status,omitempty"`
	Location string `json:"location,omitempty"`
}

// SetTokenEndpointMode makes the token endpoint misbehave (or behave again): requests
// it swallows never reach the provider, so no refresh token is used up by them.
func (p *OIDCProvider) SetTokenEndpointMode(ctx context.Context, m TokenEndpointMode) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/_tokendesk/token-mode", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("testenv: token-mode: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Metadata returns the provider's discovery document
// (/.well-known/openid-configuration), as fetched when it started.
func (p *OIDCProvider) Metadata() map[string]any { return p.metadata }

// Endpoint returns a discovery entry as a string, such as "token_endpoint" or
// "device_authorization_endpoint"; "" when absent.
func (p *OIDCProvider) Endpoint(name string) string {
	s, _ := p.metadata[name].(string)
	return s
}

var shared struct {
	mu  sync.Mutex
	p   *OIDCProvider
	err error
}

// Provider returns the provider shared by all tests of this test binary, starting it
// on first use. Tests that change provider state in ways others could notice should
// use NewProvider instead. It skips the test only when TOKENDESK_SKIP_PROVIDER=1 and
// CI is not "true"; otherwise a provider that cannot start fails the test.
func Provider(t testing.TB) *OIDCProvider {
	t.Helper()
	skipIfAllowed(t, "TOKENDESK_SKIP_PROVIDER")
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.p == nil && shared.err == nil {
		shared.p, shared.err = start(providerConfig{})
	}
	if shared.err != nil {
		t.Fatalf("testenv: OpenID provider: %v", shared.err)
	}
	return shared.p
}

// NewProvider starts a dedicated provider for one test and stops it in t.Cleanup.
// It skips like Provider.
func NewProvider(t testing.TB, opts ...ProviderOption) *OIDCProvider {
	t.Helper()
	skipIfAllowed(t, "TOKENDESK_SKIP_PROVIDER")
	var cfg providerConfig
	for _, o := range opts {
		o(&cfg)
	}
	p, err := start(cfg)
	if err != nil {
		t.Fatalf("testenv: OpenID provider: %v", err)
	}
	t.Cleanup(p.stop)
	return p
}

// Main runs the tests of a package and then stops the shared providers. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.p != nil {
		shared.p.stop()
		shared.p = nil
	}
	shared.mu.Unlock()
	stopZitadel()
	os.Exit(code)
}

// skipIfAllowed skips t when env var name is "1" outside CI; in CI the real part is
// mandatory, so a missing one must fail loudly rather than pass by skipping.
func skipIfAllowed(t testing.TB, name string) {
	t.Helper()
	if os.Getenv(name) == "1" && os.Getenv("CI") != "true" {
		t.Skipf("%s=1", name)
	}
}

// providerDir finds internal/testenv/provider from this source file, so tests of every
// package use the same script. TOKENDESK_PROVIDER_DIR overrides it (for -trimpath builds).
func providerDir() (string, error) {
	if d := os.Getenv("TOKENDESK_PROVIDER_DIR"); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("cannot locate internal/testenv/provider (built with -trimpath?); set TOKENDESK_PROVIDER_DIR")
	}
	return filepath.Join(filepath.Dir(file), "provider"), nil
}

func start(cfg providerConfig) (*OIDCProvider, error) {
	dir, err := providerDir()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH: run `make deps` (installs nodejs and the provider's node_modules)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		return nil, fmt.Errorf("oidc-provider is not installed in %s: run `make deps` (npm ci there)", dir)
	}

	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	p := &OIDCProvider{
		PublicClientID:       publicClientID,
		ConfidentialClientID: confidentialClientID,
		ClientSecret:         hex.EncodeToString(secret),
		InstalledClientID:    installedClientID,
		done:                 make(chan struct{}),
	}

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	// The secret goes through the environment, never argv, which any local user can read.
	cmd.Env = append(os.Environ(),
		"TOKENDESK_PROVIDER_PUBLIC_CLIENT="+p.PublicClientID,
		"TOKENDESK_PROVIDER_CONFIDENTIAL_CLIENT="+p.ConfidentialClientID,
		"TOKENDESK_PROVIDER_CLIENT_SECRET="+p.ClientSecret,
		"TOKENDESK_PROVIDER_INSTALLED_CLIENT="+p.InstalledClientID,
		"TOKENDESK_PROVIDER_JWT="+boolEnv(cfg.jwt),
		"TOKENDESK_PROVIDER_STOCK_CONSENT="+boolEnv(cfg.stockConsent),
		"TOKENDESK_PROVIDER_AT_TTL="+strconv.Itoa(int(cfg.atTTL/time.Second)),
		"NODE_ENV=test",
	)
	// node exits when this pipe closes, which also happens when the test binary dies.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	p.cmd, p.stdin = cmd, stdin
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- strings.TrimSpace(rest)
			}
		}
		// Drain so node never blocks writing to a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()

	fail := func(err error) (*OIDCProvider, error) {
		p.stop()
		if tail := strings.TrimSpace(stderr.String()); tail != "" {
			err = fmt.Errorf("%w\nnode stderr:\n%s", err, tail)
		}
		return nil, err
	}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	select {
	case s := <-port:
		if _, err := strconv.Atoi(s); err != nil {
			return fail(fmt.Errorf("provider printed a bad port %q", s))
		}
		p.Issuer = "http://127.0.0.1:" + s
	case <-p.done:
		return fail(errors.New("node exited before listening"))
	case <-deadline.C:
		return fail(fmt.Errorf("provider did not listen within %v", startTimeout))
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	md, err := waitDiscovery(ctx, p.Issuer, p.done)
	if err != nil {
		return fail(err)
	}
	if md["issuer"] != p.Issuer {
		return fail(fmt.Errorf("discovery issuer %v, want %s", md["issuer"], p.Issuer))
	}
	p.metadata = md
	return p, nil
}

// waitDiscovery polls the discovery document until it answers, the context ends or
// node exits.
func waitDiscovery(ctx context.Context, issuer string, exited <-chan struct{}) (map[string]any, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err == nil {
			var md map[string]any
			if resp.StatusCode == http.StatusOK {
				err = json.NewDecoder(resp.Body).Decode(&md)
			} else {
				err = fmt.Errorf("discovery answered %s", resp.Status)
			}
			resp.Body.Close()
			if err == nil {
				return md, nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("discovery not ready: %w (last: %v)", ctx.Err(), last)
		case <-exited:
			return nil, errors.New("node exited before discovery answered")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the node process: closing stdin asks it to exit; a kill follows if it
// does not within a few seconds.
func (p *OIDCProvider) stop() {
	p.stopOnce.Do(func() {
		if p.cmd == nil || p.cmd.Process == nil {
			return
		}
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// tailBuffer keeps the last max bytes written, for error messages about a failed start.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
