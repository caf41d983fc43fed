package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/testenv"
)

// oddCache is a cache whose entries a split files the hard ways: account ids in mixed
// case and beyond ASCII, two accounts sharing a key ("A-B" at "C", "a" at "b-C"), one
// account's entries not neighbours (a copy), entries of no account (null, absent),
// escapes and nested members, an expiry that is not a number, an empty section.
const oddCache = `{"AccessToken":{
 "k1":{"home_account_id":"A-B","environment":"C","credential_type":"AccessToken","secret":"s1","expires_on":"123"},
 "k2":{"home_account_id":null,"environment":"x","secret":"app-only"},
 "k3":{"home_account_id":"a","environment":"b-C","secret":"s3","expires_on":"not a number"},
 "k4":{"home_account_id":"Ünï","environment":"Énv","secret":"s4","x_nested":{"a":[1,{"b":"\""}]},"expires_on":"99"},
 "k5":{"secret":"no home"},
 "k\"6":{"home_account_id":"q\"uote","environment":"e\\nv","secret":"s6"}},
"Account":{"a1":{"home_account_id":"A-B","environment":"c","username":"quo\"te\\ é","realm":"r"},
 "a2":{"home_account_id":"zz","environment":"e","username":null},
 "a3":{"home_account_id":"zz","environment":"e","username":"second@zz"}},
"RefreshToken":{"r1":{"home_account_id":"a","environment":"b-c","secret":"rt"}},
"IdToken":{},
"AppMetadata":{"m":{"client_id":"c","environment":"e"}}}`

// TestSplitLayoutMatchesSplit: the records identity's layout gives (splitLayout) are
// exactly those a split of the same document gives, the split being the oracle.
func TestSplitLayoutMatchesSplit(t *testing.T) {
	for name, doc := range map[string][]byte{
		"odd":      []byte(oddCache),
		"empty":    nil,
		"accounts": msalCache(300, "at-"),
	} {
		t.Run(name, func(t *testing.T) {
			c := identity.NewTokenCache()
			if err := c.Deserialize(doc); err != nil {
				t.Fatal(err)
			}
			ls := newLayoutSplit(nil)
			// A hint far too small: the document is copied as it grows, under the split.
			out, sections, ok := c.SerializeEach(1, ls.entry)
			if !ok {
				t.Fatal("no layout for a cache of known sections")
			}
			if want, _ := c.Serialize(); !bytes.Equal(out, want) {
				t.Fatal("SerializeEach wrote other bytes than Serialize")
			}
			got, gotOrder, _, ok := ls.finish(out, sections)
			if !ok {
				t.Fatal("splitLayout refused identity's layout")
			}
			want, wantOrder, _ := splitOrdered(out, true, nil)
			if !reflect.DeepEqual(got, want) {
				for k := range want {
					if !reflect.DeepEqual(got[k], want[k]) {
						t.Errorf("record %q: layout gives %+v, split %+v", k, got[k], want[k])
					}
				}
				t.Fatalf("layout gives %d records, split %d", len(got), len(want))
			}
			if len(gotOrder) != len(wantOrder) {
				t.Fatalf("layout orders %d fragments, split %d", len(gotOrder), len(wantOrder))
			}
			for i := range gotOrder {
				g, w := gotOrder[i], wantOrder[i]
				if g.r.key != w.r.key || g.i != w.i || g.account != w.account {
					t.Fatalf("fragment %d: layout %s/%d/%v, split %s/%d/%v", i, g.r.key, g.i, g.account, w.r.key, w.i, w.account)
				}
			}
		})
	}
}

