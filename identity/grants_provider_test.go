package identity

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// cachedRTs returns the refresh tokens in c's cache, read through the
// public serialization (the MSAL schema).
func cachedRTs(t *testing.T, c *ClientApplication) []string {
	t.Helper()
	data, err := c.TokenCache().Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rt := range doc.RefreshToken {
		out = append(out, rt.Secret)
	}
	return out
}

func TestProviderRefreshTokenRotation(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := providerClient(t, p)
	// prompt=consent: the provider otherwise leaves offline_access out of the refresh
	// token's scope, and refreshes asking for it (as MSAL's always do) get invalid_scope.
	providerSignIn(t, ctx, p, c, "carol", WithPrompt(PromptConsent))
	rts := cachedRTs(t, c.ClientApplication)
	if len(rts) != 1 {
		t.Fatalf("%d refresh tokens cached, want 1", len(rts))
	}
	old := rts[0]

	// Migration into a fresh client: the refresh token is stored, and rotated.
	c2 := providerClient(t, p)
	res, err := c2.AcquireTokenByRefreshToken(ctx, old, []string{"email"})
	if err != nil {
		t.Fatalf("AcquireTokenByRefreshToken: %v", err)
	}
	if res.AccessToken == "" || res.Account.IsZero() {
		t.Fatalf("no access token or account from the refresh")
	}
	rotated := cachedRTs(t, c2.ClientApplication)
	if len(rotated) != 1 || rotated[0] == old {
		t.Fatalf("refresh token not stored or not rotated")
	}

	// Reusing the old refresh token revokes the grant: a typed invalid_grant.
	_, err = c2.AcquireTokenByRefreshToken(ctx, old, []string{"email"})
	var e *Error
	if !errors.As(err, &e) || e.Code != "invalid_grant" || e.StatusCode != 400 || !errors.Is(err, ErrInteractionRequired) {
		t.Fatalf("reused refresh token: err = %v, want invalid_grant", err)
	}
	// ... and the rotated one died with the grant.
	if _, err := c2.AcquireTokenByRefreshToken(ctx, rotated[0], []string{"email"}); !errors.Is(err, ErrInteractionRequired) {
		t.Fatalf("refresh token of a revoked grant: err = %v, want invalid_grant", err)
	}
}

func TestProviderDeviceFlow(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := providerClient(t, p)
	polls := 0
	c.transport.pause = pauseFunc(func(ctx context.Context, d time.Duration) error {
		polls++
		if d < deviceDefaultInterval {
			t.Errorf("poll interval %v below the 5 s default", d)
		}
		return sleepCtx(ctx, 20*time.Millisecond)
	})
	flow, err := c.InitiateDeviceFlow(ctx, []string{"email"})
	if err != nil {
		t.Fatal(err)
	}
	if flow.Interval != deviceDefaultInterval || flow.UserCode == "" || flow.VerificationURI == "" {
		t.Fatalf("flow = interval %v, user code %q, uri %q", flow.Interval, flow.UserCode, flow.VerificationURI)
	}
	approved := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // let the first poll see authorization_pending
		approved <- p.ApproveDeviceCode(ctx, flow.UserCode, "dave")
	}()
	res, err := c.AcquireTokenByDeviceFlow(ctx, flow)
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceFlow: %v", err)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	if res.IDTokenClaims.StringClaim("sub") != "dave" {
		t.Errorf("sub = %v, want dave", res.IDTokenClaims.StringClaim("sub"))
	}
	if polls == 0 {
		t.Errorf("no authorization_pending poll was seen")
	}
}

