package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

func providerClient(t *testing.T, p *testenv.OIDCProvider, opts ...Option) *PublicClient {
	t.Helper()
	c, err := NewPublicClient(p.PublicClientID, append([]Option{WithOIDCAuthority(p.Issuer)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newProviderPublicClient is providerClient under the name interactive_test.go uses.
func newProviderPublicClient(t *testing.T, p *testenv.OIDCProvider, opts ...Option) *PublicClient {
	t.Helper()
	return providerClient(t, p, opts...)
}

// providerSignIn runs the auth code flow against the provider with the scripted browser.
func providerSignIn(t *testing.T, ctx context.Context, p *testenv.OIDCProvider, c *PublicClient, user string, opts ...CallOption) (Result, *AuthCodeFlow) {
	t.Helper()
	flow, err := c.InitiateAuthCodeFlow(ctx, []string{"email"}, append([]CallOption{WithRedirectURI("http://127.0.0.1:8400/")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := p.Login(ctx, flow.AuthURI, user)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, redirect.Query())
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCodeFlow: %v", err)
	}
	return res, flow
}

func TestProviderAuthCodeFlow(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := providerClient(t, p)
	res, flow := providerSignIn(t, ctx, p, c, "alice")
	if res.AccessToken == "" || res.IDToken == "" {
		t.Fatalf("missing tokens: access %v, id %v", res.AccessToken != "", res.IDToken != "")
	}
	if got := res.IDTokenClaims.StringClaim("sub"); got != "alice" {
		t.Errorf("sub = %v, want alice", got)
	}
	if got := res.IDTokenClaims.StringClaim("nonce"); got != nonceHash(flow.Nonce) {
		t.Errorf("nonce claim is not the hash of the flow's nonce")
	}
	u, _ := url.Parse(flow.AuthURI)
	q := u.Query()
	for k, want := range map[string]string{"code_challenge_method": "S256", "response_type": "code", "client_id": p.PublicClientID} {
		if q.Get(k) != want {
			t.Errorf("auth request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if !strings.Contains(q.Get("scope"), "offline_access") || !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("scope %q lacks reserved scopes", q.Get("scope"))
	}
	if q.Get("client_info") != "" {
		t.Errorf("client_info sent to a generic OIDC provider")
	}
}

func TestProviderAuthCodeFlowErrors(t *testing.T) {
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := providerClient(t, p)
	start := func() *AuthCodeFlow {
		flow, err := c.InitiateAuthCodeFlow(ctx, []string{"email"}, WithRedirectURI("http://127.0.0.1:8400/"))
		if err != nil {
			t.Fatal(err)
		}
		return flow
	}
	// login starts a flow and signs bob in, returning the redirect's parameters.
	login := func(t *testing.T) (*AuthCodeFlow, url.Values) {
		flow := start()
		redirect, err := p.Login(ctx, flow.AuthURI, "bob")
		if err != nil {
			t.Fatal(err)
		}
		return flow, redirect.Query()
	}

	t.Run("access denied", func(t *testing.T) {
		flow := start()
		redirect, err := p.Abort(ctx, flow.AuthURI)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.AcquireTokenByAuthCodeFlow(ctx, flow, redirect.Query())
		var e *Error
		if !errors.As(err, &e) || e.Code != "access_denied" {
			t.Fatalf("err = %v, want *Error access_denied", err)
		}
	})
	t.Run("state mismatch", func(t *testing.T) {
		flow, q := login(t)
		q.Set("state", "forged")
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, q); !errors.Is(err, ErrStateMismatch) {
			t.Fatalf("err = %v, want ErrStateMismatch", err)
		}
	})
	t.Run("wrong iss", func(t *testing.T) {
		flow, q := login(t)
		q.Set("iss", "http://127.0.0.1:1/evil")
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, q); !errors.Is(err, ErrIssuerMismatch) {
			t.Fatalf("err = %v, want ErrIssuerMismatch", err)
		}
	})
	t.Run("missing iss", func(t *testing.T) {
		flow, q := login(t)
		q.Del("iss")
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, q); !errors.Is(err, ErrIssuerMismatch) {
			t.Fatalf("err = %v, want ErrIssuerMismatch (discovery promises iss)", err)
		}
	})
	t.Run("nonce mismatch", func(t *testing.T) {
		flow, q := login(t)
		flow.Nonce = "another"
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, q); !errors.Is(err, ErrNonceMismatch) {
			t.Fatalf("err = %v, want ErrNonceMismatch", err)
		}
	})
	t.Run("scope not a subset", func(t *testing.T) {
		flow := start()
		flow.Scopes = []string{"email", "phone"}
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, url.Values{"state": {flow.State}, "code": {"x"}}); err == nil {
			t.Fatal("redeemed scopes beyond the request")
		}
	})
	t.Run("code replay", func(t *testing.T) {
		flow, q := login(t)
		if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, q); err != nil {
			t.Fatal(err)
		}
		_, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, q)
		var e *Error
		if !errors.As(err, &e) || e.Code != "invalid_grant" || !errors.Is(err, ErrInteractionRequired) {
			t.Fatalf("replayed code: err = %v, want invalid_grant", err)
		}
	})
}
