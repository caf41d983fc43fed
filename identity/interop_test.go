package identity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Interop with the real MSAL Python (Debian's python3-msal 1.21), run offline through
// testdata/msal_peer.py: caches it writes must load here and give silent hits, and
// caches written here must give MSAL Python silent hits without any request.

const peerPython = "/usr/bin/python3"

const (
	interopClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	interopTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	interopUID      = "9f4880d8-80ba-4c40-97bc-f7a23c703084"
)

// requirePeer fails when python3-msal is missing: make deps installs it, so a machine
// without it is not set up, and a skip would hide the oracle these tests need.
func requirePeer(t *testing.T) {
	t.Helper()
	err := exec.Command(peerPython, "-c", "import msal").Run()
	if err == nil {
		return
	}
	t.Fatalf("MSAL Python is not available (%s -c 'import msal': %v): run `make deps` (apt-get install -y python3-msal)", peerPython, err)
}

type peerSpec struct {
	ClientID      string         `json:"client_id"`
	Authority     string         `json:"authority"`
	Scopes        []string       `json:"scopes"`
	Discovery     map[string]any `json:"discovery"`
	Instance      map[string]any `json:"instance"`
	TokenResponse map[string]any `json:"token_response,omitempty"`
	RefreshToken  string         `json:"refresh_token,omitempty"`
	Cache         string         `json:"cache,omitempty"`
	Username      string         `json:"username,omitempty"`
}

type peerOut struct {
	Version  string           `json:"version"`
	Cache    string           `json:"cache"`
	Accounts []map[string]any `json:"accounts"`
	Result   *struct {
		AccessToken string `json:"access_token"`
	} `json:"result"`
	Posts int `json:"posts"`
}

func runPeer(t *testing.T, mode string, spec peerSpec) peerOut {
	t.Helper()
	in, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, peerPython, "testdata/msal_peer.py", mode)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// No proxy or CA settings from the environment: the peer makes no requests anyway.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("msal_peer.py %s: %v\n%s", mode, err, stderr.String())
	}
	var po peerOut
	if err := json.Unmarshal(out, &po); err != nil {
		t.Fatalf("msal_peer.py %s printed %q: %v", mode, out, err)
	}
	return po
}

// interopFixture is one user's canned Entra answers, valid at the real current time
// (MSAL Python checks the ID token's exp against the wall clock).
type interopFixture struct {
	now      time.Time
	username string
	idToken  string
	claims   map[string]any
}

func newInteropFixture(username string) interopFixture {
	now := time.Now().Truncate(time.Second)
	claims := map[string]any{
		"aud": interopClientID, "iss": "https://login.microsoftonline.com/" + interopTenant + "/v2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 3600,
		"name": "Pat Peer", "oid": interopUID, "preferred_username": username,
		"sub": "sub-of-pat", "tid": interopTenant, "ver": "2.0",
	}
	return interopFixture{now: now, username: username, idToken: fakeJWT(claims), claims: claims}
}

func (f interopFixture) clientInfo() string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + interopUID + `","utid":"` + interopTenant + `"}`))
}

// tokenEndpointJSON is the token endpoint's JSON as MSAL Python receives it.
func (f interopFixture) tokenEndpointJSON(at, rt string) map[string]any {
	return map[string]any{
		"token_type": "Bearer", "scope": "User.Read Mail.Read openid profile", "expires_in": 3600,
		"ext_expires_in": 3600, "access_token": at, "refresh_token": rt, "id_token": f.idToken,
		"client_info": f.clientInfo(),
	}
}

// tokenResponse is the same answer as the transport hands it to the cache.
func (f interopFixture) tokenResponse(at, rt string) *tokenResponse {
	return &tokenResponse{
		AccessToken: at, TokenType: "Bearer", RefreshToken: rt, IDToken: f.idToken,
		Scope: "User.Read Mail.Read openid profile", ExpiresIn: 3600, ExtExpiresIn: 3600,
		ClientInfo: &clientInfo{UID: interopUID, UTID: interopTenant}, IDTokenClaims: f.claims, ReceivedAt: f.now,
	}
}

