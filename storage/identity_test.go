package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/testenv"
)

// msalCache returns an MSAL unified-schema cache (as MSAL Python writes it) with
// accounts accounts, each with an account, ID token, access token and refresh token.
// Account i's access token is accessToken with i appended.
func msalCache(accounts int, accessToken string) []byte {
	var at, rt, idt, acct strings.Builder
	idToken := "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0." + strings.Repeat("eyJhdWQiOiJjaWQifQ", 12) + "."
	refresh := "0.AAAA" + strings.Repeat("rt-storage-test", 25)
	for i := range accounts {
		sep := ","
		if i == 0 {
			sep = ""
		}
		home := fmt.Sprintf("uid%d.utid", i)
		fmt.Fprintf(&at, `%s"%s-login.microsoftonline.com-accesstoken-cid-utid-user.read mail.read":{"credential_type":"AccessToken","secret":"%s%d","home_account_id":"%s","environment":"login.microsoftonline.com","client_id":"cid","target":"User.Read Mail.Read","realm":"utid","token_type":"Bearer","cached_at":"1700000000","expires_on":"1900000000","extended_expires_on":"1900000000"}`,
			sep, home, accessToken, i, home)
		fmt.Fprintf(&rt, `%s"%s-login.microsoftonline.com-refreshtoken-cid--user.read mail.read":{"credential_type":"RefreshToken","secret":"%s","home_account_id":"%s","environment":"login.microsoftonline.com","client_id":"cid","target":"User.Read Mail.Read","last_modification_time":"1700000000"}`,
			sep, home, refresh, home)
		fmt.Fprintf(&idt, `%s"%s-login.microsoftonline.com-idtoken-cid-utid-":{"credential_type":"IdToken","secret":"%s","home_account_id":"%s","environment":"login.microsoftonline.com","realm":"utid","client_id":"cid"}`,
			sep, home, idToken, home)
		fmt.Fprintf(&acct, `%s"%s-login.microsoftonline.com-utid":{"home_account_id":"%s","environment":"login.microsoftonline.com","realm":"utid","local_account_id":"uid%d","username":"user%d@contoso.example","authority_type":"MSSTS"}`,
			sep, home, home, i, i)
	}
	return []byte(`{"AccessToken":{` + at.String() + `},"RefreshToken":{` + rt.String() +
		`},"IdToken":{` + idt.String() + `},"Account":{` + acct.String() +
		`},"AppMetadata":{"appmetadata-login.microsoftonline.com-cid":{"client_id":"cid","environment":"login.microsoftonline.com"}}}`)
}

// TestTokenCacheThroughStore persists a real identity.TokenCache through the store and
// the real OS keyring, as the app does, and checks no token reaches the disk readable.
func TestTokenCacheThroughStore(t *testing.T) {
	testenv.RequireKeyring(t)
	ctx := context.Background()
	dir := t.TempDir()
	user := testKeyUser(t)
	open := func() *CacheStore {
		s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), WithKeyringEntry(KeyringService, user))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	s1 := open()
	c1 := identity.NewTokenCache(identity.WithCacheHook(s1))
	if err := c1.Deserialize(msalCache(3, knownToken)); err != nil {
		t.Fatal(err)
	}
	// The bracket identity puts around a change.
	if err := s1.BeforeAccess(ctx, c1, true); err != nil {
		t.Fatal(err)
	}
	if err := s1.AfterAccess(ctx, c1, true, true); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(s1.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{knownToken, "rt-storage-test", "user0@contoso.example", "AccessToken"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("cache file holds %q in plaintext", secret)
		}
	}

	// Another process start reads it back through the hook.
	s2 := open()
	c2 := identity.NewTokenCache(identity.WithCacheHook(s2))
	if err := s2.BeforeAccess(ctx, c2, false); err != nil {
		t.Fatal(err)
	}
	if err := s2.AfterAccess(ctx, c2, false, false); err != nil {
		t.Fatal(err)
	}
	got, err := c2.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !bytes.Contains(got, []byte(fmt.Sprintf("%s%d", knownToken, i))) {
			t.Fatalf("access token %d did not survive the round trip", i)
		}
	}
	if c2.HasChanged() {
		t.Error("a loaded cache reports a change")
	}
}
