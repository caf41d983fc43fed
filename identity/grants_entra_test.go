package identity

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUsernamePassword(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/organizations")
	res, err := c.AcquireTokenByUsernamePassword(ctx, "alice@contoso.com", "pw", []string{"User.Read"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.Username != "alice@contoso.com" {
		t.Errorf("account %+v", res.Account)
	}
	form := f.lastForm()
	if form.Get("grant_type") != "password" || form.Get("username") != "alice@contoso.com" {
		t.Errorf("form %v", form)
	}
	if got := f.lastHeader().Get("X-AnchorMailbox"); got != "upn:alice@contoso.com" {
		t.Errorf("X-AnchorMailbox = %q", got)
	}
	if f.count("/common/userrealm/alice@contoso.com") != 1 {
		t.Error("no user realm discovery")
	}

	f.realm = "Federated"
	_, err = c.AcquireTokenByUsernamePassword(ctx, "bob@contoso.com", "pw", []string{"User.Read"})
	var e *Error
	if !errors.Is(err, ErrFederatedUser) || !errors.As(err, &e) {
		t.Fatalf("federated user: err = %v, want ErrFederatedUser", err)
	}
	if f.count(tokenPathOf("organizations")) != 1 {
		t.Error("a federated user's password was sent to the token endpoint")
	}

	// AD FS has no user realm endpoint.
	adfs := fakeEntraPublic(t, f, "https://fs.contoso.com/adfs")
	if _, err := adfs.AcquireTokenByUsernamePassword(ctx, "carol@contoso.com", "pw", []string{"User.Read"}); err != nil {
		t.Fatal(err)
	}
	if f.count("/common/userrealm/carol@contoso.com") != 0 {
		t.Error("user realm discovery against AD FS")
	}
	if _, err := c.AcquireTokenByUsernamePassword(ctx, "", "pw", []string{"User.Read"}); err == nil {
		t.Error("empty username accepted")
	}
	if _, err := c.AcquireTokenByUsernamePassword(ctx, "a@b.c", "pw", []string{"openid"}); err == nil {
		t.Error("reserved scope accepted")
	}
}

func tokenPathOf(tenant string) string { return "/" + tenant + "/oauth2/v2.0/token" }

func TestDeviceFlowPolling(t *testing.T) {
	ctx := context.Background()
	t.Run("slow_down and success", func(t *testing.T) {
		f := newFakeEntra(t)
		var polls atomic.Int32
		f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
			switch polls.Add(1) {
			case 1:
				writeJSON(w, 400, map[string]any{"error": "authorization_pending"})
			case 2:
				writeJSON(w, 400, map[string]any{"error": "slow_down"})
			default:
				f.success(w, r, form)
			}
		}
		c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common")
		var waits []time.Duration
		c.transport.pause = pauseFunc(func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })
		flow, err := c.InitiateDeviceFlow(ctx, []string{"User.Read"})
		if err != nil {
			t.Fatal(err)
		}
		if flow.Message == "" || flow.DeviceCode != "DC" {
			t.Fatalf("flow %+v", flow)
		}
		res, err := c.AcquireTokenByDeviceFlow(ctx, flow)
		if err != nil {
			t.Fatal(err)
		}
		if len(waits) != 2 || waits[0] != time.Second || waits[1] != 6*time.Second {
			t.Errorf("waits = %v, want [1s 6s] (slow_down adds 5 s)", waits)
		}
		if got := f.lastForm(); got.Get("device_code") != "DC" || got.Get("grant_type") != deviceCodeGrant || got.Has("scope") {
			t.Errorf("poll form %v", got)
		}
		// The response has no scope: the cache records the flow's.
		if strings.Join(res.Scopes, " ") != "User.Read" {
			t.Errorf("scopes %v, want the flow's", res.Scopes)
		}
	})
	t.Run("denied", func(t *testing.T) {
		f := newFakeEntra(t)
		f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
			writeJSON(w, 400, map[string]any{"error": "authorization_declined", "error_codes": []int{70000}})
		}
		c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common")
		flow, _ := c.InitiateDeviceFlow(ctx, []string{"User.Read"})
		var e *Error
		if _, err := c.AcquireTokenByDeviceFlow(ctx, flow); !errors.As(err, &e) || e.Code != "authorization_declined" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		f := newFakeEntra(t)
		f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
			writeJSON(w, 400, map[string]any{"error": "authorization_pending"})
		}
		clock := newTestClock()
		c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common", WithClock(clock.now))
		c.transport.pause = pauseFunc(func(_ context.Context, d time.Duration) error { clock.advance(d); return nil })
		flow, _ := c.InitiateDeviceFlow(ctx, []string{"User.Read"})
		if _, err := c.AcquireTokenByDeviceFlow(ctx, flow); !errors.Is(err, ErrDeviceFlowExpired) {
			t.Fatalf("err = %v, want ErrDeviceFlowExpired", err)
		}
	})
	t.Run("bad flow", func(t *testing.T) {
		f := newFakeEntra(t)
		c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common")
		if _, err := c.AcquireTokenByDeviceFlow(ctx, nil); err == nil {
			t.Error("nil flow accepted")
		}
	})
}

