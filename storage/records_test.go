package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
)

// TestSplitAssembleRoundTrip: splitting a cache into records and assembling them
// again gives the same JSON document, for MSAL caches and for payloads that are not.
func TestSplitAssembleRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"msal", string(msalCache(3, knownToken))},
		{"empty object", `{}`},
		{"empty sections", `{"AccessToken":{},"Account":{}}`},
		{"unknown members", `{"AccessToken":{"k":{"home_account_id":"h","environment":"e","secret":"s\"q\\\\"}},"Version":3,"x":[1,{"a":"}"}]}`},
		{"null home", `{"AccessToken":{"k":{"home_account_id":null,"environment":"e","secret":"app-only"}}}`},
		{"indented", "{\n    \"Account\": {\n        \"k\": {\n            \"home_account_id\": \"H.T\",\n            \"environment\": \"E\"\n        }\n    }\n}\n"},
		{"not an object", `["a"]`},
		{"not json", `not json at all`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := splitCache([]byte(tt.doc))
			var groups [][]part
			for _, r := range recs {
				// Through the record encoding, as the store keeps them.
				parts, err := decodeParts(encodeParts(nil, r.parts))
				if err != nil {
					t.Fatal(err)
				}
				acc, err := decodeParts(encodeParts(nil, r.accounts))
				if err != nil {
					t.Fatal(err)
				}
				groups = append(groups, parts, acc)
			}
			got := assemble(groups...)
			if !json.Valid([]byte(tt.doc)) {
				if string(got) != tt.doc {
					t.Fatalf("opaque payload changed: %q", got)
				}
				return
			}
			var want, have any
			json.Unmarshal([]byte(tt.doc), &want)
			if err := json.Unmarshal(got, &have); err != nil {
				t.Fatalf("assembled %q: %v", got, err)
			}
			if !reflect.DeepEqual(want, have) {
				t.Fatalf("round trip changed the cache:\n got %s\nwant %s", got, tt.doc)
			}
		})
	}
}

// TestSplitGroupsByAccount: entries go to the record of their home account id and
// environment (lower-cased); the index summary comes from the tokens.
func TestSplitGroupsByAccount(t *testing.T) {
	recs := splitCache(msalCache(3, knownToken))
	var keys []string
	for k := range recs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"", "uid0.utid-login.microsoftonline.com", "uid1.utid-login.microsoftonline.com", "uid2.utid-login.microsoftonline.com"}
	if !slices.Equal(keys, want) {
		t.Fatalf("records %q, want %q", keys, want)
	}
	r := recs["uid1.utid-login.microsoftonline.com"]
	if len(expand(r.parts)) != 3 || len(expand(r.accounts)) != 1 || r.nAccounts != 1 || !r.hasRefresh || r.latestExpiry != 1900000000 ||
		!slices.Equal(r.usernames, []string{"user1@contoso.example"}) {
		t.Fatalf("record %+v", r)
	}
	if shared := recs[""]; len(shared.parts) != 1 || !bytes.Contains(shared.parts[0].section, []byte("AppMetadata")) {
		t.Fatalf("shared record %+v", shared)
	}
}

// TestDamagedRecordMovedAside: one account's record fails authentication. Only that
// account is dropped (its sealed bytes kept aside, a notice naming it); every other
// account loads.
func TestDamagedRecordMovedAside(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := newMapCache()
	for _, k := range []string{"alice-1", "bob-1", "carol-1"} {
		if err := put(ctx, s, c, k, "token-of-"+k); err != nil {
			t.Fatal(err)
		}
	}
	e, _ := s.idx.entry("bob-login.test")
	bl := s.idx.blocks[e.pieces[0].block] // bob's own: each put wrote one block of what changed
	data := filepath.Join(dir, s.idx.dataName)
	raw, _ := os.ReadFile(data)
	raw[bl.offset+3] ^= 0x40
	os.WriteFile(data, raw, 0o600)

	s2 := openMem(t, dir, kr)
	c2 := newMapCache()
	if err := load(ctx, s2, c2); err != nil {
		t.Fatal(err)
	}
	if got := c2.keys(); !slices.Equal(got, []string{"alice-1", "carol-1"}) {
		t.Fatalf("loaded %q, want alice's and carol's entries", got)
	}
	ns := s2.Notices()
	if len(ns) != 1 || ns[0].Kind != NoticeCacheCorrupt || !strings.Contains(ns[0].Message, "bob-login.test") {
		t.Fatalf("notices %+v, want one naming bob's account", ns)
	}
	if aside, err := os.ReadFile(ns[0].Path); err != nil || !bytes.Contains(aside, raw[bl.offset:bl.offset+bl.length]) {
		t.Fatalf("damaged record not kept at %s: %v", ns[0].Path, err)
	}
	// The store goes on: bob signs in again; nobody else lost anything.
	if err := put(ctx, s2, c2, "bob-2", "fresh"); err != nil {
		t.Fatal(err)
	}
	c3 := newMapCache()
	if err := load(ctx, openMem(t, dir, kr), c3); err != nil || len(c3.keys()) != 3 {
		t.Fatalf("after recovery: %v %q", err, c3.keys())
	}
}

