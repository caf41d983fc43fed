package usecase

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/browser"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testScope = "api://tokendesk/read"

func localProfile(p *testenv.OIDCProvider) profile.Profile {
	return profile.Profile{Name: "Local", Issuer: p.Issuer, ClientID: p.PublicClientID,
		RedirectURI: "http://127.0.0.1/", FavouriteScopes: []string{testScope}}
}

func newProviderDesk(t *testing.T, cfg ConfigStore, cache *identity.TokenCache) *Desk {
	t.Helper()
	d, err := New(Deps{Config: cfg, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestProviderSignInTokenSignOut(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newProviderDesk(t, NewMemoryConfig(localProfile(p)), identity.NewTokenCache())
	opener, browserErr := p.Opener("alice")
	var authURL string
	v, err := d.SignIn(ctx, "", SignInOptions{Opener: opener, OnAuthURL: func(u string) { authURL = u }})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, <-browserErr)
	}
	if err := <-browserErr; err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(authURL, p.Issuer) || v.Username != "alice@example.test" || v.DisplayName != "Alice" || v.TenantOrIssuer != p.Issuer {
		t.Fatalf("SignIn = %+v (auth URL %q)", v, authURL)
	}

	accs, err := d.Accounts(ctx)
	if err != nil || len(accs) != 1 || accs[0].Key != v.Key || accs[0].Status != StatusValid || accs[0].ExpiresOn.IsZero() {
		t.Fatalf("Accounts = %+v, %v", accs, err)
	}
	byName, err := d.FindAccount(ctx, "ALICE@example.test", "")
	if err != nil || byName.Key != v.Key {
		t.Fatalf("FindAccount by username = %+v, %v", byName, err)
	}

	res, err := d.Token(ctx, v.Key, []string{testScope}, false)
	if err != nil || res.AccessToken == "" || res.Source != identity.SourceCache {
		t.Fatalf("Token after sign-in: source %v, %v", res.Source, err)
	}
	refreshed, err := d.Token(ctx, v.Key, []string{testScope}, true)
	if err != nil || refreshed.Source != identity.SourceIdentityProvider || refreshed.AccessToken == res.AccessToken {
		t.Fatalf("forced refresh: source %v, same token %v, %v", refreshed.Source, refreshed.AccessToken == res.AccessToken, err)
	}
	if in := Inspect(refreshed.IDToken); !in.JWT || !strings.Contains(in.Claims, `"alice"`) {
		t.Errorf("ID token inspection: %+v", in)
	}

	scopes, err := d.Scopes(ctx, v.Key)
	if err != nil || len(scopes) != 1 || scopes[0].Name != testScope {
		t.Errorf("Scopes = %v, %v", scopes, err)
	}

	if err := d.SignOut(ctx, v.Key); err != nil {
		t.Fatal(err)
	}
	if accs, err := d.Accounts(ctx); err != nil || len(accs) != 0 {
		t.Fatalf("after sign out: %+v, %v", accs, err)
	}
	if _, err := d.Token(ctx, v.Key, []string{testScope}, false); !errors.Is(err, ErrNoAccount) {
		t.Errorf("token after sign out: %v", err)
	}
}

// TestProviderStatusAndInteractionRequired drops cache sections the way expiry and
// revocation would, and checks the status the list shows and the error Token returns.
func TestProviderStatusAndInteractionRequired(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cache := identity.NewTokenCache()
	d := newProviderDesk(t, NewMemoryConfig(localProfile(p)), cache)
	opener, browserErr := p.Opener("erin")
	v, err := d.SignIn(ctx, "Local", SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, <-browserErr)
	}
	drop := func(section string) {
		t.Helper()
		data, err := cache.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		doc[section] = json.RawMessage("{}")
		data, _ = json.Marshal(doc)
		if err := cache.Deserialize(data); err != nil {
			t.Fatal(err)
		}
	}
	status := func() Status {
		t.Helper()
		a, err := d.FindAccount(ctx, v.Key, "")
		if err != nil {
			t.Fatal(err)
		}
		return a.Status
	}
	if s := status(); s != StatusValid {
		t.Fatalf("fresh sign-in status %v", s)
	}
	drop("AccessToken")
	if s := status(); s != StatusExpiredRefreshable {
		t.Errorf("without access tokens: %v, want %v", s, StatusExpiredRefreshable)
	}
	drop("RefreshToken")
	if s := status(); s != StatusNeedsSignIn {
		t.Errorf("without any token: %v, want %v", s, StatusNeedsSignIn)
	}
	_, err = d.Token(ctx, v.Key, []string{testScope}, false)
	if !errors.Is(err, identity.ErrInteractionRequired) || !strings.Contains(err.Error(), "Erin") {
		t.Errorf("Token with nothing cached: %v, want ErrInteractionRequired naming the account", err)
	}
}

