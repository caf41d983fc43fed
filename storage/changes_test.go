package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
)

// cacheDoc is a serialized cache as maps: section, key, entry.
type cacheDoc map[string]map[string]map[string]any

// editCache runs edit on a serialized cache's maps and serializes them again.
func editCache(t *testing.T, doc []byte, edit func(cacheDoc)) []byte {
	t.Helper()
	var m cacheDoc
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mergeToken is a cache holding one access token of home, as Merge takes it.
func mergeToken(home, secret string, expires int) []byte {
	return fmt.Appendf(nil, `{"Account":{"%[1]s-login.microsoftonline.com-utid":{"home_account_id":"%[1]s","environment":"login.microsoftonline.com","realm":"utid","local_account_id":"x","username":"%[1]s@contoso.example","authority_type":"MSSTS"}},`+
		`"AccessToken":{"%[1]s-login.microsoftonline.com-accesstoken-cid-utid-user.read mail.read":{"credential_type":"AccessToken","secret":"%[2]s","home_account_id":"%[1]s","environment":"login.microsoftonline.com","client_id":"cid","target":"User.Read Mail.Read","realm":"utid","token_type":"Bearer","cached_at":"1700000000","expires_on":"%[3]d","extended_expires_on":"%[3]d"}}}`,
		home, secret, expires)
}

// TestTokenCacheSavesOnlyChangedAccounts: after its first save, a whole TokenCache is
// saved by the accounts identity says its changes touched (a token refreshed, a
// token removed, an account added), and a fresh process loads exactly the cache. A
// cache replaced whole (Deserialize), one holding sections of other MSAL apps, or
// one another process changed meanwhile, is saved whole, and nothing another process
// wrote is lost.
func TestTokenCacheSavesOnlyChangedAccounts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := identity.NewTokenCache(identity.WithCacheHook(s))
	check := func(name string, byAccounts bool, before int) {
		t.Helper()
		if got := s.accountSaves > before; got != byAccounts {
			t.Fatalf("%s: saved by accounts %v, want %v", name, got, byAccounts)
		}
		fresh := identity.NewTokenCache()
		if err := load(ctx, openMem(t, dir, kr), fresh); err != nil {
			t.Fatal(err)
		}
		got, _ := fresh.Serialize()
		want, _ := c.Serialize()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: a fresh process loads another cache than was saved", name)
		}
	}
	replace := func(name string, edit func(cacheDoc), byAccounts bool) {
		t.Helper()
		if err := s.BeforeAccess(ctx, c, true); err != nil {
			t.Fatal(err)
		}
		cur, _ := c.Serialize()
		if err := c.Deserialize(editCache(t, cur, edit)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		before := s.accountSaves
		if err := s.AfterAccess(ctx, c, true, true); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		check(name, byAccounts, before)
	}
	merge := func(name string, doc []byte, byAccounts bool) {
		t.Helper()
		before := s.accountSaves
		if _, err := c.Merge(ctx, doc, []string{"cid"}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		check(name, byAccounts, before)
	}
	replace("first save", func(m cacheDoc) {
		var all cacheDoc
		json.Unmarshal(msalCache(50, knownToken), &all)
		for k, v := range all {
			m[k] = v
		}
	}, false)
	dataSize := func() int64 {
		fi, _ := os.Stat(filepath.Join(dir, s.idx.dataName))
		return fi.Size()
	}
	size := dataSize()
	merge("one token", mergeToken("uid7.utid", "new-token-7", 1900000001), true)
	if grew := dataSize() - size; grew <= 0 || grew > 4096 {
		t.Fatalf("one token's save appended %d bytes", grew)
	}
	before := s.accountSaves
	if n, err := c.RemoveAccessToken(ctx, knownToken+"9"); err != nil || n != 1 {
		t.Fatalf("RemoveAccessToken: %d, %v", n, err)
	}
	check("token removed", true, before)
	merge("account added", mergeToken("uid50.utid", "new-token-50", 1900000001), true)
	merge("nothing new: no save at all", mergeToken("uid50.utid", "new-token-50", 1900000001), false)
	replace("replaced whole", func(m cacheDoc) {
		for _, e := range m["AccessToken"] {
			if e["home_account_id"] == "uid4.utid" {
				e["secret"] = "new-token-4"
			}
		}
	}, false)
	merge("by accounts again", mergeToken("uid8.utid", "new-token-8", 1900000001), true)
	replace("a section of another app", func(m cacheDoc) {
		m["OtherApp"] = map[string]map[string]any{"k": {"home_account_id": "uid3.utid", "environment": "login.microsoftonline.com"}}
	}, false)
	merge("a token beside it", mergeToken("uid3.utid", "new-token-3", 1900000001), false)
	replace("the section gone", func(m cacheDoc) { delete(m, "OtherApp") }, false)
	merge("by accounts once more", mergeToken("uid2.utid", "new-token-2", 1900000001), true)

	// Another process changes uid5; the window reloads and is saved whole once.
	other := openMem(t, dir, kr)
	oc := identity.NewTokenCache(identity.WithCacheHook(other))
	if _, err := oc.Merge(ctx, mergeToken("uid5.utid", "from-another-process", 1900000001), []string{"cid"}); err != nil {
		t.Fatal(err)
	}
	merge("after another process", mergeToken("uid6.utid", "new-token-6", 1900000001), false)
	merge("and then by accounts", mergeToken("uid1.utid", "new-token-1", 1900000001), true)
	doc, _ := c.Serialize()
	for _, want := range []string{"from-another-process", "new-token-1", "new-token-2", "new-token-3", "new-token-4", "new-token-6", "new-token-7", "new-token-8", "new-token-50"} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Fatalf("%s lost", want)
		}
	}
	if bytes.Contains(doc, []byte(`"secret":"`+knownToken+`9"`)) {
		t.Fatal("the removed token is back")
	}
}