// TestUndecodableRecordMovedAside: a record decrypts but the cache cannot parse it.
func TestUndecodableRecordMovedAside(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := newMapCache()
	for _, k := range []string{"alice-1", "bob-1"} {
		if err := put(ctx, s, c, k, "v"); err != nil {
			t.Fatal(err)
		}
	}
	// Reseal bob's record with entries mapCache cannot read.
	x := s.idx
	bad := []part{{section: []byte(`"AccessToken"`), frag: true, value: []byte(`"bob-1":{"home_account_id":"bob","environment":"login.test","secret":7}`)}}
	if err := s.before(ctx, c, true, fullScope); err != nil {
		t.Fatal(err)
	}
	var keep []indexEntry
	for _, e := range x.entries {
		if e.key != "bob-login.test" {
			keep = append(keep, e)
		}
	}
	if _, err := s.commit(x, keep, map[string]*record{"bob-login.test": {key: "bob-login.test", home: "bob", env: "login.test", parts: bad}}); err != nil {
		t.Fatal(err)
	}
	s.lock.Unlock()
	<-s.sem
	s.held = nil

	s2 := openMem(t, dir, kr)
	c2 := newMapCache()
	if err := load(ctx, s2, c2); err != nil {
		t.Fatal(err)
	}
	if got := c2.keys(); !slices.Equal(got, []string{"alice-1"}) {
		t.Fatalf("loaded %q", got)
	}
	if ns := s2.Notices(); len(ns) != 1 || ns[0].Kind != NoticeCacheCorrupt {
		t.Fatalf("notices %+v", ns)
	}
}

// TestWriteRewritesOnlyChangedRecords: one account's change appends one record to
// the data file, however many accounts there are.
func TestWriteRewritesOnlyChangedRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := newMapCache()
	for i := range 50 {
		c.set(fmt.Sprintf("acct%02d-1", i), strings.Repeat("t", 2000))
	}
	if err := bracket(ctx, s, c, true, true); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, s.idx.dataName)
	before, _ := os.Stat(data)
	if err := put(ctx, s, c, "acct07-1", strings.Repeat("u", 2000)); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(data)
	if grew := after.Size() - before.Size(); grew <= 2000 || grew > 2200 {
		t.Fatalf("data file grew by %d bytes for one changed account of 2 KB", grew)
	}
	// Unchanged: nothing appended at all.
	if err := bracket(ctx, s, c, true, true); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(data); again.Size() != after.Size() {
		t.Fatalf("an unchanged cache appended %d bytes", again.Size()-after.Size())
	}
}

// TestCompactionKeepsEveryRecord: rewriting one account over and over makes the
// store copy its live records into a new data file now and then; nothing is lost, and
// the old data file goes.
func TestCompactionKeepsEveryRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := newMapCache()
	for i := range 20 {
		c.set(fmt.Sprintf("a%02d-1", i), "small")
	}
	big := strings.Repeat("x", 256<<10)
	names := map[string]bool{}
	for i := range 20 {
		if err := put(ctx, s, c, "a00-1", fmt.Sprintf("%d%s", i, big)); err != nil {
			t.Fatal(err)
		}
		names[s.idx.dataName] = true
	}
	if len(names) < 2 {
		t.Fatal("the data file was never compacted")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cache.d-*"))
	if len(files) != 1 {
		t.Fatalf("data files %q, want only the current one", files)
	}
	c2 := newMapCache()
	if err := load(ctx, openMem(t, dir, kr), c2); err != nil || len(c2.keys()) != 20 || !strings.HasPrefix(c2.get("a00-1"), "19") {
		t.Fatalf("after compactions: %v, %d entries", err, len(c2.keys()))
	}
}

