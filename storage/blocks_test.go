package storage

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
)

// TestStoreMatchesModelUnderRandomWrites is the store against a plain map: random
// whole-cache writes (new accounts, changed and deleted entries), writes through
// narrowed caches (one account's hook, with entries of another account showing up
// in it), enough of them to compact the data file several times. Values of mixed
// sizes make blocks that hold one entry and blocks that hold dozens, so loads take
// both the in-place path and the piece-by-piece one. After every write a fresh
// process's whole load, a narrowed load and the summaries agree with the model.
// "whole" runs it again with every save that changed most records writing a new data
// file from the serialized cache (commitWhole), whatever its size, and now and then
// every entry rewritten.
func TestStoreMatchesModelUnderRandomWrites(t *testing.T) {
	t.Run("packed", func(t *testing.T) { testStoreMatchesModel(t, false) })
	t.Run("whole", func(t *testing.T) {
		defer func(min int) { wholeMin = min }(wholeMin)
		wholeMin = 0
		testStoreMatchesModel(t, true)
	})
}

func testStoreMatchesModel(t *testing.T, whole bool) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	rng := rand.New(rand.NewPCG(1, 18))
	model := map[string]string{}
	value := func(i int) string {
		n := 40
		if rng.IntN(3) == 0 {
			n = 20 << 10
		}
		return fmt.Sprintf("%d-%s", i, strings.Repeat(string(rune('a'+rng.IntN(26))), n))
	}
	key := func() string { return fmt.Sprintf("acct%02d-%d", rng.IntN(40), rng.IntN(3)) }
	s := openMem(t, dir, kr)
	c := newMapCache()
	dataNames := map[string]bool{}
	for i := range 160 {
		switch op := rng.IntN(10); {
		case op < 6: // the window: change a few entries, maybe delete one
			if err := s.before(ctx, c, true, fullScope); err != nil {
				t.Fatal(err)
			}
			for range 1 + rng.IntN(3) {
				k := key()
				c.set(k, value(i))
				model[k] = c.get(k)
			}
			if rng.IntN(4) == 0 {
				for _, k := range c.keys() {
					delete(c.m, k)
					delete(model, k)
					break
				}
			}
			if whole && rng.IntN(6) == 0 { // an import, or every token refreshed
				for _, k := range c.keys() {
					c.set(k, value(i))
					model[k] = c.get(k)
				}
			}
			if err := s.after(ctx, c, true); err != nil {
				t.Fatal(err)
			}
		default: // the CLI: one account's hook
			home := fmt.Sprintf("acct%02d", rng.IntN(40))
			ns := openMem(t, dir, kr)
			sc := ns.AccountsHook(home).(*scopedHook).sc
			nc := newMapCache()
			if err := ns.before(ctx, nc, true, sc); err != nil {
				t.Fatal(err)
			}
			for _, k := range nc.keys() {
				if mapHome(k) != home {
					ns.after(ctx, nc, false)
					t.Fatalf("write %d: %s's narrowed cache holds %s", i, home, k)
				}
			}
			k := home + "-9"
			nc.set(k, value(i))
			model[k] = nc.get(k)
			if rng.IntN(3) == 0 { // a refresh answered for another account
				other := fmt.Sprintf("acct%02d-7", rng.IntN(40))
				nc.set(other, value(i))
				model[other] = nc.get(other)
			}
			if err := ns.after(ctx, nc, true); err != nil {
				t.Fatal(err)
			}
		}
		dataNames[s.idx.dataName] = true

		fresh := openMem(t, dir, kr)
		all := newMapCache()
		if err := load(ctx, fresh, all); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(all.m, model) {
			t.Fatalf("write %d: the store holds %d entries, the model %d", i, len(all.m), len(model))
		}
		if ns := fresh.Notices(); len(ns) > 0 {
			t.Fatalf("write %d: notices %+v", i, ns)
		}
		home := fmt.Sprintf("acct%02d", rng.IntN(40))
		one := newMapCache()
		if err := fresh.before(ctx, one, false, fresh.AccountsHook(home).(*scopedHook).sc); err != nil {
			t.Fatal(err)
		}
		fresh.after(ctx, one, false)
		for k, v := range model {
			if mapHome(k) == home && one.get(k) != v {
				t.Fatalf("write %d: narrowed load of %s lacks %s", i, home, k)
			}
		}
		if len(one.m) != len(slices.DeleteFunc(slices.Collect(func(yield func(string) bool) {
			for k := range model {
				if !yield(k) {
					return
				}
			}
		}), func(k string) bool { return mapHome(k) != home })) {
			t.Fatalf("write %d: narrowed load of %s holds %q", i, home, one.keys())
		}
		sums, err := fresh.Summaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		homes := map[string]bool{}
		for k := range model {
			homes[mapHome(k)] = true
		}
		if len(sums) != len(homes) {
			t.Fatalf("write %d: %d summaries, %d accounts", i, len(sums), len(homes))
		}
	}
	if len(dataNames) < 3 {
		t.Fatalf("the data file was compacted %d times, want several", len(dataNames)-1)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "cache.d-*")); len(files) != 1 {
		t.Fatalf("data files %q, want only the current one", files)
	}
}

