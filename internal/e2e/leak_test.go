// Package e2e holds tests that cross every layer at once: identity, loopback and
// storage against the real OpenID provider and the real keyring.
package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/storage"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// secrets is the set of values that must never leave memory except into the
// encrypted cache; each is remembered with a name for the failure message (the value
// itself is never printed).
type secrets map[string]string

func (s secrets) add(name, value string) {
	if len(value) >= 8 { // shorter values would match by chance
		s[name] = value
	}
}

// TestNoSecretLeaves runs a browser sign-in, a second sign-in through the flow API, a
// refresh, an app-only token and two failing calls, all with debug logging and PII
// logging on, then checks that no token, code, verifier, secret or cache key appears
// in the logs, in any error text, or in any file of the profile directory (including
// the encrypted cache, which must hold ciphertext only).
func TestNoSecretLeaves(t *testing.T) {
	testenv.RequireKeyring(t)
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	dir := t.TempDir()
	keyUser := "leak-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000000")
	store, err := storage.OpenCacheStore(dir, storage.SystemKeyring(storage.DefaultKeyringTimeout),
		storage.WithKeyringEntry(storage.KeyringService, keyUser))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keyring.Delete(storage.KeyringService, keyUser) })

	var logs testenv.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cache := identity.NewTokenCache(identity.WithCacheHook(store))
	opts := []identity.Option{identity.WithOIDCAuthority(p.Issuer), identity.WithTokenCache(cache),
		identity.WithLogger(logger), identity.WithPIILogging(true)}
	pub, err := identity.NewPublicClient(p.PublicClientID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	found := secrets{}
	var errorTexts []string
	scopes := []string{"api://tokendesk-test/read"}

	// 1. A sign-in through the loopback listener, as the app does it; the scripted
	// browser tells us the code it carried.
	var codeMu sync.Mutex
	opener := func(ctx context.Context, authURL string) error {
		go func() {
			redirect, err := p.Login(ctx, authURL, "lena")
			if err != nil {
				t.Errorf("scripted browser: %v", err)
				return
			}
			codeMu.Lock()
			found.add("authorization code (interactive)", redirect.Query().Get("code"))
			codeMu.Unlock()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, redirect.String(), nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	first, err := pub.AcquireTokenInteractive(ctx, scopes, identity.WithOpener(opener),
		identity.WithInteractiveRedirectURI("http://127.0.0.1/"))
	if err != nil {
		t.Fatalf("interactive sign-in: %v", err)
	}
	found.add("access token (interactive)", first.AccessToken)
	found.add("ID token (interactive)", first.IDToken)

	// 2. A sign-in through the flow API, which exposes the PKCE verifier.
	flow, err := pub.InitiateAuthCodeFlow(ctx, scopes, identity.WithRedirectURI("http://127.0.0.1:8403/"))
	if err != nil {
		t.Fatal(err)
	}
	found.add("PKCE verifier", flow.CodeVerifier)
	redirect, err := p.Login(ctx, flow.AuthURI, "mona")
	if err != nil {
		t.Fatal(err)
	}
	found.add("authorization code (flow)", redirect.Query().Get("code"))
	second, err := pub.AcquireTokenByAuthCodeFlow(ctx, flow, redirect.Query())
	if err != nil {
		t.Fatalf("auth code flow: %v", err)
	}
	found.add("access token (flow)", second.AccessToken)
	found.add("ID token (flow)", second.IDToken)

	// 3. A refresh, keeping the refresh tokens before and after rotation.
	rtBefore := refreshTokens(t, cache)
	refreshed, err := pub.AcquireTokenSilent(ctx, scopes, second.Account, identity.WithForceRefresh())
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == second.AccessToken {
		t.Fatal("force refresh returned the same access token")
	}
	found.add("access token (refreshed)", refreshed.AccessToken)
	rtAfter := refreshTokens(t, cache)
	for i, rt := range append(rtBefore, rtAfter...) {
		found.add("refresh token #"+string(rune('a'+i)), rt)
	}
	if len(rtBefore) == 0 {
		t.Fatal("no refresh token was cached: the refresh path was not exercised")
	}
	// A rotated-away refresh token is refused; the error must not echo it.
	var rotated string
	for _, rt := range rtBefore {
		if !slices.Contains(rtAfter, rt) {
			rotated = rt
		}
	}
	if rotated == "" {
		t.Fatal("the refresh did not rotate the refresh token")
	}
	_, err = pub.AcquireTokenByRefreshToken(ctx, rotated, scopes)
	if err == nil {
		t.Fatal("a rotated refresh token was accepted")
	}
	errorTexts = append(errorTexts, err.Error())

	// Redeeming the same code twice fails (and, per RFC 6749 §4.1.2, revokes what it
	// issued, so this comes after the refresh); its error text is what a user sees.
	_, err = pub.AcquireTokenByAuthCodeFlow(ctx, flow, redirect.Query())
	if err == nil {
		t.Fatal("a code was redeemed twice")
	}
	errorTexts = append(errorTexts, err.Error())

	// 4. An app-only token with the client secret.
	conf, err := identity.NewConfidentialClient(p.ConfidentialClientID, identity.NewSecretCredential(p.ClientSecret), opts...)
	if err != nil {
		t.Fatal(err)
	}
	found.add("client secret", p.ClientSecret)
	app, err := conf.AcquireTokenForClient(ctx, scopes)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	found.add("access token (app-only)", app.AccessToken)
	// A client with a wrong secret, on a cache of its own: app-only tokens are cached
	// per client and tenant (as MSAL does), so on the shared cache it would get the
	// good client's token without authenticating at all.
	bad, err := identity.NewConfidentialClient(p.ConfidentialClientID, identity.NewSecretCredential(p.ClientSecret+"-wrong"),
		identity.WithOIDCAuthority(p.Issuer), identity.WithLogger(logger), identity.WithPIILogging(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.AcquireTokenForClient(ctx, scopes); err == nil {
		t.Fatal("a wrong client secret was accepted")
	} else {
		errorTexts = append(errorTexts, err.Error())
	}
	found.add("wrong client secret", p.ClientSecret+"-wrong")

	// The cache key, in the forms it exists in.
	encodedKey, err := keyring.Get(storage.KeyringService, keyUser)
	if err != nil {
		t.Fatalf("cache key not in the keyring: %v", err)
	}
	rawKey, err := base64.StdEncoding.DecodeString(encodedKey)
	if err != nil || len(rawKey) != 32 {
		t.Fatalf("cache key is not 32 base64-encoded bytes")
	}
	found.add("cache key (base64)", encodedKey)
	found.add("cache key (hex)", hex.EncodeToString(rawKey))
	found.add("cache key (raw)", string(rawKey))

	// The test must have something to look for and somewhere to look.
	if len(found) < 14 {
		t.Fatalf("collected only %d secrets; the scenario did not run fully", len(found))
	}
	logText := logs.String()
	if !strings.Contains(logText, "level=DEBUG") {
		t.Fatal("debug logging produced nothing: the log check would prove nothing")
	}

	places := map[string]string{"debug log": logText, "error texts": strings.Join(errorTexts, "\n")}
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		places["file "+d.Name()] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := places["file "+storage.IndexFileName]; !ok {
		t.Fatalf("no %s was written: the file check would prove nothing", storage.IndexFileName)
	}
	if data, _ := filepath.Glob(filepath.Join(dir, "cache.d-*")); len(data) == 0 {
		t.Fatal("no data file (the sealed records) was written: the file check would prove nothing")
	}
	for where, text := range places {
		for name, value := range found {
			if strings.Contains(text, value) {
				t.Errorf("%s contains the %s", where, name)
			}
		}
	}
	t.Logf("checked %d secrets against the debug log (%d bytes), %d error texts and %d files",
		len(found), len(logText), len(errorTexts), files)
}

// refreshTokens returns the refresh tokens in the cache, read the way another MSAL
// app would read them: from the serialized unified schema.
func refreshTokens(t *testing.T, cache *identity.TokenCache) []string {
	t.Helper()
	data, err := cache.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		} `json:"RefreshToken"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(errors.Join(errors.New("cache is not the unified schema"), err))
	}
	var out []string
	for _, e := range doc.RefreshToken {
		out = append(out, e.Secret)
	}
	return out
}