func TestProviderDeviceFlowCancel(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := providerClient(t, p)
	flow, err := c.InitiateDeviceFlow(ctx, []string{"email"})
	if err != nil {
		t.Fatal(err)
	}
	pollCtx, stop := context.WithCancel(ctx)
	c.transport.pause = pauseFunc(func(ctx context.Context, d time.Duration) error {
		stop()
		return sleepCtx(ctx, d)
	})
	_, err = c.AcquireTokenByDeviceFlow(pollCtx, flow)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestProviderClientCredentials(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := NewConfidentialClient(p.ConfidentialClientID, NewSecretCredential(p.ClientSecret), WithOIDCAuthority(p.Issuer))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.AcquireTokenForClient(ctx, []string{"api://tokendesk/read"})
	if err != nil {
		t.Fatalf("AcquireTokenForClient: %v", err)
	}
	if res.AccessToken == "" || res.Source != SourceIdentityProvider || !res.Account.IsZero() {
		t.Fatalf("first call: source %v, account %+v", res.Source, res.Account)
	}
	again, err := c.AcquireTokenForClient(ctx, []string{"api://tokendesk/read"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Source != SourceCache || again.AccessToken != res.AccessToken {
		t.Fatalf("second call did not come from the cache (source %v)", again.Source)
	}
	forced, err := c.AcquireTokenForClient(ctx, []string{"api://tokendesk/read"}, WithForceRefresh())
	if err != nil || forced.Source != SourceIdentityProvider {
		t.Fatalf("WithForceRefresh: source %v, err %v", forced.Source, err)
	}

	bad, err := NewConfidentialClient(p.ConfidentialClientID, NewSecretCredential("wrong"), WithOIDCAuthority(p.Issuer))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.AcquireTokenForClient(ctx, []string{"api://tokendesk/read"})
	var e *Error
	if !errors.As(err, &e) || e.Code != "invalid_client" {
		t.Fatalf("wrong secret: err = %v, want invalid_client", err)
	}
}

// TestProviderStockConsentPolicy keeps one test on oidc-provider's stock rules, which
// real providers share: without prompt=consent no refresh token is issued, and the
// sign-in still succeeds with the tokens it got.
func TestProviderStockConsentPolicy(t *testing.T) {
	p := testenv.NewProvider(t, testenv.WithStockConsentPolicy())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := providerClient(t, p)
	res, _ := providerSignIn(t, ctx, p, c, "erin")
	if res.AccessToken == "" || res.IDTokenClaims.StringClaim("sub") != "erin" {
		t.Fatalf("sign-in under the stock policy: %+v", res.IDTokenClaims)
	}
	if rts := cachedRTs(t, c.ClientApplication); len(rts) != 0 {
		t.Errorf("%d refresh tokens cached without prompt=consent, want 0", len(rts))
	}
	c2 := providerClient(t, p)
	providerSignIn(t, ctx, p, c2, "erin", WithPrompt(PromptConsent))
	if rts := cachedRTs(t, c2.ClientApplication); len(rts) != 1 {
		t.Errorf("%d refresh tokens cached with prompt=consent, want 1", len(rts))
	}
}

// TestProviderIDTokenKeyRotation checks ID token signatures against real provider
// keys: a JWKS cached from before a restart (another instance's keys) is re-fetched
// when the kid is unknown, and a token signed by another provider's key is refused.
func TestProviderIDTokenKeyRotation(t *testing.T) {
	p1 := testenv.Provider(t)
	p2 := testenv.NewProvider(t) // its keys stand for p1's keys before a restart
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c := providerClient(t, p1)
	info, err := c.resolveAuthority(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	stale, err := c.transport.fetchJWKS(ctx, p2.Endpoint("jwks_uri"))
	if err != nil {
		t.Fatal(err)
	}
	current, err := c.transport.fetchJWKS(ctx, info.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale.Keys) == 0 || len(current.Keys) == 0 || stale.Keys[0].KeyID == current.Keys[0].KeyID {
		// testenv's provider generates a signing key per start; a shared kid means the
		// rotation below would prove nothing.
		t.Fatalf("provider instances must sign with different keys (stale %d keys, current %d keys)", len(stale.Keys), len(current.Keys))
	}
	c.transport.jwksFor(info.JWKSURI).keys = stale
	res, _ := providerSignIn(t, ctx, p1, c, "frank")
	if res.IDTokenClaims.StringClaim("sub") != "frank" {
		t.Fatalf("sign-in after a key change: claims %v", res.IDTokenClaims)
	}
	if st := c.transport.jwksFor(info.JWKSURI); st.lastRefetch.IsZero() {
		t.Error("the unknown kid did not trigger a JWKS re-fetch")
	}

	// A genuine ID token of another provider: signed by a key p1 never published.
	other, _ := providerSignIn(t, ctx, p2, providerClient(t, p2), "mallory")
	fresh := providerClient(t, p1)
	if _, err := fresh.resolveAuthority(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.transport.verifyIDToken(ctx, info.JWKSURI, other.IDToken); !errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("foreign ID token: err = %v, want ErrInvalidIDToken", err)
	}
	if _, err := fresh.checkIDToken(ctx, info, other.IDToken, "", nil); err == nil {
		t.Fatal("foreign ID token accepted by checkIDToken")
	}
}