// TestSplitLayoutRefusesWhatSplitReadsOtherwise: an entry whose strings a split would
// not read back the same (invalid UTF-8, written as U+FFFD), or that does not fit the
// document, spoils the layout's split, so the save splits the document instead.
func TestSplitLayoutRefusesWhatSplitReadsOtherwise(t *testing.T) {
	doc := []byte(`{"AccessToken":{"k":{"home_account_id":"h","environment":"e"}}}`)
	good := identity.EntryLayout{Section: 0, Start: 16, End: 62, Home: "h", Env: "e"}
	secs := []string{"AccessToken"}
	for name, tc := range map[string]struct {
		e    identity.EntryLayout
		secs []string
	}{
		"invalid utf-8":   {identity.EntryLayout{Section: 0, Start: 16, End: 62, Home: "h\xff", Env: "e"}, secs},
		"past the end":    {identity.EntryLayout{Section: 0, Start: 16, End: 99, Home: "h", Env: "e"}, secs},
		"no section":      {identity.EntryLayout{Section: 1, Start: 16, End: 62, Home: "h", Env: "e"}, secs},
		"escaped section": {good, []string{`Access"Token`}},
	} {
		ls := newLayoutSplit(nil)
		ls.entry(doc, tc.secs, tc.e)
		if _, _, _, ok := ls.finish(doc, tc.secs); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	ls := newLayoutSplit(nil)
	ls.entry(doc, secs, good)
	if recs, _, _, ok := ls.finish(doc, secs); !ok || recs["h-e"] == nil {
		t.Fatalf("a fitting layout refused or misfiled: %v %v", ok, recs)
	}
}

// TestTokenCacheWholeSaveByLayoutLoadsTheSame: a TokenCache saved whole through its
// layout (the first save, a Deserialize of a new cache) loads back, in a new process's
// store, into the same cache, every section included; a cache holding other apps'
// sections is split instead and loads back the same too.
func TestTokenCacheWholeSaveByLayoutLoadsTheSame(t *testing.T) {
	defer func(n int) { wholeMin = n }(wholeMin)
	wholeMin = 256 // the odd cache saved whole too
	foreign, err := os.ReadFile("../identity/testdata/cache/foreign.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, tc := range map[string]struct {
		docs   [][]byte
		layout bool
	}{
		"accounts": {[][]byte{msalCache(200, "fewer-"), msalCache(600, "first-"), msalCache(600, "second-"), msalCache(200, "fewer-")}, true},
		"odd":      {[][]byte{[]byte(oddCache), msalCache(40, "then-")}, true},
		"foreign":  {[][]byte{foreign}, false},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			kr := newMemKeyring()
			s, err := OpenCacheStore(dir, kr)
			if err != nil {
				t.Fatal(err)
			}
			c := identity.NewTokenCache(identity.WithCacheHook(s))
			for i, doc := range tc.docs {
				if err := s.BeforeAccess(ctx, c, true); err != nil {
					t.Fatal(err)
				}
				if err := c.Deserialize(doc); err != nil {
					t.Fatal(err)
				}
				if err := s.AfterAccess(ctx, c, true, true); err != nil {
					t.Fatal(err)
				}
				if tc.layout != (s.layoutSplits == i+1) {
					t.Fatalf("save %d: %d splits by layout, want layout %v", i, s.layoutSplits, tc.layout)
				}
				want, _ := c.Serialize()
				s2, err := OpenCacheStore(dir, kr)
				if err != nil {
					t.Fatal(err)
				}
				c2 := identity.NewTokenCache(identity.WithCacheHook(s2))
				if err := s2.BeforeAccess(ctx, c2, false); err != nil {
					t.Fatal(err)
				}
				if err := s2.AfterAccess(ctx, c2, false, false); err != nil {
					t.Fatal(err)
				}
				if got, _ := c2.Serialize(); !bytes.Equal(got, want) {
					t.Fatalf("save %d: a new store loads %d bytes, want the %d saved", i, len(got), len(want))
				}
				if ns := s2.Notices(); len(ns) > 0 {
					t.Fatalf("save %d: notices %+v", i, ns)
				}
			}
		})
	}
}

// TestKilledTokenCacheWholeSaveLosesNothing kills, with SIGKILL at random moments, a
// process saving a 4 MB TokenCache whole through its layout in a loop, and checks each
// time that the store holds one whole version: every account with all its entries,
// every access token of the same version.
func TestKilledTokenCacheWholeSaveLosesNothing(t *testing.T) {
	testenv.RequireKeyring(t)
	dir := t.TempDir()
	user := testKeyUser(t)
	ctx := context.Background()
	const rounds = 6
	midWrite := 0
	defer func() { t.Logf("%d of %d kills landed inside a write", midWrite, rounds) }()
	for round := range rounds {
		killMidChurn(t, round, "churn-identity", dir, user)
		if killLandedInWrite(t, dir, user) {
			midWrite++
		}

		s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), WithKeyringEntry(KeyringService, user))
		if err != nil {
			t.Fatal(err)
		}
		c := identity.NewTokenCache(identity.WithCacheHook(s))
		if err := s.BeforeAccess(ctx, c, false); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := s.AfterAccess(ctx, c, false, false); err != nil {
			t.Fatal(err)
		}
		if ns := s.Notices(); len(ns) > 0 {
			t.Fatalf("round %d: the killed writer left an unreadable cache: %+v", round, ns)
		}
		doc, _ := c.Serialize()
		var sections map[string]map[string]struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal(doc, &sections); err != nil {
			t.Fatal(err)
		}
		for _, sec := range []string{"AccessToken", "RefreshToken", "IdToken", "Account"} {
			if n := len(sections[sec]); n != 64 {
				t.Fatalf("round %d: %d %s entries, want 64", round, n, sec)
			}
		}
		gen := ""
		for k, e := range sections["AccessToken"] {
			g, _, _ := strings.Cut(e.Secret, ":")
			if gen == "" {
				gen = g
			}
			if g != gen {
				t.Fatalf("round %d: torn cache: %s is from version %s, another from %s", round, k, g, gen)
			}
		}
	}
}