func (f interopFixture) spec() peerSpec {
	base := "https://login.microsoftonline.com/" + interopTenant
	return peerSpec{
		ClientID:  interopClientID,
		Authority: base,
		Scopes:    []string{"User.Read"},
		Username:  f.username,
		Discovery: map[string]any{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"issuer":                 base + "/v2.0",
		},
		Instance: map[string]any{
			"tenant_discovery_endpoint": base + "/v2.0/.well-known/openid-configuration",
			"metadata": []map[string]any{{
				"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
				"aliases": entraAliases,
			}},
		},
	}
}

// interopClient is a client on the real clock whose authority is pinned (no network).
func interopClient(t *testing.T, c *TokenCache, sts *fakeSTS) *PublicClient {
	t.Helper()
	pc, err := NewPublicClient(interopClientID, WithTokenCache(c),
		WithAuthority("https://login.microsoftonline.com/"+interopTenant))
	if err != nil {
		t.Fatal(err)
	}
	pinEndpoint(t, pc.ClientApplication, entraAuthority(interopTenant), sts)
	return pc
}

// pythonSignIn has MSAL Python sign in (by refresh token, answered with at-from-python
// and rt-from-python) and returns the cache it wrote.
func pythonSignIn(t *testing.T, f interopFixture) peerOut {
	t.Helper()
	spec := f.spec()
	spec.RefreshToken = "rt-from-elsewhere"
	spec.TokenResponse = f.tokenEndpointJSON("at-from-python", "rt-from-python")
	return runPeer(t, "write", spec)
}

func TestInteropPythonWritesGoReads(t *testing.T) {
	requirePeer(t)
	f := newInteropFixture("Pat.Peer@Contoso.com")
	out := pythonSignIn(t, f)
	if !strings.HasPrefix(out.Version, "1.") {
		t.Fatalf("unexpected MSAL Python version %q", out.Version)
	}

	c := NewTokenCache()
	if err := c.Deserialize([]byte(out.Cache)); err != nil {
		t.Fatalf("Deserialize of MSAL Python's cache: %v\n%s", err, out.Cache)
	}
	sts := &fakeSTS{respond: func(req tokenRequest) (*tokenResponse, error) {
		if got := req.form.Get("refresh_token"); got != "rt-from-python" {
			return nil, fmt.Errorf("redeemed %q, not MSAL Python's refresh token", got)
		}
		return f.tokenResponse("at-refreshed", "rt-rotated"), nil
	}}
	pc := interopClient(t, c, sts)
	accts, err := pc.Accounts(context.Background(), "pat.peer@contoso.com")
	if err != nil || accts.Len() != 1 {
		t.Fatalf("Accounts = %v, %v", accts, err)
	}
	if a := accts.At(0); a.HomeAccountID != interopUID+"."+interopTenant || a.Environment != testHost ||
		a.Username != f.username || a.AuthorityType != authorityTypeMSSTS {
		t.Fatalf("account %+v", a)
	}
	res, err := pc.AcquireTokenSilent(context.Background(), []string{"User.Read"}, accts.At(0))
	if err != nil || res.AccessToken != "at-from-python" || res.Source != SourceCache {
		t.Fatalf("silent = %q from %v, %v", res.AccessToken, res.Source, err)
	}
	if res.IDTokenClaims.StringClaim("preferred_username") != f.username {
		t.Fatalf("ID token claims %v", res.IDTokenClaims)
	}
	// MSAL Python's refresh token works here too.
	res, err = pc.AcquireTokenSilent(context.Background(), []string{"User.Read"}, accts.At(0), WithForceRefresh())
	if err != nil || res.AccessToken != "at-refreshed" {
		t.Fatalf("refresh with MSAL Python's RT = %q, %v", res.AccessToken, err)
	}
}

