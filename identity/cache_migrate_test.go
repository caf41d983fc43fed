package identity

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPreviousReleaseCacheMigrates loads a cache the previous release wrote (realm =
// the ID token's tid, B2C realm = tid) and checks that each of its sign-ins still gets
// a silent hit without any request, and that the hit moves the entries in place to the
// realm MSAL Python looks under, leaving no copy behind.
func TestPreviousReleaseCacheMigrates(t *testing.T) {
	data, err := os.ReadFile("testdata/cache/previous_release.json")
	if err != nil {
		t.Fatal(err)
	}
	b2c := &authorityInfo{CanonicalURL: "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/b2c_1_signin/",
		Host: "fabrikamb2c.b2clogin.com", Tenant: "fabrikamb2c.onmicrosoft.com/B2C_1_signin", Type: authorityTypeMSSTS, IsB2C: true,
		TokenEndpoint:      "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token",
		PreferredCacheHost: "fabrikamb2c.b2clogin.com"}
	tests := []struct {
		name, client, username, scope, wantAT, wantRealm string
		info                                             *authorityInfo
	}{
		{"organizations", testClientID, alice.username, "User.Read", "at-alice-organizations", "organizations", entraAuthority("organizations")},
		{"common", "c0c0c0c0-1111-2222-3333-444444444444", bob.username, "Mail.Read", "at-bob-common", "common", entraAuthority("common")},
		{"b2c", "b0b0b0b0-1111-2222-3333-444444444444", "carol@fabrikam.example", "https://fabrikamb2c.onmicrosoft.com/api/read", "at-carol-b2c", "fabrikamb2c.onmicrosoft.com", b2c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			if err := c.Deserialize(data); err != nil {
				t.Fatal(err)
			}
			pc := newTestClientID(t, tt.client, c, tt.info, nil) // any token request fails the test
			ctx := context.Background()
			accts, err := pc.Accounts(ctx, tt.username)
			if err != nil || accts.Len() != 1 {
				t.Fatalf("Accounts(%q) = %v, %v", tt.username, accts, err)
			}
			for i := 0; i < 2; i++ { // the first hit migrates, the second reads the migrated entry
				res, err := pc.AcquireTokenSilent(ctx, []string{tt.scope}, accts.At(0))
				if err != nil || res.AccessToken != tt.wantAT || res.Source != SourceCache {
					t.Fatalf("hit %d: %q from %v, %v", i, res.AccessToken, res.Source, err)
				}
				if res.IDTokenClaims.StringClaim("preferred_username") == "" {
					t.Fatalf("hit %d: no ID token beside the access token", i)
				}
			}
			if !c.HasChanged() {
				t.Fatal("the migration did not mark the cache changed, so it would never be saved")
			}
			home := strings.ToLower(accts.At(0).HomeAccountID)
			for sec, entries := range cacheJSON(t, c) {
				if sec == "AppMetadata" || sec == "RefreshToken" {
					continue
				}
				n := 0
				for _, e := range entries {
					if e["home_account_id"] != accts.At(0).HomeAccountID || (sec != "Account" && e["client_id"] != tt.client) {
						continue
					}
					n++
					if e["realm"] != tt.wantRealm {
						t.Errorf("%s of %s left under realm %v, want %s", sec, home, e["realm"], tt.wantRealm)
					}
				}
				if n != 1 {
					t.Errorf("%s: %d entries of this sign-in, want 1", sec, n)
				}
			}
		})
	}
}

// TestPreviousReleaseCacheRefreshLeavesNoCopies: when the previous release's access
// token has expired, the refresh writes MSAL Python's realm and removes the old
// entries, and a new sign-in replaces the old account entry: one entry per credential.
func TestPreviousReleaseCacheRefreshLeavesNoCopies(t *testing.T) {
	data, err := os.ReadFile("testdata/cache/previous_release.json")
	if err != nil {
		t.Fatal(err)
	}
	c := NewTokenCache()
	if err := c.Deserialize(data); err != nil {
		t.Fatal(err)
	}
	later := testNow.Add(2 * time.Hour) // the fixture's tokens expired an hour ago
	sts := &fakeSTS{respond: func(req tokenRequest) (*tokenResponse, error) {
		r := userResponse(alice, "", "User.Read openid profile", "at-new", "rt-new")
		r.ReceivedAt = later
		return r, nil
	}}
	pc, err := NewPublicClient(testClientID, WithTokenCache(c), WithClock(func() time.Time { return later }),
		WithAuthority("https://login.microsoftonline.com/organizations"))
	if err != nil {
		t.Fatal(err)
	}
	pinEndpoint(t, pc.ClientApplication, entraAuthority("organizations"), sts)
	ctx := context.Background()
	accts, _ := pc.Accounts(ctx, alice.username)
	if accts.Len() != 1 {
		t.Fatalf("accounts %v", accts)
	}
	res, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, accts.At(0))
	if err != nil || res.AccessToken != "at-new" {
		t.Fatalf("refresh: %q, %v", res.AccessToken, err)
	}
	// A new sign-in (any grant) writes the account entry too.
	signIn, _ := sts.respond(tokenRequest{})
	if _, err := c.store(storeParams{authority: entraAuthority("organizations"), clientID: testClientID,
		response: signIn}); err != nil {
		t.Fatal(err)
	}
	for sec, entries := range cacheJSON(t, c) {
		var realms []string
		for _, e := range entries {
			if e["home_account_id"] == alice.home() && (sec == "Account" || e["client_id"] == testClientID) {
				realm, _ := e["realm"].(string)
				realms = append(realms, realm)
			}
		}
		switch sec {
		case "AccessToken", "IdToken", "Account":
			if len(realms) != 1 || realms[0] != "organizations" {
				t.Errorf("%s of alice under realms %v, want only organizations", sec, realms)
			}
		case "RefreshToken":
			if len(realms) != 1 {
				t.Errorf("%d refresh tokens of alice's app, want 1", len(realms))
			}
		}
	}
}