// TestTokenCachesSavingByAccountsConcurrently: writers in the manner of processes
// (each its own store and TokenCache on one directory) merge tokens of their own
// account over and over, interleaving with every other; saves by accounts and whole
// saves mix, and no writer's last token is lost.
func TestTokenCachesSavingByAccountsConcurrently(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	seed := identity.NewTokenCache(identity.WithCacheHook(openMem(t, dir, kr)))
	if _, err := seed.Merge(ctx, msalCache(20, knownToken), []string{"cid"}); err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 8, 25
	errs := make(chan error, writers)
	byAccounts := make(chan int, writers)
	for w := range writers {
		go func() {
			s := openMem(t, dir, kr)
			c := identity.NewTokenCache(identity.WithCacheHook(s))
			for r := range rounds {
				home := fmt.Sprintf("uid%d.utid", w)
				if _, err := c.Merge(ctx, mergeToken(home, fmt.Sprintf("w%d-r%d", w, r), 1900000001+r), []string{"cid"}); err != nil {
					errs <- err
					return
				}
			}
			byAccounts <- s.accountSaves
			errs <- nil
		}()
	}
	total := 0
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for range writers {
		total += <-byAccounts
	}
	fresh := identity.NewTokenCache()
	if err := load(ctx, openMem(t, dir, kr), fresh); err != nil {
		t.Fatal(err)
	}
	doc, _ := fresh.Serialize()
	for w := range writers {
		if want := fmt.Sprintf(`"secret":"w%d-r%d"`, w, rounds-1); !bytes.Contains(doc, []byte(want)) {
			t.Fatalf("writer %d's last token lost", w)
		}
	}
	if n := bytes.Count(doc, []byte(`"credential_type":"RefreshToken"`)); n != 20 {
		t.Fatalf("%d refresh tokens, want 20", n)
	}
	t.Logf("%d of %d saves by accounts", total, writers*rounds)
}

// TestAccountsSharingAKeySavedTogether: two accounts whose keys join to the same
// string ("a-b" at "c.test", "a" at "b-c.test") are one record; a change to one
// saves both, losing neither.
func TestAccountsSharingAKeySavedTogether(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := identity.NewTokenCache(identity.WithCacheHook(s))
	// (Different scopes: the two accounts' entry keys would be the same string too.)
	token := func(home, env, scope, secret string) []byte {
		return fmt.Appendf(nil, `{"AccessToken":{"%[1]s-%[2]s-accesstoken-cid-utid-%[3]s":{"credential_type":"AccessToken","secret":"%[4]s","home_account_id":"%[1]s","environment":"%[2]s","client_id":"cid","target":"%[3]s","realm":"utid","token_type":"Bearer","cached_at":"1700000000","expires_on":"%[5]d","extended_expires_on":"%[5]d"}}}`,
			home, env, scope, secret, 1900000000+len(secret))
	}
	for _, m := range [][]byte{token("a-b", "c.test", "s1", "first"), token("a", "b-c.test", "s2", "second")} {
		if _, err := c.Merge(ctx, m, []string{"cid"}); err != nil {
			t.Fatal(err)
		}
	}
	before := s.accountSaves
	if _, err := c.Merge(ctx, token("a", "b-c.test", "s2", "second-refreshed"), []string{"cid"}); err != nil {
		t.Fatal(err)
	}
	if s.accountSaves == before {
		t.Fatal("not saved by accounts")
	}
	fresh := identity.NewTokenCache()
	if err := load(ctx, openMem(t, dir, kr), fresh); err != nil {
		t.Fatal(err)
	}
	doc, _ := fresh.Serialize()
	if !bytes.Contains(doc, []byte(`"secret":"first"`)) || !bytes.Contains(doc, []byte(`"secret":"second-refreshed"`)) {
		t.Fatalf("an account sharing the key was lost:\n%s", doc)
	}
}