// TestNarrowedCacheWritesOnlyItsAccounts: a cache holding one account (AccountsHook)
// saves that account's change and leaves every other account's record as it was;
// entries of another account it comes to hold are merged into that account's record.
func TestNarrowedCacheWritesOnlyItsAccounts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	full := openMem(t, dir, kr)
	fc := newMapCache()
	for _, k := range []string{"alice-1", "alice-2", "bob-1", "carol-1"} {
		fc.set(k, "v-"+k)
	}
	if err := bracket(ctx, full, fc, true, true); err != nil {
		t.Fatal(err)
	}

	s := openMem(t, dir, kr)
	sc := s.AccountsHook("alice").(*scopedHook).sc
	c := newMapCache()
	if err := s.before(ctx, c, true, sc); err != nil {
		t.Fatal(err)
	}
	if got := c.keys(); !slices.Equal(got, []string{"alice-1", "alice-2"}) {
		s.after(ctx, c, false)
		t.Fatalf("narrowed cache holds %q", got)
	}
	c.set("alice-1", "refreshed")
	delete(c.m, "alice-2")
	c.set("bob-9", "from a narrowed cache")
	if err := s.after(ctx, c, true); err != nil {
		t.Fatal(err)
	}

	all := newMapCache()
	if err := load(ctx, openMem(t, dir, kr), all); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"alice-1": "refreshed", "bob-1": "v-bob-1", "bob-9": "from a narrowed cache", "carol-1": "v-carol-1"}
	if !reflect.DeepEqual(all.m, want) {
		t.Fatalf("store holds %v, want %v", all.m, want)
	}
	// The account listing is read-only.
	view := s.AccountsView().(*scopedHook).sc
	if err := s.before(ctx, newMapCache(), true, view); err == nil {
		t.Fatal("a write through the account listing was allowed")
	}
}

// TestSummariesFromIndex: the index alone says which accounts exist, their usernames
// and token states.
func TestSummariesFromIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := saveTokenCache(t, s, msalCache(4, knownToken))
	sums, err := openMem(t, dir, kr).Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(sums, func(a, b AccountSummary) int { return strings.Compare(a.Key, b.Key) })
	if len(sums) != 4 {
		t.Fatalf("%d summaries", len(sums))
	}
	s0 := sums[0]
	if s0.Key != "uid0.utid-login.microsoftonline.com" || s0.HomeAccountID != "uid0.utid" ||
		!slices.Equal(s0.Usernames, []string{"user0@contoso.example"}) || s0.Accounts != 1 ||
		!s0.HasRefreshToken || s0.LatestExpiry.Unix() != 1900000000 {
		t.Fatalf("summary %+v", s0)
	}
	// And it is the token states identity computes from the whole cache.
	states, _, err := c.TokenStates(ctx)
	if err != nil || len(states) != 4 {
		t.Fatalf("TokenStates: %v %d", err, len(states))
	}
	for _, st := range states {
		i := slices.IndexFunc(sums, func(a AccountSummary) bool { return a.HomeAccountID == st.HomeAccountID })
		if i < 0 || !sums[i].LatestExpiry.Equal(st.LatestExpiry) || sums[i].HasRefreshToken != st.HasRefreshToken {
			t.Fatalf("summary %+v disagrees with %+v", sums[i], st)
		}
	}
}

