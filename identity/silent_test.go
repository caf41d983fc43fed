package identity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func aliceAccount() Account {
	return Account{HomeAccountID: alice.home(), Environment: testHost, Realm: alice.utid, Username: alice.username}
}

// atResponse is a response with an access token expiring in expiresIn seconds.
func atResponse(u user, scope, at string, expiresIn, refreshIn int64) *tokenResponse {
	r := userResponse(u, "", scope, at, "rt-"+at)
	r.ExpiresIn, r.RefreshIn = expiresIn, refreshIn
	if refreshIn < 0 {
		// refresh_on already |refreshIn| seconds ago: received an hour ago.
		r.ReceivedAt = testNow.Add(-3600e9)
		r.ExpiresIn, r.RefreshIn = expiresIn+3600, 3600+refreshIn
	}
	return r
}

func TestSilentCacheLookup(t *testing.T) {
	invalidGrant := &Error{StatusCode: 400, Code: "invalid_grant", Description: "AADSTS70000"}
	tests := []struct {
		name     string
		info     *authorityInfo // client authority; default organizations
		seed     func(c *TokenCache)
		scopes   []string
		opts     []CallOption
		account  *Account
		refresh  func(tokenRequest) (*tokenResponse, error)
		wantAT   string
		wantSrc  TokenSource
		wantErr  error // errors.Is target
		wantReqs int
	}{{
		name:   "hit",
		scopes: []string{"User.Read"},
		wantAT: "at", wantSrc: SourceCache,
	}, {
		name:   "hit is case-insensitive and a subset",
		seed:   func(c *TokenCache) { store(c, atResponse(alice, "User.Read Mail.Read openid", "at2", 3600, 0)) },
		scopes: []string{"mail.read", "USER.READ"},
		wantAT: "at2", wantSrc: SourceCache,
	}, {
		name:   "scopes not all cached: refresh",
		scopes: []string{"User.Read", "Files.Read"},
		wantAT: "fresh", wantSrc: SourceIdentityProvider, wantReqs: 1,
	}, {
		name:   "less than five minutes left counts as expired",
		seed:   func(c *TokenCache) { store(c, atResponse(alice, "User.Read", "short", 299, 0)) },
		scopes: []string{"User.Read"},
		wantAT: "fresh", wantSrc: SourceIdentityProvider, wantReqs: 1,
	}, {
		name:   "five minutes left is still good",
		seed:   func(c *TokenCache) { store(c, atResponse(alice, "User.Read", "ok", 301, 0)) },
		scopes: []string{"User.Read"},
		wantAT: "ok", wantSrc: SourceCache,
	}, {
		name:   "refresh_on passed: refreshed",
		seed:   func(c *TokenCache) { store(c, atResponse(alice, "User.Read", "aging", 3600, -1)) },
		scopes: []string{"User.Read"},
		wantAT: "fresh", wantSrc: SourceIdentityProvider, wantReqs: 1,
	}, {
		name:    "refresh_on passed and refresh fails: the cached token",
		seed:    func(c *TokenCache) { store(c, atResponse(alice, "User.Read", "aging", 3600, -1)) },
		scopes:  []string{"User.Read"},
		refresh: func(tokenRequest) (*tokenResponse, error) { return nil, invalidGrant },
		wantAT:  "aging", wantSrc: SourceCache, wantReqs: 1,
	}, {
		name:   "refresh_on in the future: hit",
		seed:   func(c *TokenCache) { store(c, atResponse(alice, "User.Read", "young", 3600, 600)) },
		scopes: []string{"User.Read"},
		wantAT: "young", wantSrc: SourceCache,
	}, {
		name:   "force refresh",
		scopes: []string{"User.Read"}, opts: []CallOption{WithForceRefresh()},
		wantAT: "fresh", wantSrc: SourceIdentityProvider, wantReqs: 1,
	}, {
		name:   "claims challenge skips the cached token",
		scopes: []string{"User.Read"}, opts: []CallOption{WithClaimsChallenge(`{"access_token":{"nbf":{"essential":true}}}`)},
		wantAT: "fresh", wantSrc: SourceIdentityProvider, wantReqs: 1,
	}, {
		name:    "no account",
		scopes:  []string{"User.Read"},
		account: &Account{},
		wantErr: ErrNoAccount,
	}, {
		name:    "unknown account: nothing cached",
		scopes:  []string{"User.Read"},
		account: &Account{HomeAccountID: "nobody.none", Environment: testHost},
		wantErr: ErrInteractionRequired,
	}, {
		name: "token cached under an alias environment",
		seed: func(c *TokenCache) {
			storeAt(c, entraAliasAuthority("login.windows.net"), atResponse(alice, "Mail.Read", "alias", 3600, 0))
		},
		scopes: []string{"Mail.Read"},
		wantAT: "alias", wantSrc: SourceCache,
	}, {
		name: "tenant authority finds the tenant's token",
		info: entraAuthority(alice.utid),
		seed: func(c *TokenCache) {
			storeAt(c, entraAuthority(alice.utid), atResponse(alice, "User.Read", "at-tenant", 3600, 0))
		},
		scopes: []string{"User.Read"},
		wantAT: "at-tenant", wantSrc: SourceCache,
	}, {
		// MSAL Python keys tokens by the authority's tenant segment, not the token's tid.
		name:   "tenant authority does not take the organizations token",
		info:   entraAuthority(alice.utid),
		scopes: []string{"User.Read"},
		wantAT: "fresh", wantSrc: SourceIdentityProvider, wantReqs: 1,
	}, {
		name:   "other tenant's authority does not",
		info:   entraAuthority("11111111-0000-0000-0000-000000000000"),
		scopes: []string{"User.Read"},
		wantAT: "fresh", wantSrc: SourceIdentityProvider, wantReqs: 1,
	}, {
		name: "MSAL Python's common-realm token is found",
		info: entraAuthority("common"),
		seed: func(c *TokenCache) {
			r := atResponse(alice, "Files.Read", "py", 3600, 0)
			r.IDTokenClaims = map[string]any{"sub": "s", "oid": alice.uid} // no tid: realm from the authority
			storeAt(c, entraAuthority("common"), r)
		},
		scopes: []string{"Files.Read"}, account: &Account{HomeAccountID: alice.home(), Environment: testHost, Realm: "common"},
		wantAT: "py", wantSrc: SourceCache,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			org := entraAuthority("organizations")
			storeAt(c, org, atResponse(alice, "User.Read", "at", 3600, 0))
			if tt.seed != nil {
				tt.seed(c)
			}
			sts := &fakeSTS{respond: tt.refresh}
			if sts.respond == nil {
				sts.respond = func(req tokenRequest) (*tokenResponse, error) {
					return atResponse(alice, strings.Join(req.scopes, " "), "fresh", 3600, 0), nil
				}
			}
			info := tt.info
			if info == nil {
				info = org
			}
			pc := newTestClient(t, c, info, sts)
			acct := aliceAccount()
			if tt.account != nil {
				acct = *tt.account
			}
			res, err := pc.AcquireTokenSilentWithError(context.Background(), tt.scopes, acct, tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if res.AccessToken != tt.wantAT || res.Source != tt.wantSrc {
				t.Fatalf("got %q from %v, want %q from %v", res.AccessToken, res.Source, tt.wantAT, tt.wantSrc)
			}
			if n := len(sts.requests()); n != tt.wantReqs {
				t.Fatalf("%d token requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

func store(c *TokenCache, r *tokenResponse) { storeAt(c, entraAuthority("organizations"), r) }

func storeAt(c *TokenCache, info *authorityInfo, r *tokenResponse) {
	if _, err := c.store(storeParams{authority: info, clientID: testClientID, response: r}); err != nil {
		panic(err)
	}
}

func entraAliasAuthority(host string) *authorityInfo {
	info := entraAuthority("organizations")
	info.Host = host
	return info
}

func TestSilentHitResult(t *testing.T) {
	c := NewTokenCache()
	stored := mustStore(t, c, entraAuthority("organizations"), testClientID, atResponse(alice, "User.Read Mail.Read", "at", 3600, 1200))
	pc := newTestClient(t, c, entraAuthority("organizations"), nil)
	res, err := pc.AcquireTokenSilent(context.Background(), []string{"User.Read"}, Account{HomeAccountID: alice.home(), Environment: testHost})
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != SourceCache || res.TokenType != "Bearer" || !res.ExpiresOn.Equal(stored.ExpiresOn) ||
		!res.RefreshOn.Equal(stored.RefreshOn) || strings.Join(res.Scopes, " ") != "User.Read Mail.Read" {
		t.Fatalf("result %+v", res)
	}
	if res.IDToken == "" || res.IDTokenClaims.StringClaim("preferred_username") != alice.username || res.IDTokenClaims.StringClaim("tid") != alice.utid {
		t.Fatalf("ID token claims %v", res.IDTokenClaims)
	}
	if res.Account.Username != alice.username || res.Account.Realm != "organizations" || res.Account.LocalAccountID != alice.uid {
		t.Fatalf("account %+v", res.Account)
	}
	// That the claims are shared read-only: TestAccountsAreReadOnly.
}

// TestSilentHitAllocatesOnlyTheScopesCopy: a hit shares the cached ID token's claims
// read-only and allocates only Result.Scopes, the caller's own copy (what
// BenchmarkAcquireTokenSilent reports as the cost of immutability).
func TestSilentHitAllocatesOnlyTheScopesCopy(t *testing.T) {
	c := NewTokenCache()
	store(c, userResponse(alice, "", "User.Read Mail.Read", "at", "rt"))
	pc := newTestClient(t, c, entraAuthority("organizations"), nil)
	ctx := context.Background()
	accts, _ := pc.Accounts(ctx, "")
	scopes := []string{"User.Read"}
	hit := func() Result {
		res, err := pc.AcquireTokenSilent(ctx, scopes, accts.At(0))
		if err != nil || res.Source != SourceCache || res.IDTokenClaims.Len() == 0 {
			t.Fatalf("not a cache hit with claims: %v", err)
		}
		return res
	}
	first, second := hit(), hit()
	if &first.Scopes[0] == &second.Scopes[0] {
		t.Fatal("two hits share Result.Scopes: a caller's write would reach the other")
	}
	if n := testing.AllocsPerRun(50, func() { hit() }); n != 1 {
		t.Errorf("a silent hit allocates %v times, want 1 (the copy of Result.Scopes)", n)
	}
}

func TestSilentRejectsReservedScopes(t *testing.T) {
	pc := newTestClient(t, nil, entraAuthority("organizations"), nil)
	for _, s := range []string{"openid", "Profile", "offline_access"} {
		_, err := pc.AcquireTokenSilent(context.Background(), []string{"User.Read", s}, aliceAccount())
		if err == nil || !strings.Contains(err.Error(), "reserved scopes") {
			t.Errorf("scope %q: err = %v, want reserved scopes", s, err)
		}
	}
	if _, err := pc.AcquireTokenSilent(context.Background(), nil, aliceAccount()); err == nil {
		t.Error("no scopes accepted")
	}
}

func TestSilentRefresh(t *testing.T) {
	invalidGrant := &Error{StatusCode: 400, Code: "invalid_grant", Description: "AADSTS50173"}
	serverDown := &Error{StatusCode: 503, Code: "temporarily_unavailable"}
	mismatch := &Error{StatusCode: 400, Code: "invalid_grant", Classification: "client_mismatch"}
	const famClient = "f0f0f0f0-0000-0000-0000-000000000000"
	tests := []struct {
		name string
		seed func(c *TokenCache)
		// answers by refresh token secret; missing = success
		answers    map[string]error
		wantRTs    []string // refresh tokens tried, in order
		wantErr    error
		wantFolded bool // AcquireTokenSilent folds it into ErrInteractionRequired
		wantCached []string
	}{{
		name:       "own RT redeemed, rotated RT stored",
		seed:       func(c *TokenCache) { store(c, userResponse(alice, "", "User.Read", "", "rt-own")) },
		wantRTs:    []string{"rt-own"},
		wantCached: []string{"rt-new"},
	}, {
		name:       "invalid_grant: RT kept, error returned",
		seed:       func(c *TokenCache) { store(c, userResponse(alice, "", "User.Read", "", "rt-own")) },
		answers:    map[string]error{"rt-own": invalidGrant},
		wantRTs:    []string{"rt-own"},
		wantErr:    invalidGrant,
		wantFolded: true,
		wantCached: []string{"rt-own"},
	}, {
		name:       "server error is folded too",
		seed:       func(c *TokenCache) { store(c, userResponse(alice, "", "User.Read", "", "rt-own")) },
		answers:    map[string]error{"rt-own": serverDown},
		wantRTs:    []string{"rt-own"},
		wantErr:    serverDown,
		wantFolded: true,
		wantCached: []string{"rt-own"},
	}, {
		name:    "no RT: nothing cached",
		seed:    func(c *TokenCache) {},
		wantErr: ErrInteractionRequired,
	}, {
		name: "no app metadata: family RT first",
		seed: func(c *TokenCache) {
			r := userResponse(alice, "", "User.Read", "", "rt-fam")
			r.FamilyID = "1"
			storeFor(c, famClient, r)
		},
		wantRTs: []string{"rt-fam"},
		// MSAL Python's update_rt: the family RT that was used gets the new secret in
		// place; the sibling app gets no RT entry of its own.
		wantCached: []string{"rt-new"},
	}, {
		name: "no app metadata: family probe fails, no own RT: nothing cached",
		seed: func(c *TokenCache) {
			r := userResponse(alice, "", "User.Read", "", "rt-fam")
			r.FamilyID = "1"
			storeFor(c, famClient, r)
		},
		answers:    map[string]error{"rt-fam": mismatch},
		wantRTs:    []string{"rt-fam"},
		wantErr:    ErrInteractionRequired,
		wantCached: []string{"rt-fam"},
	}, {
		name: "app in family: family RT fails, falls back to own RT",
		seed: func(c *TokenCache) {
			r := userResponse(alice, "", "User.Read", "", "rt-own")
			r.FamilyID = "1"
			store(c, r)
			r2 := userResponse(alice, "", "User.Read", "", "rt-fam")
			r2.FamilyID = "1"
			r2.ReceivedAt = testNow.Add(10e9) // newer: tried first
			storeFor(c, famClient, r2)
		},
		answers:    map[string]error{"rt-fam": invalidGrant},
		wantRTs:    []string{"rt-fam", "rt-own"},
		wantCached: []string{"rt-fam", "rt-new"},
	}, {
		name: "app not in family: family RT ignored",
		seed: func(c *TokenCache) {
			store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
			r := userResponse(alice, "", "User.Read", "", "rt-fam")
			r.FamilyID = "1"
			storeFor(c, famClient, r)
		},
		wantRTs:    []string{"rt-own"},
		wantCached: []string{"rt-fam", "rt-new"},
	}, {
		name: "another app's non-family RT is never used",
		seed: func(c *TokenCache) {
			storeFor(c, "other-app", userResponse(alice, "", "User.Read", "", "rt-other"))
		},
		wantErr:    ErrInteractionRequired,
		wantCached: []string{"rt-other"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			tt.seed(c)
			sts := &fakeSTS{respond: func(req tokenRequest) (*tokenResponse, error) {
				if err := tt.answers[req.form.Get("refresh_token")]; err != nil {
					return nil, err
				}
				r := userResponse(alice, "", "User.Read Mail.Read", "at-new", "rt-new")
				return r, nil
			}}
			pc := newTestClient(t, c, entraAuthority("organizations"), sts)
			res, err := pc.AcquireTokenSilentWithError(context.Background(), []string{"Mail.Read"}, aliceAccount())
			if tt.wantErr == nil {
				if err != nil || res.AccessToken != "at-new" || res.Source != SourceIdentityProvider {
					t.Fatalf("got %q, %v", res.AccessToken, err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var tried []string
			for _, r := range sts.requests() {
				if r.form.Get("grant_type") != "refresh_token" || r.apiID != APIAcquireTokenSilent ||
					fmt.Sprint(r.scopes) != "[Mail.Read]" || r.authority == nil {
					t.Errorf("request %v %v %v", r.form.Get("grant_type"), r.apiID, r.scopes)
				}
				tried = append(tried, r.form.Get("refresh_token"))
			}
			if fmt.Sprint(tried) != fmt.Sprint(tt.wantRTs) {
				t.Errorf("tried %v, want %v", tried, tt.wantRTs)
			}
			var cached []string
			for _, rt := range cacheJSON(t, c)["RefreshToken"] {
				cached = append(cached, rt["secret"].(string))
			}
			if fmt.Sprint(sorted(cached)) != fmt.Sprint(tt.wantCached) {
				t.Errorf("cached RTs %v, want %v", sorted(cached), tt.wantCached)
			}
			if tt.wantErr != nil {
				_, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount())
				if !errors.Is(err, ErrInteractionRequired) {
					t.Errorf("AcquireTokenSilent err = %v, want it to match ErrInteractionRequired", err)
				}
				var ae *Error
				if tt.wantFolded && (!errors.As(err, &ae) || ae != tt.wantErr) {
					t.Errorf("folded error %v does not unwrap to the server's", err)
				}
			}
		})
	}
}

func storeFor(c *TokenCache, clientID string, r *tokenResponse) {
	if _, err := c.store(storeParams{authority: entraAuthority("organizations"), clientID: clientID, response: r}); err != nil {
		panic(err)
	}
}

func TestSilentRefreshKeepsRemovedAccountRemoved(t *testing.T) {
	// A refresh racing a RemoveAccount must not bring the account back (MSAL Python's
	// skip_account_creation).
	c := NewTokenCache()
	store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
	var pc *PublicClient
	sts := &fakeSTS{respond: func(tokenRequest) (*tokenResponse, error) {
		if err := pc.RemoveAccount(context.Background(), aliceAccount()); err != nil {
			return nil, err
		}
		return userResponse(alice, "", "Mail.Read", "at-new", "rt-new"), nil
	}}
	pc = newTestClient(t, c, entraAuthority("organizations"), sts)
	if _, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount()); err != nil {
		t.Fatal(err)
	}
	if accts, _ := pc.Accounts(context.Background(), ""); accts.Len() != 0 {
		t.Fatalf("accounts after removal: %v", accts)
	}
}

func TestSilentNetworkErrorIsNotFolded(t *testing.T) {
	c := NewTokenCache()
	store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
	netErr := errors.New("dial tcp: connection refused")
	sts := &fakeSTS{respond: func(tokenRequest) (*tokenResponse, error) { return nil, netErr }}
	pc := newTestClient(t, c, entraAuthority("organizations"), sts)
	_, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount())
	if !errors.Is(err, netErr) || errors.Is(err, ErrInteractionRequired) {
		t.Fatalf("err = %v, want the network error, not interaction required", err)
	}
}

// entraStub answers Entra's discovery and token endpoints in-process (nothing is
// sent anywhere), so the silent refresh runs through the real transport.
type entraStub struct {
	t     *testing.T
	token func(form url.Values) (int, map[string]any)
	posts []url.Values
}

func (f *entraStub) RoundTrip(r *http.Request) (*http.Response, error) {
	reply := func(status int, body any) (*http.Response, error) {
		b, _ := json.Marshal(body)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
	}
	base := "https://login.microsoftonline.com/organizations"
	switch {
	case r.Method == http.MethodGet && r.URL.String() == base+"/v2.0/.well-known/openid-configuration":
		return reply(200, map[string]any{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "token_endpoint": base + "/oauth2/v2.0/token",
			"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0", "jwks_uri": base + "/discovery/v2.0/keys",
		})
	case r.Method == http.MethodPost && r.URL.String() == base+"/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		f.posts = append(f.posts, r.PostForm)
		status, body := f.token(r.PostForm)
		return reply(status, body)
	}
	f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	return nil, fmt.Errorf("entraStub: no route for %s", r.URL)
}

func TestSilentRefreshThroughTransport(t *testing.T) {
	c := NewTokenCache()
	store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
	entra := &entraStub{t: t}
	pc, err := NewPublicClient(testClientID, WithTokenCache(c), WithClock(func() time.Time { return testNow }),
		WithAuthority("https://login.microsoftonline.com/organizations"), WithHTTPClient(&http.Client{Transport: entra}))
	if err != nil {
		t.Fatal(err)
	}
	ok := func(form url.Values) (int, map[string]any) {
		claims := alice.claims(alice.utid)
		return 200, map[string]any{
			"token_type": "Bearer", "scope": "Mail.Read openid profile", "expires_in": 3600,
			"access_token": "at-from-endpoint", "refresh_token": "rt-rotated", "id_token": fakeJWT(claims),
			"client_info": base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + alice.uid + `","utid":"` + alice.utid + `"}`)),
		}
	}
	entra.token = ok
	res, err := pc.AcquireTokenSilentWithError(context.Background(), []string{"Mail.Read"}, aliceAccount())
	if err != nil || res.AccessToken != "at-from-endpoint" || res.Source != SourceIdentityProvider {
		t.Fatalf("refresh through the transport: %q, %v", res.AccessToken, err)
	}
	form := entra.posts[0]
	if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt-own" ||
		form.Get("client_info") != "1" || form.Get("client_id") != testClientID {
		t.Fatalf("token request %v", redactForm(form))
	}
	for _, s := range []string{"Mail.Read", "openid", "profile", "offline_access"} {
		if !slices.Contains(strings.Fields(form.Get("scope")), s) {
			t.Errorf("scope %q lacks %s", form.Get("scope"), s)
		}
	}
	// The rotated refresh token replaced the old one; the new access token is a hit.
	var rts []string
	for _, rt := range cacheJSON(t, c)["RefreshToken"] {
		rts = append(rts, rt["secret"].(string))
	}
	if fmt.Sprint(rts) != "[rt-rotated]" {
		t.Fatalf("refresh tokens %v", rts)
	}
	if res, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount()); err != nil || res.Source != SourceCache {
		t.Fatalf("after refresh: %v, %v", res.Source, err)
	}

	// invalid_grant: the server's error comes back and the refresh token stays.
	entra.token = func(url.Values) (int, map[string]any) {
		return 400, map[string]any{"error": "invalid_grant", "error_description": "AADSTS50173: revoked", "error_codes": []int{50173}, "suberror": "bad_token"}
	}
	_, err = pc.AcquireTokenSilentWithError(context.Background(), []string{"Files.Read"}, aliceAccount())
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != "invalid_grant" || !errors.Is(err, ErrInteractionRequired) {
		t.Fatalf("err = %v, want the server's invalid_grant", err)
	}
	if rts := cacheJSON(t, c)["RefreshToken"]; len(rts) != 1 {
		t.Fatalf("refresh token removed after invalid_grant: %v", keys(rts))
	}
}

// redactForm drops secrets from a form before it is printed.
func redactForm(form url.Values) url.Values {
	out := url.Values{}
	for k, v := range form {
		if k == "refresh_token" || k == "client_secret" || k == "code" {
			v = []string{"<redacted>"}
		}
		out[k] = v
	}
	return out
}

// TestSilentGenericProviderWithTid: a generic OpenID provider whose ID tokens carry a
// tid (Entra used as a plain OpenID provider) caches under that tid; the account it
// lists must find those tokens.
func TestSilentGenericProviderWithTid(t *testing.T) {
	c := NewTokenCache()
	info := &authorityInfo{Host: "127.0.0.1:5556", Type: authorityTypeGeneric, Aliases: []string{"127.0.0.1:5556"}}
	storeAt(c, info, &tokenResponse{AccessToken: "generic-at", TokenType: "Bearer", IDToken: "x.y.z", Scope: "api://x/read openid",
		ExpiresIn: 3600, ReceivedAt: testNow, IDTokenClaims: map[string]any{"sub": "s1", "tid": "t-1", "email": "dev@example.org"}})
	pc := newTestClient(t, c, info, nil)
	accts, err := pc.Accounts(context.Background(), "dev@example.org")
	if err != nil || accts.Len() != 1 || accts.At(0).Realm != "t-1" {
		t.Fatalf("accounts %+v, %v", accts, err)
	}
	res, err := pc.AcquireTokenSilent(context.Background(), []string{"api://x/read"}, accts.At(0))
	if err != nil || res.AccessToken != "generic-at" {
		t.Fatalf("silent: %q, %v", res.AccessToken, err)
	}
}
