package identity

// Benchmarks of a whole interactive sign-in against the real OpenID provider.

import (
	"context"
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

func benchClient(b *testing.B) (*testenv.OIDCProvider, context.Context, *PublicClient) {
	p := testenv.Provider(b)
	c, err := NewPublicClient(p.PublicClientID, WithOIDCAuthority(p.Issuer))
	if err != nil {
		b.Fatal(err)
	}
	return p, interactiveContext(b), c
}

// BenchmarkInteractiveSignIn is a whole scripted sign-in through AcquireTokenInteractive:
// listener, authorization at the provider, redirect, code redemption.
func BenchmarkInteractiveSignIn(b *testing.B) {
	p, ctx, c := benchClient(b)
	for b.Loop() {
		_, err := c.AcquireTokenInteractive(ctx, interactiveScopes,
			WithInteractiveRedirectURI("http://127.0.0.1/"),
			WithOpener(func(ctx context.Context, u string) error {
				go func() { _ = p.LoginAndDeliver(ctx, u, "alice") }()
				return nil
			}))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProviderSignIn is the provider's share of BenchmarkInteractiveSignIn: the
// same auth code flow with the redirect taken from the scripted browser directly, no
// listener. The difference between the two is what the loopback path costs.
func BenchmarkProviderSignIn(b *testing.B) {
	p, ctx, c := benchClient(b)
	for b.Loop() {
		flow, err := c.InitiateAuthCodeFlow(ctx, interactiveScopes, WithRedirectURI("http://127.0.0.1:8400/"))
		if err != nil {
			b.Fatal(err)
		}
		redirect, err := p.Login(ctx, flow.AuthURI, "alice")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, redirect.Query()); err != nil {
			b.Fatal(err)
		}
	}
}