// TestRecordHashSurvivesTheRecordEncoding: the checksum a save computes of a record's
// parts equals the one of the same parts decoded from the record, or every save
// would rewrite every record; and a changed entry changes it.
func TestRecordHashSurvivesTheRecordEncoding(t *testing.T) {
	for k, r := range splitCache(msalCache(3, knownToken)) {
		parts, _ := decodeParts(encodeParts(nil, r.parts))
		acc, _ := decodeParts(encodeParts(nil, r.accounts))
		if recordHash(r.parts, r.accounts) != recordHash(parts, acc) {
			t.Fatalf("record %q: checksums differ", k)
		}
		if len(parts) > 0 {
			parts[0].value = append([]byte(nil), parts[0].value...)
			parts[0].value[len(parts[0].value)/2] ^= 1
			if recordHash(r.parts, r.accounts) == recordHash(parts, acc) {
				t.Fatalf("record %q: a changed entry kept the checksum", k)
			}
		}
		// A part moved between the tokens and the Account entries counts as a change.
		if len(r.parts) > 0 && recordHash(r.parts, r.accounts) == recordHash(r.parts[1:], append([]part{r.parts[0]}, r.accounts...)) {
			t.Fatalf("record %q: moving a part kept the checksum", k)
		}
	}
}

// TestFlatEntryFieldsAgree: the fast reading of flat entries finds what the full
// member scan finds, including when a value repeats a member's name.
func TestFlatEntryFieldsAgree(t *testing.T) {
	entries := []string{
		`{"home_account_id":"H.T","environment":"E","secret":"x","expires_on":"17"}`,
		`{"secret":"home_account_id","home_account_id" : "h","environment":"login.test"}`,
		`{"target":"\"home_account_id\":\"evil\"","home_account_id":"h","environment":"e"}`,
		`{"home_account_id":null,"environment":"e"}`,
		`{"environment":"e","username":"u@x","home_account_id":"h"}`,
		`{"home_account_id":"h","environment":"e","x":{"home_account_id":"nested"}}`,
	}
	for _, sec := range [][]byte{secAccount, secAccessToken, []byte(`"IdToken"`)} {
		for _, e := range entries {
			h1, e1, x1 := scanEntryFields(sec, []byte(e))
			v := []byte(e)
			var h2, e2, x2 string
			if flatEntry(v) {
				h2, e2, x2 = flatEntryFields(sec, v)
				if h2 != h1 || e2 != e1 || x2 != x1 {
					t.Fatalf("%s %s: member scan %q %q %q, flat %q %q %q", sec, e, h1, e1, x1, h2, e2, x2)
				}
			}
			if want := strings.Contains(e, `"home_account_id":"h`) || strings.Contains(e, `"home_account_id" : "h`) || strings.Contains(e, `"home_account_id":"H`); (h1 != "") != want {
				t.Fatalf("%s: home %q", e, h1)
			}
		}
	}
}

// TestNarrowedReadsWithoutKeyring: the CLI's ways in (Summaries, AccountsView,
// AccountsHook) fail as a full load does when the keyring hangs or is missing, with
// the keyring's own error, and leave the store as it was.
func TestNarrowedReadsWithoutKeyring(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := newMemKeyring()
	s := openMem(t, dir, good)
	if err := put(ctx, s, newMapCache(), "alice-1", "v"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, IndexFileName))

	block := make(chan struct{})
	defer close(block)
	missing := newMemKeyring()
	missing.err = ErrKeyringUnavailable
	for name, tc := range map[string]struct {
		kr   Keyring
		want error
	}{
		"hung":    {TimeoutKeyring(&blockingKeyring{block: block}, 100*time.Millisecond), ErrKeyringTimeout},
		"missing": {missing, ErrKeyringUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			st := openMem(t, dir, tc.kr)
			if _, err := st.Summaries(ctx); !errors.Is(err, tc.want) {
				t.Errorf("Summaries: %v, want %v", err, tc.want)
			}
			for hname, h := range map[string]identity.CacheHook{"view": st.AccountsView(), "account": st.AccountsHook("alice")} {
				if err := h.BeforeAccess(ctx, identity.NewTokenCache(), false); !errors.Is(err, tc.want) {
					t.Errorf("%s: %v, want %v", hname, err, tc.want)
				}
			}
			if ns := st.Notices(); len(ns) != 0 {
				t.Errorf("notices %+v", ns)
			}
		})
	}
	if after, _ := os.ReadFile(filepath.Join(dir, IndexFileName)); !bytes.Equal(before, after) {
		t.Fatal("the index changed")
	}
}
