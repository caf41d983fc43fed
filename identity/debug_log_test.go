package identity

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

func TestDebugLogsHoldNoSecrets(t *testing.T) {
	ctx := context.Background()
	var logs testenv.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeEntra(t)
	var secrets []string
	f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
		for _, k := range []string{"code", "refresh_token", "password", "client_secret", "code_verifier"} {
			if v := form.Get(k); v != "" {
				secrets = append(secrets, v)
			}
		}
		f.success(w, r, form)
	}
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common", WithLogger(logger))
	flow, err := c.InitiateAuthCodeFlow(ctx, []string{"User.Read"})
	if err != nil {
		t.Fatal(err)
	}
	f.idClaims = map[string]any{"nonce": nonceHash(flow.Nonce)}
	res, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, url.Values{"code": {"the-auth-code"}, "state": {flow.State}})
	if err != nil {
		t.Fatal(err)
	}
	f.idClaims = nil
	res2, err := c.AcquireTokenByRefreshToken(ctx, "the-refresh-token", []string{"User.Read"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireTokenByUsernamePassword(ctx, "alice@contoso.com", "the-password", []string{"User.Read"}); err != nil {
		t.Fatal(err)
	}
	cc, _ := NewConfidentialClient("client", NewSecretCredential("the-secret"), WithAuthority("https://login.microsoftonline.com/t1"),
		WithHTTPClient(f.client()), WithLogger(logger))
	if _, err := cc.AcquireTokenForClient(ctx, []string{"api://x/.default"}); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, res.AccessToken, res.IDToken, res2.AccessToken, flow.CodeVerifier, flow.Nonce, "alice@contoso.com")
	out := logs.String()
	if !strings.Contains(out, "token request") {
		t.Fatal("no debug log written: the test would prove nothing")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("debug log contains a secret or PII (%d characters)", len(s))
		}
	}
}
