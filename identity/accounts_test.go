package identity

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAccounts(t *testing.T) {
	org := entraAuthority("organizations")
	guest := "99999999-0000-0000-0000-000000000000"
	tests := []struct {
		name     string
		info     *authorityInfo
		seed     func(c *TokenCache)
		username string
		want     []string // usernames
	}{{
		name: "grouped by home account id across tenants",
		seed: func(c *TokenCache) {
			store(c, userResponse(alice, "", "s", "a", "r"))
			store(c, userResponse(alice, guest, "s", "a", "r"))
			store(c, userResponse(bob, "", "s", "a", "r"))
		},
		want: []string{alice.username, bob.username},
	}, {
		name: "username filter is case-insensitive",
		seed: func(c *TokenCache) {
			store(c, userResponse(alice, "", "s", "a", "r"))
			store(c, userResponse(bob, "", "s", "a", "r"))
		},
		username: "ALICE@contoso.COM",
		want:     []string{alice.username},
	}, {
		name:     "no match",
		seed:     func(c *TokenCache) { store(c, userResponse(alice, "", "s", "a", "r")) },
		username: "carol@contoso.com",
	}, {
		name: "accounts of another cloud are not listed",
		seed: func(c *TokenCache) {
			store(c, userResponse(alice, "", "s", "a", "r"))
			cn := entraAuthority("organizations")
			cn.Host = "login.chinacloudapi.cn"
			storeAt(c, cn, userResponse(bob, "", "s", "a", "r"))
		},
		want: []string{alice.username},
	}, {
		name: "found under an alias when the host has none",
		seed: func(c *TokenCache) {
			storeAt(c, entraAliasAuthority("login.windows.net"), userResponse(bob, "", "s", "a", "r"))
		},
		want: []string{bob.username},
	}, {
		name: "generic OpenID accounts are listed",
		info: &authorityInfo{Host: "127.0.0.1:5556", Type: authorityTypeGeneric, Aliases: []string{"127.0.0.1:5556"}},
		seed: func(c *TokenCache) {
			storeAt(c, &authorityInfo{Host: "127.0.0.1:5556", Type: authorityTypeGeneric}, &tokenResponse{
				AccessToken: "a", IDToken: "x.y.z", ExpiresIn: 60, ReceivedAt: testNow,
				IDTokenClaims: map[string]any{"sub": "s1", "email": "dev@example.org"}})
		},
		want: []string{"dev@example.org"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			tt.seed(c)
			info := tt.info
			if info == nil {
				info = org
			}
			pc := newTestClient(t, c, info, nil)
			got, err := pc.Accounts(context.Background(), tt.username)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range got.All() {
				names = append(names, a.Username)
				// MSAL Python's realm: the tenant segment alice signed in at.
				if a.HomeAccountID == alice.home() && a.Realm != "organizations" {
					t.Errorf("alice listed with realm %q, want organizations", a.Realm)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.want) {
				t.Fatalf("accounts %v, want %v", names, tt.want)
			}
		})
	}
}

func TestAccountsOfflineFallsBackToKnownAliases(t *testing.T) {
	c := NewTokenCache()
	storeAt(c, entraAliasAuthority("login.windows.net"), userResponse(alice, "", "User.Read", "at", "rt"))
	// No pinned endpoint: resolution goes to the transport, which must fail without a network;
	// WithHTTPClient makes it fail at once instead of dialing anything.
	pc, err := NewPublicClient(testClientID, WithTokenCache(c), WithHTTPClient(noNetwork()),
		WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	got, err := pc.Accounts(context.Background(), "")
	if err != nil || got.Len() != 1 || got.At(0).Username != alice.username {
		t.Fatalf("offline Accounts = %v, %v", got, err)
	}
	res, err := pc.AcquireTokenSilent(context.Background(), []string{"User.Read"}, got.At(0))
	if err != nil || res.AccessToken != "at" {
		t.Fatalf("offline cache hit = %q, %v", res.AccessToken, err)
	}
	if _, err := pc.AcquireTokenSilent(context.Background(), []string{"Other.Scope"}, got.At(0)); err == nil ||
		errors.Is(err, ErrInteractionRequired) {
		t.Fatalf("offline refresh: err = %v, want the resolution error", err)
	}
}

func TestRemoveAccount(t *testing.T) {
	c := NewTokenCache()
	org := entraAuthority("organizations")
	const fam, stranger = "f0f0f0f0-0000-0000-0000-000000000000", "5555aaaa-0000-0000-0000-000000000000"
	withFamily := func(r *tokenResponse) *tokenResponse { r.FamilyID = "1"; return r }
	storeFor(c, testClientID, withFamily(userResponse(alice, "", "User.Read", "at-mine", "rt-mine")))
	storeFor(c, testClientID, withFamily(userResponse(alice, "99999999-0000-0000-0000-000000000000", "Files.Read", "at-guest", "rt-mine2")))
	storeFor(c, fam, withFamily(userResponse(alice, "", "User.Read", "at-fam", "rt-fam")))
	storeFor(c, stranger, userResponse(alice, "", "User.Read", "at-stranger", "rt-stranger"))
	storeAt(c, entraAliasAuthority("login.windows.net"), userResponse(alice, "", "Mail.Read", "at-alias", "rt-alias"))
	storeFor(c, testClientID, withFamily(userResponse(bob, "", "User.Read", "at-bob", "rt-bob")))

	pc := newTestClient(t, c, org, nil)
	if err := pc.RemoveAccount(context.Background(), Account{}); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("zero account: %v", err)
	}
	if err := pc.RemoveAccount(context.Background(), aliceAccount()); err != nil {
		t.Fatal(err)
	}
	got := cacheJSON(t, c)
	secrets := func(sec string) []string {
		var out []string
		for _, e := range got[sec] {
			out = append(out, e["secret"].(string))
		}
		return sorted(out)
	}
	if want := "[rt-bob rt-stranger]"; fmt.Sprint(secrets("RefreshToken")) != want {
		t.Errorf("refresh tokens %v, want %v (mine, family's and the alias's gone; a stranger's kept)", secrets("RefreshToken"), want)
	}
	if want := "[at-bob]"; fmt.Sprint(secrets("AccessToken")) != want {
		t.Errorf("access tokens %v, want %v", secrets("AccessToken"), want)
	}
	for _, sec := range []string{"IdToken", "Account"} {
		for key := range got[sec] {
			if strings.HasPrefix(key, strings.ToLower(alice.home())) {
				t.Errorf("%s %q survived", sec, key)
			}
		}
	}
	if len(got["AppMetadata"]) != 4 {
		t.Errorf("app metadata %v, want all kept", keys(got["AppMetadata"]))
	}
	if accts, _ := pc.Accounts(context.Background(), ""); accts.Len() != 1 || accts.At(0).Username != bob.username {
		t.Errorf("accounts after removal: %v", accts)
	}
}

func TestRemoveTokensForClient(t *testing.T) {
	c := NewTokenCache()
	info := entraAuthority("contoso.onmicrosoft.com")
	appOnly := func(clientID, at string) {
		if _, err := c.store(storeParams{authority: info, clientID: clientID, appOnly: true,
			response: &tokenResponse{AccessToken: at, Scope: "https://graph.microsoft.com/.default", ExpiresIn: 3600, ReceivedAt: testNow}}); err != nil {
			t.Fatal(err)
		}
	}
	appOnly(testClientID, "app-mine")
	appOnly("other-app", "app-other")
	storeAt(c, info, userResponse(alice, "", "User.Read", "user-at", "user-rt"))

	cc, err := NewConfidentialClient(testClientID, NewSecretCredential("not-a-real-secret"), WithTokenCache(c),
		WithAuthority("https://login.microsoftonline.com/contoso.onmicrosoft.com"))
	if err != nil {
		t.Fatal(err)
	}
	pinEndpoint(t, cc.ClientApplication, info, nil)
	if err := cc.RemoveTokensForClient(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, at := range cacheJSON(t, c)["AccessToken"] {
		left = append(left, at["secret"].(string))
	}
	if fmt.Sprint(sorted(left)) != "[app-other user-at]" {
		t.Fatalf("access tokens left %v", sorted(left))
	}
}

func TestAccountsListingIsSharedUntilAChange(t *testing.T) {
	c := NewTokenCache()
	store(c, userResponse(alice, "", "s", "a", "r"))
	pc := newTestClient(t, c, entraAuthority("organizations"), nil)
	ctx := context.Background()
	first, _ := pc.Accounts(ctx, "")
	again, _ := pc.Accounts(ctx, "")
	if &first.list[0] != &again.list[0] {
		t.Fatal("an unchanged listing was rebuilt")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = pc.Accounts(ctx, "") }); n != 0 {
		t.Errorf("listing an unchanged cache allocates %v times, want 0", n)
	}
	store(c, userResponse(bob, "", "s", "a", "r"))
	after, _ := pc.Accounts(ctx, "")
	if after.Len() != 2 || first.Len() != 1 || first.At(0).Username != alice.username {
		t.Fatalf("a change did not give a new listing, or changed the old one: %v %v", first, after)
	}
}

// TestAccountsAreReadOnly: what one caller does with its Accounts result (or with a
// hit's ID token claims) is not what the next caller sees, though both are shared,
// not copied, between callers.
func TestAccountsAreReadOnly(t *testing.T) {
	c := NewTokenCache()
	r := userResponse(alice, "", "User.Read", "at", "r")
	r.IDTokenClaims["amr"] = []any{"pwd", "mfa"}
	r.IDTokenClaims["address"] = map[string]any{"country": "NL"}
	r.IDToken = fakeJWT(r.IDTokenClaims)
	store(c, r)
	pc := newTestClient(t, c, entraAuthority("organizations"), nil)
	ctx := context.Background()
	mine, _ := pc.Accounts(ctx, "")
	acc := mine.At(0)
	acc.Username = "mallory@evil.example"
	for _, a := range mine.All() {
		a.HomeAccountID = "someone.else"
	}
	own := mine.Slice()
	own[0].Username, own[0].HomeAccountID = "mallory@evil.example", "someone.else"
	theirs, _ := pc.Accounts(ctx, "")
	if theirs.Len() != 1 || theirs.At(0).Username != alice.username || theirs.At(0).HomeAccountID != alice.home() {
		t.Fatalf("another caller's writes show in the listing: %+v", theirs)
	}
	hit, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, theirs.At(0))
	if err != nil {
		t.Fatal(err)
	}
	m := hit.IDTokenClaims.Map()
	m["preferred_username"] = "mallory@evil.example"
	delete(m, "tid")
	m["amr"].([]any)[0] = "none"
	m["address"].(map[string]any)["country"] = "XX"
	amr, _ := hit.IDTokenClaims.Lookup("amr")
	amr.([]any)[1] = "none"
	addr, _ := hit.IDTokenClaims.Lookup("address")
	addr.(map[string]any)["country"] = "XX"
	hit.Scopes[0] = "Directory.ReadWrite.All"
	again, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, theirs.At(0))
	if err != nil {
		t.Fatal(err)
	}
	got := again.IDTokenClaims.Map()
	if got["preferred_username"] != alice.username || got["tid"] != alice.utid ||
		fmt.Sprint(got["amr"]) != "[pwd mfa]" || fmt.Sprint(got["address"]) != "map[country:NL]" {
		t.Fatalf("a caller's writes to the claims show in the next hit: %v", got)
	}
	if again.Scopes[0] != "User.Read" {
		t.Fatalf("a caller's write to Result.Scopes shows in the next hit: %v", again.Scopes)
	}
	if again.IDTokenClaims.m == nil || reflect.ValueOf(again.IDTokenClaims.m).UnsafePointer() != reflect.ValueOf(hit.IDTokenClaims.m).UnsafePointer() {
		t.Error("each hit decoded or copied the claims again; they are shared read-only")
	}
}

