package identity

import (
	"context"
	"testing"
	"time"
)

func TestTokenStates(t *testing.T) {
	const data = `{
  "AccessToken": {
    "uid1.tid-login.microsoftonline.com-accesstoken-c1-tid-a": {"credential_type": "AccessToken", "secret": "x",
      "home_account_id": "uid1.tid", "environment": "login.microsoftonline.com", "client_id": "c1", "realm": "tid",
      "target": "a", "cached_at": "1700000000", "expires_on": "1700003600"},
    "uid1.tid-login.microsoftonline.com-accesstoken-c2-tid-b": {"credential_type": "AccessToken", "secret": "x",
      "home_account_id": "uid1.tid", "environment": "login.microsoftonline.com", "client_id": "c2", "realm": "tid",
      "target": "b", "cached_at": "1700000000", "expires_on": "1700007200"},
    "-login.microsoftonline.com-accesstoken-c1-tid-app": {"credential_type": "AccessToken", "secret": "x",
      "home_account_id": null, "environment": "login.microsoftonline.com", "client_id": "c1", "realm": "tid",
      "target": "app", "cached_at": "1700000000", "expires_on": "1700009999"}
  },
  "RefreshToken": {
    "uid1.tid-login.microsoftonline.com-refreshtoken-c1--a": {"credential_type": "RefreshToken", "secret": "r",
      "home_account_id": "uid1.tid", "environment": "login.microsoftonline.com", "client_id": "c1", "target": "a"},
    "uid2.tid-login.microsoftonline.com-refreshtoken-c1--a": {"credential_type": "RefreshToken", "secret": "r",
      "home_account_id": "uid2.tid", "environment": "login.microsoftonline.com", "client_id": "c1", "target": "a"}
  },
  "Account": {
    "uid1.tid-login.microsoftonline.com-tid": {"home_account_id": "uid1.tid", "environment": "login.microsoftonline.com",
      "realm": "tid", "local_account_id": "uid1", "username": "one@x", "authority_type": "MSSTS"},
    "uid2.tid-login.microsoftonline.com-tid": {"home_account_id": "uid2.tid", "environment": "login.microsoftonline.com",
      "realm": "tid", "local_account_id": "uid2", "username": "two@x", "authority_type": "MSSTS"},
    "uid3.tid-login.microsoftonline.com-tid": {"home_account_id": "uid3.tid", "environment": "login.microsoftonline.com",
      "realm": "tid", "local_account_id": "uid3", "username": "three@x", "authority_type": "MSSTS"}
  }
}`
	c := NewTokenCache()
	if err := c.Deserialize([]byte(data)); err != nil {
		t.Fatal(err)
	}
	states, accounts, err := c.TokenStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if accounts != 3 {
		t.Errorf("accounts = %d, want 3", accounts)
	}
	got := map[string]TokenState{}
	for _, s := range states {
		got[s.HomeAccountID+"@"+s.Environment] = s
	}
	want := map[string]TokenState{
		// The latest of its two clients' access tokens, and its refresh token.
		"uid1.tid@login.microsoftonline.com": {HomeAccountID: "uid1.tid", Environment: "login.microsoftonline.com",
			LatestExpiry: time.Unix(1700007200, 0), HasRefreshToken: true},
		// Only a refresh token. uid3 has no token at all, and the app-only token
		// belongs to no account: neither is listed.
		"uid2.tid@login.microsoftonline.com": {HomeAccountID: "uid2.tid", Environment: "login.microsoftonline.com",
			HasRefreshToken: true},
	}
	if len(got) != len(want) {
		t.Fatalf("states = %+v, want %+v", states, want)
	}
	for k, w := range want {
		if g := got[k]; !g.LatestExpiry.Equal(w.LatestExpiry) || g.HasRefreshToken != w.HasRefreshToken ||
			g.HomeAccountID != w.HomeAccountID || g.Environment != w.Environment {
			t.Errorf("%s: %+v, want %+v", k, g, w)
		}
	}
}
