package identity

import (
	"context"
	"errors"
	"strings"
	"testing"
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
