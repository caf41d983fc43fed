package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Fixtures shared by the cache layer's tests. Nothing here talks to a network: the
// authority is pinned (pinnedEndpoint) and the token endpoint is a fakeSTS.

const (
	testClientID = "a0a0a0a0-1111-2222-3333-444444444444"
	testHost     = "login.microsoftonline.com"
)

// testNow is the clock of every cache test (an arbitrary fixed instant).
var testNow = time.Unix(1_800_000_000, 0)

var entraAliases = []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}

// entraAuthority is a resolved Entra authority as the transport produces it.
func entraAuthority(tenant string) *authorityInfo {
	return &authorityInfo{
		CanonicalURL:       "https://" + testHost + "/" + tenant + "/",
		Host:               testHost,
		Tenant:             tenant,
		Type:               authorityTypeMSSTS,
		TokenEndpoint:      "https://" + testHost + "/" + tenant + "/oauth2/v2.0/token",
		Aliases:            entraAliases,
		PreferredCacheHost: testHost,
	}
}

// fakeJWT builds an unsigned compact JWT carrying claims; the cache only decodes it.
func fakeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	body, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(body) + ".c2ln"
}

// user describes a signed-in user of the fixtures.
type user struct {
	uid, utid, username string
}

func (u user) home() string { return u.uid + "." + u.utid }

func (u user) claims(tenant string) map[string]any {
	return map[string]any{
		"iss": "https://login.microsoftonline.com/" + tenant + "/v2.0", "aud": testClientID,
		"sub": "sub-" + u.uid, "oid": u.uid, "tid": tenant,
		"preferred_username": u.username, "name": "Name " + u.uid,
		"iat": float64(testNow.Unix()), "exp": float64(testNow.Unix() + 3600),
	}
}

var alice = user{"0000aaaa", "72f988bf-0000-0000-0000-000000000001", "Alice@Contoso.com"}
var bob = user{"0000bbbb", "72f988bf-0000-0000-0000-000000000001", "bob@contoso.com"}

// userResponse is a token response for u in tenant (its home tenant by default).
func userResponse(u user, tenant, scope, at, rt string) *tokenResponse {
	if tenant == "" {
		tenant = u.utid
	}
	claims := u.claims(tenant)
	return &tokenResponse{
		AccessToken: at, TokenType: "Bearer", RefreshToken: rt,
		IDToken: fakeJWT(claims), Scope: scope, ExpiresIn: 3600, ExtExpiresIn: 7200,
		ClientInfo: &clientInfo{UID: u.uid, UTID: u.utid}, IDTokenClaims: claims,
		ReceivedAt: testNow,
	}
}

// noNetwork is an HTTP client that fails every request without sending it.
func noNetwork() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("test: no network (%s %s)", r.Method, r.URL.Host)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fakeSTS stands in for the token endpoint behind redeem.
type fakeSTS struct {
	mu      sync.Mutex
	reqs    []tokenRequest
	respond func(req tokenRequest) (*tokenResponse, error)
}

func (f *fakeSTS) redeem(_ context.Context, req tokenRequest) (*tokenResponse, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	respond := f.respond
	f.mu.Unlock()
	if respond == nil {
		return nil, fmt.Errorf("fakeSTS: no response configured")
	}
	return respond(req)
}

func (f *fakeSTS) requests() []tokenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tokenRequest(nil), f.reqs...)
}

// pinnedEndpoint is the authority of the cache layer's tests: info, known at once and
// never resolved, and sts for a token endpoint (none: any request fails the test). A
// request for another authority (an override) goes to the client's own.
type pinnedEndpoint struct {
	t      testing.TB
	info   *authorityInfo
	sts    *fakeSTS
	client clientEndpoint
}

func (p pinnedEndpoint) known(override string) (*authorityInfo, error) {
	if override != "" {
		return p.client.known(override)
	}
	return p.info, nil
}

func (p pinnedEndpoint) resolved(ctx context.Context, override string) (*authorityInfo, error) {
	if override != "" {
		return p.client.resolved(ctx, override)
	}
	return p.info, nil
}

func (p pinnedEndpoint) redeem(ctx context.Context, req tokenRequest) (*tokenResponse, error) {
	if p.sts == nil {
		p.t.Error("unexpected token request")
		return nil, fmt.Errorf("no token endpoint in this test")
	}
	return p.sts.redeem(ctx, req)
}

// pinEndpoint makes a use info and sts instead of its own authority and token endpoint.
func pinEndpoint(t testing.TB, a *ClientApplication, info *authorityInfo, sts *fakeSTS) {
	t.Helper()
	a.endpoint = pinnedEndpoint{t: t, info: info, sts: sts, client: clientEndpoint{a}}
}

// newTestClient is a public client on the fixed clock, wired to info and sts.
func newTestClient(t testing.TB, cache *TokenCache, info *authorityInfo, sts *fakeSTS) *PublicClient {
	t.Helper()
	return newTestClientID(t, testClientID, cache, info, sts)
}

func newTestClientID(t testing.TB, clientID string, cache *TokenCache, info *authorityInfo, sts *fakeSTS) *PublicClient {
	t.Helper()
	if cache == nil {
		cache = NewTokenCache()
	}
	authority := WithAuthority("https://" + info.Host + "/" + info.Tenant)
	if info.Type == authorityTypeGeneric {
		authority = WithOIDCAuthority("http://" + info.Host)
	}
	pc, err := NewPublicClient(clientID, WithTokenCache(cache), WithClock(func() time.Time { return testNow }), authority)
	if err != nil {
		t.Fatal(err)
	}
	pinEndpoint(t, pc.ClientApplication, info, sts)
	return pc
}

// mustStore stores resp for clientID at info.
func mustStore(t testing.TB, c *TokenCache, info *authorityInfo, clientID string, resp *tokenResponse) Result {
	t.Helper()
	res, err := c.store(storeParams{authority: info, clientID: clientID, requestedScopes: []string{"User.Read"}, response: resp})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// cacheJSON serializes c and decodes it generically, for assertions on the schema.
func cacheJSON(t testing.TB, c *TokenCache) map[string]map[string]map[string]any {
	t.Helper()
	b, err := c.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]map[string]map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("Serialize wrote invalid JSON: %v", err)
	}
	return out
}