func TestInteropGoWritesPythonReads(t *testing.T) {
	requirePeer(t)
	f := newInteropFixture("pat.peer@contoso.com")
	c := NewTokenCache()
	if _, err := c.store(storeParams{authority: entraAuthority(interopTenant), clientID: interopClientID,
		requestedScopes: []string{"User.Read"}, response: f.tokenResponse("at-from-go", "rt-from-go")}); err != nil {
		t.Fatal(err)
	}
	data, err := c.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	spec := f.spec()
	spec.Cache = string(data)
	out := runPeer(t, "read", spec)
	if len(out.Accounts) != 1 || out.Accounts[0]["username"] != f.username ||
		out.Accounts[0]["home_account_id"] != interopUID+"."+interopTenant {
		t.Fatalf("MSAL Python's get_accounts = %v", out.Accounts)
	}
	if out.Result == nil || out.Result.AccessToken != "at-from-go" {
		t.Fatalf("MSAL Python's acquire_token_silent = %+v", out.Result)
	}
	if out.Posts != 0 {
		t.Fatalf("MSAL Python sent %d token requests; the cached token should have been used", out.Posts)
	}
}

func TestInteropRoundTripKeepsUnknownAndNoDuplicates(t *testing.T) {
	requirePeer(t)
	f := newInteropFixture("pat.peer@contoso.com")
	written := pythonSignIn(t, f).Cache

	// Another MSAL app's additions: an unknown section and unknown fields.
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal([]byte(written), &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range doc["Account"] {
		e["x_other_app"] = map[string]any{"keep": []any{1.0, "two"}}
	}
	raw, _ := json.Marshal(doc)
	raw = append(raw[:len(raw)-1], `,"OtherAppSection":{"k":{"v":1}}}`...)

	c := NewTokenCache()
	if err := c.Deserialize(raw); err != nil {
		t.Fatal(err)
	}
	// A refresh here writes new tokens over MSAL Python's.
	// Its scope differs in order and case, so every key differs from MSAL Python's.
	sts := &fakeSTS{respond: func(tokenRequest) (*tokenResponse, error) {
		r := f.tokenResponse("at-from-go", "rt-from-go")
		r.Scope = "profile openid user.read Mail.Read email"
		return r, nil
	}}
	pc := interopClient(t, c, sts)
	accts, _ := pc.Accounts(context.Background(), "")
	if accts.Len() != 1 {
		t.Fatalf("accounts %v", accts)
	}
	if _, err := pc.AcquireTokenSilent(context.Background(), []string{"User.Read"}, accts.At(0), WithForceRefresh()); err != nil {
		t.Fatal(err)
	}
	out, err := c.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]map[string]map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "rt-from-python") || strings.Contains(string(out), "at-from-python") {
		t.Errorf("MSAL Python's superseded tokens are still there:\n%s", out)
	}
	for sec, entries := range back {
		if sec == "OtherAppSection" {
			continue
		}
		if len(entries) != 1 {
			t.Errorf("%s has %d entries after the round trip, want 1: %v", sec, len(entries), keys(entries))
		}
	}
	if back["OtherAppSection"]["k"]["v"] != 1.0 {
		t.Error("unknown section lost")
	}
	for _, e := range back["Account"] {
		if fmt.Sprint(e["x_other_app"]) != "map[keep:[1 two]]" {
			t.Errorf("unknown field lost: %v", e)
		}
	}
	// And MSAL Python reads the result, getting the token written here.
	spec := f.spec()
	spec.Cache = string(out)
	spec.Scopes = []string{"Mail.Read"} // MSAL Python compares scopes case-sensitively
	got := runPeer(t, "read", spec)
	if got.Result == nil || got.Result.AccessToken != "at-from-go" || got.Posts != 0 {
		t.Fatalf("MSAL Python after the round trip: %+v, %d requests", got.Result, got.Posts)
	}
}
