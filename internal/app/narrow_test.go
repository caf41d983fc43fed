package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

// mapKeyring is an in-memory storage.Keyring.
type mapKeyring struct {
	mu sync.Mutex
	m  map[string]string
}

func (k *mapKeyring) Get(service, user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[service+"/"+user]
	if !ok {
		return "", storage.ErrNotFound
	}
	return v, nil
}

func (k *mapKeyring) Set(service, user, secret string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[service+"/"+user] = secret
	return nil
}

func (k *mapKeyring) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, service+"/"+user)
	return nil
}

// entraCache is an MSAL cache of n users of client "cid" at login.microsoftonline.com,
// each with a valid access token "at-<i>" for User.Read; user 2's has expired.
func entraCache(n int) []byte {
	var at, rt, acct []string
	for i := range n {
		home := fmt.Sprintf("uid%d.utid", i)
		exp := "4102444800" // 2100
		if i == 2 {
			exp = "1000000000"
		}
		at = append(at, fmt.Sprintf(`"%s-login.microsoftonline.com-accesstoken-cid-utid-user.read":{"credential_type":"AccessToken","secret":"at-%d","home_account_id":"%s","environment":"login.microsoftonline.com","client_id":"cid","target":"User.Read","realm":"utid","token_type":"Bearer","cached_at":"1700000000","expires_on":"%s","extended_expires_on":"%s"}`, home, i, home, exp, exp))
		rt = append(rt, fmt.Sprintf(`"%s-login.microsoftonline.com-refreshtoken-cid--":{"credential_type":"RefreshToken","secret":"rt-%d","home_account_id":"%s","environment":"login.microsoftonline.com","client_id":"cid","target":"User.Read"}`, home, i, home))
		acct = append(acct, fmt.Sprintf(`"%s-login.microsoftonline.com-utid":{"home_account_id":"%s","environment":"login.microsoftonline.com","realm":"utid","local_account_id":"uid%d","username":"user%d@contoso.example","name":"User %d","authority_type":"MSSTS"}`, home, home, i, i, i))
	}
	return []byte(`{"AccessToken":{` + strings.Join(at, ",") + `},"RefreshToken":{` + strings.Join(rt, ",") +
		`},"Account":{` + strings.Join(acct, ",") + `},"AppMetadata":{"appmetadata-login.microsoftonline.com-cid":{"client_id":"cid","environment":"login.microsoftonline.com"}}}`)
}

// TestShortLivedDeskMatchesFullDesk: a ShortLived Desk, which reads the index and one
// account's records, lists, finds, hands out tokens and signs out exactly as a Desk
// over the whole cache does, and its writes leave the other accounts intact.
func TestShortLivedDeskMatchesFullDesk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := storage.SaveConfig(dir, &storage.Config{Profiles: []profile.Profile{{
		Name: "Entra", Authority: "https://login.microsoftonline.com/organizations", ClientID: "cid"}},
		ClipboardClearSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	kr := &mapKeyring{m: map[string]string{}}
	seed, err := OpenDir(dir, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Store.BeforeAccess(ctx, seed.Cache, true); err != nil {
		t.Fatal(err)
	}
	seed.Cache.Deserialize(entraCache(5))
	if err := seed.Store.AfterAccess(ctx, seed.Cache, true, true); err != nil {
		t.Fatal(err)
	}

	open := func(opts ...DirOption) *usecase.Desk {
		st, err := OpenDir(dir, kr, nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return st.Desk
	}
	full, short := open(), open(ShortLived())
	want, err := full.Accounts(ctx)
	if err != nil || len(want) != 5 {
		t.Fatalf("full listing: %v, %d accounts", err, len(want))
	}
	got, err := short.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("short-lived listing has %d accounts, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Key != w.Key || g.Username != w.Username || g.DisplayName != w.DisplayName || g.Status != w.Status ||
			!g.ExpiresOn.Equal(w.ExpiresOn) || g.Profile != w.Profile || g.TenantOrIssuer != w.TenantOrIssuer {
			t.Fatalf("account %d: short-lived %+v, full %+v", i, g, w)
		}
	}
	if got[2].Status != usecase.StatusExpiredRefreshable || got[1].Status != usecase.StatusValid {
		t.Fatalf("statuses %v %v", got[1].Status, got[2].Status)
	}

	acc, err := short.FindAccount(ctx, "USER3@contoso.example", "")
	if err != nil || acc.Key != "uid3.utid-login.microsoftonline.com" {
		t.Fatalf("FindAccount: %+v, %v", acc, err)
	}
	if _, err := short.FindAccount(ctx, "nobody@contoso.example", ""); !errors.Is(err, usecase.ErrNoAccount) {
		t.Fatalf("FindAccount of nobody: %v", err)
	}
	res, err := short.Token(ctx, acc.Key, []string{"User.Read"}, false)
	if err != nil || res.AccessToken != "at-3" {
		t.Fatalf("Token: %q, %v", res.AccessToken, err)
	}
	if _, err := open(ShortLived()).Token(ctx, "user4@contoso.example", []string{"User.Read"}, false); err != nil {
		t.Fatalf("Token by username: %v", err)
	}

	if err := short.SignOut(ctx, acc.Key); err != nil {
		t.Fatal(err)
	}
	after, err := open().Accounts(ctx)
	if err != nil || len(after) != 4 {
		t.Fatalf("after sign-out: %v, %d accounts", err, len(after))
	}
	keys := map[string]usecase.Status{}
	for _, a := range after {
		keys[a.Key] = a.Status
	}
	if _, ok := keys[acc.Key]; ok {
		t.Fatal("signed-out account still listed")
	}
	for k, st := range maps.All(keys) {
		if k != "uid2.utid-login.microsoftonline.com" && st != usecase.StatusValid {
			t.Fatalf("%s lost its token: %v", k, st)
		}
	}
	res, err = open(ShortLived()).Token(ctx, "user0@contoso.example", []string{"User.Read"}, false)
	if err != nil || res.AccessToken != "at-0" {
		t.Fatalf("another account after the sign-out: %q, %v", res.AccessToken, err)
	}
}
