package identity

import (
	"context"
	"strings"
	"testing"
	"time"
)

const otherClientID = "b1b1b1b1-1111-2222-3333-444444444444"

// sourceCache is another app's cache: alice and bob under testClientID, alice also
// under another client, and an app-only token.
func sourceCache(t *testing.T, aliceRT string, at time.Time) []byte {
	t.Helper()
	c := NewTokenCache()
	info := entraAuthority(alice.utid)
	ra := userResponse(alice, "", "User.Read", "at-alice", aliceRT)
	ra.ReceivedAt = at
	mustStore(t, c, info, testClientID, ra)
	mustStore(t, c, info, testClientID, userResponse(bob, "", "User.Read", "at-bob", "rt-bob"))
	mustStore(t, c, info, otherClientID, userResponse(alice, "", "User.Read", "at-other", "rt-other"))
	app := &tokenResponse{AccessToken: "at-app", TokenType: "Bearer", Scope: "https://graph.microsoft.com/.default", ExpiresIn: 3600, ReceivedAt: testNow}
	if _, err := c.store(storeParams{authority: info, clientID: testClientID, requestedScopes: []string{"https://graph.microsoft.com/.default"}, response: app}); err != nil {
		t.Fatal(err)
	}
	b, err := c.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// secrets returns the secrets of one section of c, by username-independent key.
func secrets(t *testing.T, c *TokenCache, section string) []string {
	t.Helper()
	var out []string
	for _, e := range cacheJSON(t, c)[section] {
		out = append(out, e["secret"].(string))
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMergeTakesWantedClientsOnly(t *testing.T) {
	ctx := context.Background()
	src := sourceCache(t, "rt-alice", testNow)
	c := NewTokenCache()
	res, err := c.Merge(ctx, src, []string{strings.ToUpper(testClientID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accounts) != 2 || res.Accounts[0].Username != alice.username || res.Accounts[1].Username != bob.username {
		t.Fatalf("accounts %+v", res.Accounts)
	}
	if res.SkippedClients[otherClientID] != 3 || res.SkippedAppOnly != 1 || res.Added == 0 || res.Updated+res.Unchanged+res.KeptNewer != 0 {
		t.Fatalf("result %+v", res)
	}
	rts := secrets(t, c, "RefreshToken")
	if len(rts) != 2 || !has(rts, "rt-alice") || !has(rts, "rt-bob") {
		t.Fatalf("refresh tokens %v", rts)
	}
	if ats := secrets(t, c, "AccessToken"); has(ats, "at-app") || has(ats, "at-other") {
		t.Fatalf("access tokens of others were merged: %v", ats)
	}
	if len(cacheJSON(t, c)["AppMetadata"]) != 1 {
		t.Errorf("app metadata: %v", cacheJSON(t, c)["AppMetadata"])
	}

	// The client then finds alice silently, from the merged entries alone.
	pc := newTestClient(t, c, entraAuthority(alice.utid), nil)
	accts, _ := pc.Accounts(ctx, alice.username)
	if accts.Len() != 1 {
		t.Fatalf("merged account not listed: %v", accts)
	}
	r, err := pc.AcquireTokenSilentWithError(ctx, []string{"User.Read"}, accts.At(0))
	if err != nil || r.AccessToken != "at-alice" {
		t.Fatalf("silent after merge: %v %v", r.AccessToken, err)
	}

	// Again: nothing changes, and the cache is not even marked changed.
	c.Serialize()
	again, err := c.Merge(ctx, src, []string{testClientID})
	if err != nil || again.Added+again.Updated != 0 || again.Unchanged != res.Added || c.HasChanged() {
		t.Fatalf("second merge %+v, %v, changed %v", again, err, c.HasChanged())
	}
}

func TestMergeNeverReplacesNewerRefreshToken(t *testing.T) {
	ctx := context.Background()
	c := NewTokenCache()
	if _, err := c.Merge(ctx, sourceCache(t, "rt-rotated-here", testNow.Add(time.Hour)), []string{testClientID}); err != nil {
		t.Fatal(err)
	}
	// An older copy of the other app's cache must not bring back its older token.
	res, err := c.Merge(ctx, sourceCache(t, "rt-old", testNow), []string{testClientID})
	if err != nil {
		t.Fatal(err)
	}
	rts := secrets(t, c, "RefreshToken")
	if !has(rts, "rt-rotated-here") || has(rts, "rt-old") || res.KeptNewer == 0 {
		t.Fatalf("older refresh token replaced a newer one: %v (%+v)", rts, res)
	}
	// A newer one replaces it.
	res, err = c.Merge(ctx, sourceCache(t, "rt-newest", testNow.Add(2*time.Hour)), []string{testClientID})
	if rts := secrets(t, c, "RefreshToken"); err != nil || !has(rts, "rt-newest") || has(rts, "rt-rotated-here") || res.Updated == 0 {
		t.Fatalf("newer refresh token not taken: %v (%+v, %v)", rts, res, err)
	}
}

func TestMergeRejectsGarbageAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	c := NewTokenCache()
	if _, err := c.Merge(ctx, sourceCache(t, "rt-alice", testNow), []string{testClientID}); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Serialize()
	for _, bad := range []string{"not json", `{"RefreshToken": []}`, `[1,2]`, `{"Account": {"k": {"home_account_id": 5}}}`, "{\"RefreshToken\": {"} {
		if _, err := c.Merge(ctx, []byte(bad), []string{testClientID}); err == nil {
			t.Errorf("Merge(%q) succeeded", bad)
		}
	}
	after, _ := c.Serialize()
	if string(before) != string(after) {
		t.Error("a failed merge changed the cache")
	}
	// An empty file is an empty cache: nothing to merge, no error.
	if res, err := c.Merge(ctx, nil, []string{testClientID}); err != nil || len(res.Accounts) != 0 {
		t.Errorf("empty merge: %+v %v", res, err)
	}
}

func TestExportChosenAccounts(t *testing.T) {
	ctx := context.Background()
	c := NewTokenCache()
	if err := c.Deserialize(sourceCache(t, "rt-alice", testNow)); err != nil {
		t.Fatal(err)
	}
	pc := newTestClient(t, c, entraAuthority(alice.utid), nil)
	accts, _ := pc.Accounts(ctx, alice.username)
	out, err := c.Export(ctx, accts.Slice())
	if err != nil {
		t.Fatal(err)
	}
	e := NewTokenCache()
	if err := e.Deserialize(out); err != nil {
		t.Fatal(err)
	}
	rts := secrets(t, e, "RefreshToken")
	if len(rts) != 2 || !has(rts, "rt-alice") || !has(rts, "rt-other") || has(secrets(t, e, "AccessToken"), "at-app") {
		t.Fatalf("export of alice: refresh tokens %v, access tokens %v", rts, secrets(t, e, "AccessToken"))
	}
	if n := len(cacheJSON(t, e)["Account"]); n != 1 {
		t.Errorf("export of alice holds %d accounts", n)
	}
	if n := len(cacheJSON(t, e)["AppMetadata"]); n != 2 {
		t.Errorf("export of alice holds %d app metadata entries, want both clients'", n)
	}
	all, err := c.Export(ctx, nil)
	full, _ := c.Serialize()
	if err != nil || string(all) != string(full) {
		t.Error("export of everything is not the whole cache")
	}
}

// An account MSAL Python signed in at /organizations (Azure CLI's "az login") has the
// realm "organizations"; the access tokens this client then gets are cached under the
// home tenant and must be found there, or every call would redeem the refresh token.
func TestSilentHitForAccountWithCommonRealm(t *testing.T) {
	ctx := context.Background()
	c := NewTokenCache()
	info := entraAuthority("organizations")
	mustStore(t, c, info, testClientID, userResponse(alice, "", "User.Read", "at-alice", "rt-alice"))
	// Rewrite the account entry as MSAL Python writes it at /organizations.
	data, _ := c.Serialize()
	home := strings.ToLower(alice.home() + "-" + testHost)
	data = []byte(strings.ReplaceAll(string(data), `"`+home+`-`+alice.utid+`":`, `"`+home+`-organizations":`))
	data = []byte(strings.Replace(string(data), `"realm":"`+alice.utid+`","username"`, `"realm":"organizations","username"`, 1))
	if err := c.Deserialize(data); err != nil {
		t.Fatal(err)
	}
	pc := newTestClient(t, c, info, nil) // any token request fails the test
	accts, _ := pc.Accounts(ctx, "")
	if accts.Len() != 1 || accts.At(0).Realm != "organizations" {
		t.Fatalf("accounts %+v\n%s", accts, data)
	}
	r, err := pc.AcquireTokenSilentWithError(ctx, []string{"User.Read"}, accts.At(0))
	if err != nil || r.AccessToken != "at-alice" {
		t.Fatalf("silent for an /organizations account: %q, %v", r.AccessToken, err)
	}
}

func TestRemoveAccessToken(t *testing.T) {
	ctx := context.Background()
	c := NewTokenCache()
	if err := c.Deserialize(sourceCache(t, "rt-alice", testNow)); err != nil {
		t.Fatal(err)
	}
	c.Serialize()
	if n, err := c.RemoveAccessToken(ctx, "not-cached"); n != 0 || err != nil || c.HasChanged() {
		t.Fatalf("removing an unknown token: %d %v changed %v", n, err, c.HasChanged())
	}
	if n, err := c.RemoveAccessToken(ctx, "at-alice"); n != 1 || err != nil {
		t.Fatalf("RemoveAccessToken = %d, %v", n, err)
	}
	if ats := secrets(t, c, "AccessToken"); has(ats, "at-alice") || !has(ats, "at-bob") || !has(secrets(t, c, "RefreshToken"), "rt-alice") {
		t.Fatalf("after removal: access %v refresh %v", ats, secrets(t, c, "RefreshToken"))
	}
	// The client now redeems alice's refresh token.
	sts := &fakeSTS{respond: func(req tokenRequest) (*tokenResponse, error) {
		return userResponse(alice, "", "User.Read", "at-new", "rt-new"), nil
	}}
	pc := newTestClient(t, c, entraAuthority(alice.utid), sts)
	accts, _ := pc.Accounts(ctx, alice.username)
	r, err := pc.AcquireTokenSilentWithError(ctx, []string{"User.Read"}, accts.At(0))
	if err != nil || r.AccessToken != "at-new" || len(sts.requests()) != 1 {
		t.Fatalf("silent after removal: %q %v, %d requests", r.AccessToken, err, len(sts.requests()))
	}
}
