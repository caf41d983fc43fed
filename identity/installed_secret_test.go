package identity

import (
	"errors"
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// TestInstalledAppSecret signs in interactively with a client the provider only
// accepts with its secret (as Google's installed-app clients are): with
// WithInstalledAppSecret the sign-in and a refresh succeed; without it the token
// endpoint refuses the client.
func TestInstalledAppSecret(t *testing.T) {
	p := testenv.Provider(t)
	ctx := interactiveContext(t)
	redirect := WithInteractiveRedirectURI("http://127.0.0.1/")

	c, err := NewPublicClient(p.InstalledClientID, WithOIDCAuthority(p.Issuer), WithInstalledAppSecret(p.ClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	var bg background
	res, err := c.AcquireTokenInteractive(ctx, interactiveScopes, redirect, scriptedOpener(p, &bg, "ines"))
	bg.check(t)
	if err != nil || res.AccessToken == "" {
		t.Fatalf("sign-in with the installed-app secret: %v", err)
	}
	if _, err := c.AcquireTokenSilent(ctx, interactiveScopes, res.Account, WithForceRefresh()); err != nil {
		t.Fatalf("refresh with the installed-app secret: %v", err)
	}

	bare, err := NewPublicClient(p.InstalledClientID, WithOIDCAuthority(p.Issuer))
	if err != nil {
		t.Fatal(err)
	}
	var bg2 background
	_, err = bare.AcquireTokenInteractive(ctx, interactiveScopes, redirect, scriptedOpener(p, &bg2, "ines"))
	bg2.check(t)
	var e *Error
	if !errors.As(err, &e) || e.Code != "invalid_client" {
		t.Fatalf("sign-in without the secret: want invalid_client, got %v", err)
	}
}