func TestProviderDeviceCode(t *testing.T) {
	if testing.Short() {
		t.Skip("device flow polls every 5 s")
	}
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newProviderDesk(t, NewMemoryConfig(localProfile(p)), identity.NewTokenCache())
	approved := make(chan error, 1)
	v, err := d.SignInWithDeviceCode(ctx, "Local", DeviceCodeOptions{OnCode: func(dc DeviceCode) {
		if dc.UserCode == "" || !strings.HasPrefix(dc.VerificationURI, p.Issuer) {
			approved <- errors.New("device code lacks code or link")
			return
		}
		go func() { approved <- p.ApproveDeviceCode(ctx, dc.UserCode, "dave") }()
	}})
	if aerr := <-approved; aerr != nil {
		t.Fatal(aerr)
	}
	if err != nil || v.Username != "dave@example.test" {
		t.Fatalf("device code sign-in = %+v, %v", v, err)
	}
}

func TestProviderAddProfile(t *testing.T) {
	p := testenv.Provider(t)
	ctx := context.Background()
	d := newProviderDesk(t, NewMemoryConfig(), identity.NewTokenCache())
	if err := d.AddProfile(ctx, profile.Profile{Name: "Local", Issuer: p.Issuer, ClientID: p.PublicClientID}); err != nil {
		t.Fatalf("discovery of the real provider: %v", err)
	}
	err := d.AddProfile(ctx, profile.Profile{Name: "Typo", Issuer: p.Issuer + "/typo", ClientID: p.PublicClientID})
	if !errors.Is(err, ErrProfileInvalid) {
		t.Errorf("a wrong issuer path: %v", err)
	}
}

// TestProviderSignInForegroundLauncher: the system browser's launcher stays in the
// foreground until the redirect has been answered (xdg-open in generic mode). Sign-in
// must neither wait for the launcher nor hold the redirect until it exits.
func TestProviderSignInForegroundLauncher(t *testing.T) {
	p := testenv.Provider(t)
	l := p.NewForegroundLauncher(t, "ivan")
	t.Setenv("PATH", l.PathEnv())
	t.Setenv("DISPLAY", ":0") // only looked at: a browser is deemed openable
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := newProviderDesk(t, NewMemoryConfig(localProfile(p)), identity.NewTokenCache())
	v, err := d.SignIn(ctx, "", SignInOptions{}) // no Opener: the system browser
	if err != nil {
		t.Fatalf("SignIn with a foreground launcher: %v", err)
	}
	if err := <-l.Logins(); err != nil {
		t.Fatalf("scripted browser: %v", err)
	}
	if v.Username != "ivan@example.test" {
		t.Fatalf("signed in as %+v", v)
	}
}

