package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
)

// TestWholeSaveKeepsEveryEntry: a save that writes a new data file straight from the
// serialized cache (commitWhole) keeps every entry, whatever the document looks like:
// identity's own serialization, entries of one account that are not neighbours (their
// fragment is a copy, not a run of the document), indentation, members that are not
// sections, a payload that is not JSON. A fresh process loads the same document, a
// narrowed load finds the account's entries, and saving the same document again
// writes nothing.
func TestWholeSaveKeepsEveryEntry(t *testing.T) {
	defer func(min int) { wholeMin = min }(wholeMin)
	wholeMin = 0
	tc := identity.NewTokenCache()
	if err := tc.Deserialize(msalCache(300, knownToken)); err != nil {
		t.Fatal(err)
	}
	serialized, err := tc.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc, home string
		entries         int // of home, in a narrowed load
	}{
		{"identity", string(serialized), "uid7.utid", 4},
		{"not neighbours", `{"AccessToken":{"a1":{"home_account_id":"A","environment":"e","secret":"1"},` +
			`"b1":{"home_account_id":"B","environment":"e","secret":"2"},"a2":{"home_account_id":"A","environment":"e","secret":"3"}},` +
			`"AppMetadata":{"m":{"client_id":"c"}},"Account":{},"Version":3}`, "a", 2},
		{"indented", "{\n  \"AccessToken\": {\n    \"k\": {\"home_account_id\": \"H\", \"environment\": \"E\"},\n" +
			"    \"l\": {\"home_account_id\": \"H\", \"environment\": \"E\"}\n  },\n  \"x\": [1, {\"a\": \"}\"}]\n}\n", "h", 2},
		{"not json", `not json at all`, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			kr := newMemKeyring()
			s := openMem(t, dir, kr)
			if err := bracket(ctx, s, &rawCache{data: []byte(tt.doc)}, true, true); err != nil {
				t.Fatal(err)
			}
			gen := s.idx.generation
			got := &rawCache{}
			if err := load(ctx, openMem(t, dir, kr), got); err != nil {
				t.Fatal(err)
			}
			if !json.Valid([]byte(tt.doc)) {
				if string(got.data) != tt.doc {
					t.Fatalf("opaque payload changed: %q", got.data)
				}
			} else {
				var want, have any
				json.Unmarshal([]byte(tt.doc), &want)
				if err := json.Unmarshal(got.data, &have); err != nil {
					t.Fatalf("loaded %q: %v", got.data, err)
				}
				if !reflect.DeepEqual(want, have) {
					t.Fatalf("the whole save changed the cache:\n got %s\nwant %s", got.data, tt.doc)
				}
			}
			if tt.home != "" {
				ns := openMem(t, dir, kr)
				one := &rawCache{}
				if err := ns.before(ctx, one, false, ns.AccountsHook(tt.home).(*scopedHook).sc); err != nil {
					t.Fatal(err)
				}
				ns.after(ctx, one, false)
				if n := bytes.Count(one.data, []byte(`"home_account_id"`)); n != tt.entries {
					t.Fatalf("narrowed load of %s holds %d entries, want %d: %.300s", tt.home, n, tt.entries, one.data)
				}
			}
			if err := bracket(ctx, s, &rawCache{data: []byte(tt.doc)}, true, true); err != nil {
				t.Fatal(err)
			}
			if s.idx.generation != gen {
				t.Fatalf("saving the same cache again wrote generation %d", s.idx.generation)
			}
			if files := dataFiles(t, dir); len(files) != 1 {
				t.Fatalf("data files %q, want one", files)
			}
		})
	}
}

func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "cache.d-*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestTokenCacheMostAccountsChangedSavedWhole: when identity says most accounts
// changed (every token refreshed), the window's save leaves saving by accounts for
// the whole save, which writes a new data file beside its split; a fresh process
// loads exactly the cache, and the next save of one account goes by accounts again.
func TestTokenCacheMostAccountsChangedSavedWhole(t *testing.T) {
	defer func(min int) { wholeMin = min }(wholeMin)
	wholeMin = 0
	ctx := context.Background()
	dir := t.TempDir()
	kr := newMemKeyring()
	s := openMem(t, dir, kr)
	c := saveTokenCache(t, s, msalCache(4, knownToken))
	same := func(name string) {
		t.Helper()
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
	same("first save")
	all := cacheDoc{}
	for i := range 3 {
		var m cacheDoc
		json.Unmarshal(mergeToken(fmt.Sprintf("uid%d.utid", i), fmt.Sprintf("refreshed-%d", i), 1900000001), &m)
		for sec, entries := range m {
			if all[sec] == nil {
				all[sec] = map[string]map[string]any{}
			}
			for k, v := range entries {
				all[sec][k] = v
			}
		}
	}
	doc, _ := json.Marshal(all)
	before, data := s.accountSaves, s.idx.dataName
	if _, err := c.Merge(ctx, doc, []string{"cid"}); err != nil {
		t.Fatal(err)
	}
	if s.accountSaves != before || s.idx.dataName == data || !s.lastWhole {
		t.Fatalf("three of four accounts changed: saved by accounts %v, new data file %v, whole %v",
			s.accountSaves != before, s.idx.dataName != data, s.lastWhole)
	}
	same("three accounts refreshed")
	if _, err := c.Merge(ctx, mergeToken("uid3.utid", "refreshed-3", 1900000002), []string{"cid"}); err != nil {
		t.Fatal(err)
	}
	if s.accountSaves == before {
		t.Fatal("one account changed after a whole save: not saved by accounts")
	}
	same("one account refreshed")
	if files := dataFiles(t, dir); len(files) != 1 {
		t.Fatalf("data files %q, want one", files)
	}
}
