package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// TestProviderAuthorizationCodeWithVerifier redeems a code obtained through
// AuthorizationRequestURL (no flow object) at a provider that requires PKCE: the
// verifier given with WithCodeVerifier must reach the token endpoint, and leaving it
// out must fail with the provider's typed error.
func TestProviderAuthorizationCodeWithVerifier(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := providerClient(t, p)
	const redirectURI = "http://127.0.0.1:8401/"

	codeFor := func(verifier string) string {
		t.Helper()
		sum := sha256.Sum256([]byte(verifier))
		raw, err := c.AuthorizationRequestURL(ctx, []string{"email"}, WithRedirectURI(redirectURI), WithState("s"),
			WithExtraQueryParameters(map[string]string{
				"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
				"code_challenge_method": "S256",
			}))
		if err != nil {
			t.Fatal(err)
		}
		redirect, err := p.Login(ctx, raw, "victor")
		if err != nil {
			t.Fatal(err)
		}
		code := redirect.Query().Get("code")
		if code == "" {
			t.Fatalf("no code in the redirect (error %q)", redirect.Query().Get("error"))
		}
		return code
	}

	verifier := rand.Text() + rand.Text()
	res, err := c.AcquireTokenByAuthorizationCode(ctx, codeFor(verifier), []string{"email"},
		WithRedirectURI(redirectURI), WithCodeVerifier(verifier))
	if err != nil {
		t.Fatalf("redeem with verifier: %v", err)
	}
	if res.AccessToken == "" || res.Account.HomeAccountID == "" {
		t.Fatalf("redeem with verifier gave no token or account")
	}

	_, err = c.AcquireTokenByAuthorizationCode(ctx, codeFor(rand.Text()+rand.Text()), []string{"email"},
		WithRedirectURI(redirectURI))
	var e *Error
	if !errors.As(err, &e) || e.Code == "" {
		t.Fatalf("redeem without verifier: want the provider's *Error, got %v", err)
	}
}