// TestProviderScopeAddedLater: oidc-provider binds a refresh token to the scopes granted
// at sign-in, so a scope added afterwards is refused (invalid_scope) until the user
// signs in again asking for it too; SignInForScopes does that with the account's login
// hint and returns the token.
func TestProviderScopeAddedLater(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newProviderDesk(t, NewMemoryConfig(localProfile(p)), identity.NewTokenCache())
	opener, browserErr := p.Opener("lena")
	v, err := d.SignIn(ctx, "", SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, <-browserErr)
	}
	const later = "api://tokendesk/added-later"
	if err := d.AddScope(ctx, v.Key, later); err != nil {
		t.Fatal(err)
	}
	_, err = d.Token(ctx, v.Key, []string{later}, false)
	var need *SignInNeededError
	if !errors.As(err, &need) || !errors.Is(err, identity.ErrInteractionRequired) {
		t.Fatalf("Token for a scope not consented: %v, want a SignInNeededError", err)
	}
	if strings.Contains(err.Error(), "usecase:") || !strings.Contains(err.Error(), "Lena must sign in again") {
		t.Errorf("error text %q", err)
	}

	opener, browserErr = p.Opener("lena")
	var authURL string
	res, err := d.SignInForScopes(ctx, v.Key, need.Scopes, need.Claims, SignInOptions{Opener: opener, OnAuthURL: func(u string) { authURL = u }})
	if err != nil {
		t.Fatalf("SignInForScopes: %v (browser: %v)", err, <-browserErr)
	}
	q := mustQuery(t, authURL)
	if q.Get("login_hint") != "lena@example.test" || !strings.Contains(q.Get("scope"), later) || !strings.Contains(q.Get("scope"), testScope) {
		t.Errorf("incremental sign-in asked login_hint %q scope %q", q.Get("login_hint"), q.Get("scope"))
	}
	if res.AccessToken == "" || AccountKey(res.Account) != v.Key {
		t.Fatalf("SignInForScopes gave account %q, token %v", AccountKey(res.Account), res.AccessToken != "")
	}
	for _, sc := range []string{later, testScope} {
		got, err := d.Token(ctx, v.Key, []string{sc}, true)
		if err != nil {
			t.Errorf("refreshing %s after the new consent: %v", sc, err)
		} else if got.Source != identity.SourceIdentityProvider {
			t.Errorf("forced refresh of %s came from %v", sc, got.Source)
		}
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestProviderShortLivedTokenFromCache: a provider issuing 5-minute access tokens (as
// zitadel does) has them served from the cache, not refreshed on every call as MSAL's
// fixed 5-minute margin would.
func TestProviderShortLivedTokenFromCache(t *testing.T) {
	p := testenv.NewProvider(t, testenv.WithAccessTokenLifetime(5*time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var offset atomic.Int64 // the test's clock runs ahead of the wall clock by this
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	d, err := New(Deps{Config: NewMemoryConfig(localProfile(p)), Cache: identity.NewTokenCache(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	opener, browserErr := p.Opener("nora")
	v, err := d.SignIn(ctx, "", SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, <-browserErr)
	}
	first, err := d.Token(ctx, v.Key, []string{testScope}, false)
	if err != nil {
		t.Fatal(err)
	}
	if life := first.ExpiresOn.Sub(clock()); life > 5*time.Minute || life < 4*time.Minute {
		t.Fatalf("the provider issued a token for %v, want 5 minutes", life)
	}
	// A minute later, 4 minutes are left: less than MSAL's margin, far more than needed.
	offset.Store(int64(time.Minute))
	for i := range 2 {
		got, err := d.Token(ctx, v.Key, []string{testScope}, false)
		if err != nil {
			t.Fatal(err)
		}
		if got.Source != identity.SourceCache || got.AccessToken != first.AccessToken {
			t.Errorf("call %d a minute into a 5-minute token: source %v, same token %v; want the cached one", i+1, got.Source, got.AccessToken == first.AccessToken)
		}
	}
	// 30 s before expiry the token counts as expired and is refreshed.
	offset.Store(int64(4*time.Minute + 35*time.Second))
	got, err := d.Token(ctx, v.Key, []string{testScope}, false)
	if err != nil || got.Source != identity.SourceIdentityProvider {
		t.Errorf("25 s before expiry: source %v (%v), want a refresh", got.Source, err)
	}
}

func zitadelProfile(z *testenv.ZitadelOP, scopes ...string) profile.Profile {
	return profile.Profile{Name: "Zitadel", Issuer: z.Issuer, ClientID: z.ClientID, RedirectURI: z.RedirectURI, FavouriteScopes: scopes}
}

// zitadelBrowser is an Opener that signs testenv.ZitadelUser in at z.
func zitadelBrowser(z *testenv.ZitadelOP) (Opener, <-chan error) {
	errc := make(chan error, 1)
	return func(ctx context.Context, authURL string) error {
		err := z.LoginAndDeliver(ctx, authURL, testenv.ZitadelUser)
		errc <- err
		return err
	}, errc
}

// TestZitadelSignInRefreshScopeNames: the second real provider, zitadel/oidc's example
// OP: sign-in through a redirect URI with a path, names from userinfo (its ID token has
// none), 5-minute tokens from the cache, refresh, and a scope added later.
func TestZitadelSignInRefreshScopeNames(t *testing.T) {
	z := testenv.Zitadel(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := NewMemoryConfig()
	d := newProviderDesk(t, cfg, identity.NewTokenCache())
	if err := d.AddProfile(ctx, zitadelProfile(z, "email")); err != nil {
		t.Fatalf("AddProfile for zitadel (issuer with a slash, redirect URI with a path): %v", err)
	}
	opener, browserErr := zitadelBrowser(z)
	v, err := d.SignIn(ctx, "", SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, <-browserErr)
	}
	if v.Username != testenv.ZitadelUser || v.DisplayName != testenv.ZitadelUserName {
		t.Errorf("account username %q name %q, want %q %q (from userinfo)", v.Username, v.DisplayName, testenv.ZitadelUser, testenv.ZitadelUserName)
	}
	accs, err := d.Accounts(ctx)
	if err != nil || len(accs) != 1 || accs[0].Username != testenv.ZitadelUser || accs[0].DisplayName != testenv.ZitadelUserName {
		t.Errorf("Accounts = %+v, %v", accs, err)
	}
	if byName, err := d.FindAccount(ctx, testenv.ZitadelUser, ""); err != nil || byName.Key != v.Key {
		t.Errorf("FindAccount by the userinfo username: %+v, %v", byName, err)
	}
	if s, _ := cfg.Load(ctx); len(s.Names) != 1 {
		t.Errorf("names recorded: %+v", s.Names)
	}

	first, err := d.Token(ctx, v.Key, []string{"email"}, false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.Token(ctx, v.Key, []string{"email"}, false)
	if err != nil || again.Source != identity.SourceCache || again.AccessToken != first.AccessToken {
		t.Errorf("second call: source %v (%v), want the cached 5-minute token", again.Source, err)
	}
	fresh, err := d.Token(ctx, v.Key, []string{"email"}, true)
	if err != nil || fresh.Source != identity.SourceIdentityProvider || fresh.AccessToken == first.AccessToken {
		t.Fatalf("refresh: source %v, %v", fresh.Source, err)
	}

	if err := d.AddScope(ctx, v.Key, "phone"); err != nil {
		t.Fatal(err)
	}
	_, err = d.Token(ctx, v.Key, []string{"phone"}, false)
	var need *SignInNeededError
	if !errors.As(err, &need) {
		t.Fatalf("Token for a scope added later: %v, want a SignInNeededError", err)
	}
	opener, browserErr = zitadelBrowser(z)
	res, err := d.SignInForScopes(ctx, v.Key, need.Scopes, need.Claims, SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("SignInForScopes: %v (browser: %v)", err, <-browserErr)
	}
	if res.AccessToken == "" || AccountKey(res.Account) != v.Key {
		t.Fatalf("SignInForScopes: account %q", AccountKey(res.Account))
	}
	for _, sc := range []string{"phone", "email"} {
		if got, err := d.Token(ctx, v.Key, []string{sc}, false); err != nil || got.Source != identity.SourceCache {
			t.Errorf("token for %s after the new consent: source %v, %v", sc, got.Source, err)
		}
	}
	// zitadel's example narrows a refresh token to the scopes of the refresh that
	// renews it (RFC 6749 §6 wants the same scope), so one refresh asks for both.
	if _, err := d.Token(ctx, v.Key, []string{"phone", "email"}, true); err != nil {
		t.Errorf("refresh for both scopes after the new consent: %v", err)
	}
}

// TestProviderRefusedRefreshStatus: when the provider refuses the refresh token (here
// a rotated-away one, as after a revoked session), the account is listed as "refresh
// token refused", not "valid", by every Desk on the same configuration, even while an
// access token is still cached; a new sign-in clears it.
func TestProviderRefusedRefreshStatus(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := NewMemoryConfig(localProfile(p))
	cache := identity.NewTokenCache()
	d := newProviderDesk(t, cfg, cache)
	opener, browserErr := p.Opener("pia")
	v, err := d.SignIn(ctx, "", SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, <-browserErr)
	}
	before, err := cache.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Token(ctx, v.Key, []string{testScope}, true); err != nil {
		t.Fatal(err) // rotates the refresh token
	}
	if err := cache.Deserialize(before); err != nil {
		t.Fatal(err) // the rotated-away refresh token is back, the access token valid
	}
	_, err = d.Token(ctx, v.Key, []string{testScope}, true)
	var need *SignInNeededError
	if !errors.As(err, &need) {
		t.Fatalf("refresh with a rotated-away refresh token: %v", err)
	}
	other := newProviderDesk(t, cfg, cache) // another process's view of the same files
	a, err := other.FindAccount(ctx, v.Key, "")
	if err != nil || a.Status != StatusRefreshRefused || a.Status.String() != "refresh token refused" {
		t.Fatalf("status after the refusal: %v (%v), want %v", a.Status, err, StatusRefreshRefused)
	}
	opener, browserErr = p.Opener("pia")
	if _, err := d.SignIn(ctx, "", SignInOptions{Opener: opener, LoginHint: "pia"}); err != nil {
		t.Fatalf("SignIn again: %v (browser: %v)", err, <-browserErr)
	}
	if a, _ := other.FindAccount(ctx, v.Key, ""); a.Status != StatusValid {
		t.Errorf("status after signing in again: %v", a.Status)
	}
}

// TestZitadelRealBrowser: a real (headless) Chromium signs in at zitadel's example OP
// through the redirect URI with a path; the browser ends on Tokendesk's page.
func TestZitadelRealBrowser(t *testing.T) {
	z := testenv.Zitadel(t)
	chrome := browser.Start(t, browser.Require(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newProviderDesk(t, NewMemoryConfig(zitadelProfile(z, "email")), identity.NewTokenCache())
	v, err := d.SignIn(ctx, "", SignInOptions{Opener: chrome.FormLoginOpener(browser.LoginForm{
		UserField: "username", PasswordField: "password", Username: testenv.ZitadelUser, Password: testenv.ZitadelPassword})})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, chrome.Err())
	}
	if err := chrome.Err(); err != nil {
		t.Fatal(err)
	}
	if v.Username != testenv.ZitadelUser || v.DisplayName != testenv.ZitadelUserName {
		t.Errorf("account %q %q", v.Username, v.DisplayName)
	}
	if loc, text, err := chrome.Page(); err != nil || !strings.HasPrefix(loc, "http://127.0.0.1:") || !strings.Contains(loc, "/auth/callback") || !strings.Contains(text, "Sign-in complete") {
		t.Errorf("the browser ends on %q: %.200q (%v)", loc, text, err)
	}
}

// TestProviderSignInCarriesClaims: a claims challenge (SignInNeededError.Claims, or
// login --claims) reaches the authorization request.
func TestProviderSignInCarriesClaims(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newProviderDesk(t, NewMemoryConfig(localProfile(p)), identity.NewTokenCache())
	const claims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	var authURL string
	_, err := d.SignIn(ctx, "", SignInOptions{Claims: claims, AddScopes: []string{"api://tokendesk/more"},
		OnAuthURL: func(u string) { authURL = u },
		Opener:    func(context.Context, string) error { return errors.New("no browser in this test") }})
	if !errors.Is(err, identity.ErrBrowserUnavailable) {
		t.Fatalf("SignIn: %v", err)
	}
	q := mustQuery(t, authURL)
	if !strings.Contains(q.Get("claims"), `"acrs"`) || !strings.Contains(q.Get("scope"), "api://tokendesk/more") || !strings.Contains(q.Get("scope"), testScope) {
		t.Errorf("authorization request: claims %q, scope %q", q.Get("claims"), q.Get("scope"))
	}
}