func TestCacheSharedByClients(t *testing.T) {
	c := NewTokenCache()
	const other = "b1b1b1b1-0000-0000-0000-000000000000"
	storeFor(c, testClientID, userResponse(alice, "", "User.Read", "at-first", "rt-first"))
	storeFor(c, other, userResponse(alice, "", "User.Read", "at-second", "rt-second"))
	first := newTestClientID(t, testClientID, c, entraAuthority("organizations"), nil)
	second := newTestClientID(t, other, c, entraAuthority("organizations"), nil)
	for _, tc := range []struct {
		pc   *PublicClient
		want string
	}{{first, "at-first"}, {second, "at-second"}} {
		accts, err := tc.pc.Accounts(context.Background(), "")
		if err != nil || accts.Len() != 1 {
			t.Fatalf("%s: accounts %v, %v", tc.pc.ClientID(), accts, err)
		}
		res, err := tc.pc.AcquireTokenSilent(context.Background(), []string{"User.Read"}, accts.At(0))
		if err != nil || res.AccessToken != tc.want {
			t.Fatalf("%s: silent %q, %v; want its own token", tc.pc.ClientID(), res.AccessToken, err)
		}
	}
	// Signing out of one app leaves the other's refresh token.
	if err := first.RemoveAccount(context.Background(), aliceAccount()); err != nil {
		t.Fatal(err)
	}
	rts := cacheJSON(t, c)["RefreshToken"]
	if len(rts) != 1 {
		t.Fatalf("refresh tokens after one app signed out: %v", keys(rts))
	}
	for _, rt := range rts {
		if rt["client_id"] != other {
			t.Fatalf("kept %v, want the other app's", rt)
		}
	}
}