// TestSplitChecksumsAgree: the checksums a split takes entry by entry equal the ones
// computed from the finished parts, for documents whose accounts' entries lie apart,
// with sections that are not entries, and in any layout; or a save would rewrite
// records that did not change, or worse keep ones that did.
func TestSplitChecksumsAgree(t *testing.T) {
	docs := []string{
		string(msalCache(5, knownToken)),
		// uid1's two access tokens are not neighbours: its fragment is copied.
		`{"AccessToken":{"a":{"home_account_id":"uid1","environment":"e","secret":"1"},"b":{"home_account_id":"uid2","environment":"e","secret":"2"},"c":{"home_account_id":"UID1","environment":"E","secret":"3"}},"Version":3,"Empty":{},"AppMetadata":{"m":{"client_id":"x"}}}`,
		"{\n  \"AccessToken\" : {\n    \"a\" : {\"home_account_id\":\"h\",\"environment\":\"e\",\"secret\":\"}\"} ,\n    \"b\": {\"x\":{\"home_account_id\":\"n\"},\"home_account_id\":\"h\",\"environment\":\"e\"}\n  }\n}\n",
		`{"AccessToken":{"a":{"home_account_id":"h","environment":"e"}},"AccessToken":{"b":{"home_account_id":"h","environment":"e"}}}`,
		`not json`,
	}
	for _, doc := range docs {
		for k, r := range splitCache([]byte(doc)) {
			if want := recordHash(r.parts, r.accounts); r.hash != want {
				t.Fatalf("%.40q record %q: split's checksum %x, parts' %x", doc, k, r.hash, want)
			}
		}
	}
	// And the split of an account's entries lying apart still round-trips.
	recs := splitCache([]byte(docs[1]))
	if r := recs["uid1-e"]; r == nil || len(r.parts) != 1 || len(expand(r.parts)) != 2 {
		t.Fatalf("uid1's record %+v", r)
	}
}

// TestDamagedBlockCostsOnlyItsPieces: a block of access tokens shared by many accounts
// fails authentication. Those accounts lose their access tokens only (their refresh
// tokens, in other blocks, stay, so no sign-in is needed), the notice names them, and
// the index stops claiming the lost tokens.
func TestDamagedBlockCostsOnlyItsPieces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	saveTokenCache(t, s, msalCache(30, knownToken))
	x := s.idx
	at := slices.Index(x.sections, string(secAccessToken))
	damaged := -1
	for b, bl := range x.blocks {
		if bl.section == at {
			damaged = b
			break
		}
	}
	bl := x.blocks[damaged]
	data := filepath.Join(dir, x.dataName)
	raw, _ := os.ReadFile(data)
	raw[bl.offset+bl.length/2] ^= 0x20
	os.WriteFile(data, raw, 0o600)

	s2 := openMem(t, dir, kr)
	c2 := identity.NewTokenCache(identity.WithCacheHook(s2))
	if err := load(ctx, s2, c2); err != nil {
		t.Fatal(err)
	}
	doc, _ := c2.Serialize()
	if bytes.Contains(doc, []byte(`"AccessToken":{"`)) {
		t.Fatalf("access tokens survived their damaged block:\n%.300s", doc)
	}
	if n := bytes.Count(doc, []byte(`"credential_type":"RefreshToken"`)); n != 30 {
		t.Fatalf("%d refresh tokens, want all 30", n)
	}
	ns := s2.Notices()
	if len(ns) != 1 || !strings.Contains(ns[0].Message, "user7@contoso.example") {
		t.Fatalf("notices %+v", ns)
	}
	sums, err := s2.Summaries(ctx)
	if err != nil || len(sums) != 30 {
		t.Fatalf("summaries: %d, %v", len(sums), err)
	}
	for _, sum := range sums {
		if !sum.LatestExpiry.IsZero() || !sum.HasRefreshToken {
			t.Fatalf("summary %+v still claims the lost access token, or lost the refresh token", sum)
		}
	}
}

// TestTruncatedDataFile: a data file cut short (a disk that lost its tail) is read
// through the mapping without a crash; the blocks past its end count as damaged, and
// what lies before the cut loads.
func TestTruncatedDataFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	saveTokenCache(t, s, msalCache(600, knownToken))
	data := filepath.Join(dir, s.idx.dataName)
	fi, _ := os.Stat(data)
	if err := os.Truncate(data, fi.Size()*3/4); err != nil {
		t.Fatal(err)
	}
	s2 := openMem(t, dir, kr)
	c2 := identity.NewTokenCache(identity.WithCacheHook(s2))
	if err := load(ctx, s2, c2); err != nil {
		t.Fatal(err)
	}
	if ns := s2.Notices(); len(ns) != 1 || ns[0].Kind != NoticeCacheCorrupt {
		t.Fatalf("notices %+v, want one", ns)
	}
	doc, _ := c2.Serialize()
	kept := bytes.Count(doc, []byte(`"credential_type":`))
	if kept == 0 || kept >= 3*600 {
		t.Fatalf("%d of %d tokens after the cut: want those before it, and only those", kept, 3*600)
	}
}