func TestEntraAuthCodeFlow(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common", WithClientCapabilities("CP1"))
	flow, err := c.InitiateAuthCodeFlow(ctx, []string{"User.Read"}, WithRedirectURI("http://localhost:1234"),
		WithLoginHint("alice@contoso.com"), WithDomainHint("contoso.com"), WithPrompt(PromptSelectAccount),
		WithMaxAge(time.Hour), WithResponseMode("form_post"), WithExtraQueryParameters(map[string]string{"dc": "ESTS-PUB"}))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(flow.AuthURI)
	q := u.Query()
	if u.Host != "login.microsoftonline.com" || u.Path != "/common/oauth2/v2.0/authorize" {
		t.Errorf("auth URI %s", u.Redacted())
	}
	for k, want := range map[string]string{"client_info": "1", "login_hint": "alice@contoso.com", "domain_hint": "contoso.com",
		"prompt": "select_account", "max_age": "3600", "X-AnchorMailbox": "UPN:alice@contoso.com", "response_mode": "form_post", "dc": "ESTS-PUB", "state": flow.State,
		"nonce": nonceHash(flow.Nonce), "code_challenge": pkceChallenge(flow.CodeVerifier), "redirect_uri": "http://localhost:1234",
		"claims": `{"access_token":{"xms_cc":{"values":["CP1"]}}}`} {
		if q.Get(k) != want {
			t.Errorf("auth request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(flow.CodeVerifier) < 43 {
		t.Errorf("PKCE verifier of %d characters", len(flow.CodeVerifier))
	}
	now := time.Now().Unix()
	f.idClaims = map[string]any{"aud": "client", "nonce": nonceHash(flow.Nonce), "auth_time": now - 60}
	resp := url.Values{"code": {"C1"}, "state": {flow.State}, "iss": {"https://login.microsoftonline.com/t1/v2.0"},
		"client_info": {"eyJ1aWQiOiJ1MSIsInV0aWQiOiJ0MSJ9"}}
	res, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, resp)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.lastHeader().Get("X-AnchorMailbox"); got != "Oid:u1@t1" {
		t.Errorf("X-AnchorMailbox = %q, want Oid:u1@t1 from the response's client_info", got)
	}
	if res.Account.HomeAccountID != "u1.t1" {
		t.Errorf("account %+v", res.Account)
	}
	form := f.lastForm()
	if form.Get("code") != "C1" || form.Get("code_verifier") != flow.CodeVerifier || form.Get("redirect_uri") != "http://localhost:1234" {
		t.Errorf("redemption form lacks code, verifier or redirect_uri")
	}
	// An iss of another cloud is refused even though Entra's issuer is a template.
	resp.Set("iss", "https://evil.example/t1/v2.0")
	if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, resp); !errors.Is(err, ErrIssuerMismatch) {
		t.Errorf("foreign iss: err = %v", err)
	}
	// auth_time older than max_age.
	f.idClaims = map[string]any{"aud": "client", "nonce": nonceHash(flow.Nonce), "auth_time": now - 7200}
	resp.Set("iss", "https://login.microsoftonline.com/t1/v2.0")
	resp.Set("code", "C2")
	if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, resp); !errors.Is(err, ErrInvalidIDToken) {
		t.Errorf("stale auth_time: err = %v", err)
	}
	// An error response is typed and carries only the error fields.
	_, err = c.AcquireTokenByAuthCodeFlow(ctx, flow, url.Values{"state": {flow.State}, "error": {"consent_required"},
		"error_description": {"AADSTS65001"}, "access_token": {"injected"}})
	var e *Error
	if !errors.As(err, &e) || e.Code != "consent_required" || !errors.Is(err, ErrInteractionRequired) {
		t.Errorf("error response: %v", err)
	}
	if _, err := c.AcquireTokenByAuthCodeFlow(ctx, nil, resp); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("nil flow: %v", err)
	}
	if _, err := c.AcquireTokenByAuthCodeFlow(ctx, flow, url.Values{"state": {flow.State}}); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("neither code nor error: %v", err)
	}
	if _, err := c.InitiateAuthCodeFlow(ctx, []string{"offline_access"}); err == nil {
		t.Error("reserved scope accepted")
	}
}

func TestAuthorizationCodeWithoutFlow(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/common")
	raw, err := c.AuthorizationRequestURL(ctx, []string{"User.Read"}, WithState("s1"), WithNonce("n1"), WithRedirectURI("http://localhost"))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if q.Get("state") != "s1" || q.Get("nonce") != "n1" || q.Get("response_type") != "code" || q.Get("code_challenge") != "" {
		t.Errorf("authorization request URL %s", raw)
	}
	f.idClaims = map[string]any{"aud": "client", "nonce": "n1"}
	if _, err := c.AcquireTokenByAuthorizationCode(ctx, "C", []string{"User.Read"}, WithNonce("n1"), WithRedirectURI("http://localhost")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireTokenByAuthorizationCode(ctx, "C2", []string{"User.Read"}, WithNonce("other")); !errors.Is(err, ErrNonceMismatch) {
		t.Errorf("nonce mismatch: %v", err)
	}
	if _, err := c.AcquireTokenByAuthorizationCode(ctx, "", []string{"User.Read"}); err == nil {
		t.Error("empty code accepted")
	}
	if _, err := c.InitiateAuthCodeFlow(ctx, []string{"User.Read"}, WithResponseType("token")); err == nil {
		t.Error("implicit grant accepted in an auth code flow")
	}
}
