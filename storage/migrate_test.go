package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
)

// TestMigrateFormat1: a cache written by the format-1 store (testdata/v1) is converted
// on first use, with nothing lost and no sign-in, and the old file kept aside.
func TestMigrateFormat1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old, err := os.ReadFile("testdata/v1/cache.bin")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, CacheFileName), old, 0o600)
	key, _ := os.ReadFile("testdata/v1/key.txt")
	kr := newMemKeyring()
	kr.Set(KeyringService, CacheKeyUser, strings.TrimSpace(string(key)))
	want, _ := os.ReadFile("testdata/v1/cache.json")

	// The first use is a lookup (lock-free), as `tokendesk token` would be.
	s := openMem(t, dir, kr)
	c := identity.NewTokenCache(identity.WithCacheHook(s))
	if err := load(ctx, s, c); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Serialize()
	if !bytes.Equal(got, want) {
		t.Fatalf("migrated cache differs from what format 1 held:\n%s", got)
	}
	if ns := s.Notices(); len(ns) != 0 {
		t.Fatalf("notices %+v", ns)
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFileName)); err != nil {
		t.Fatalf("no index after migration: %v", err)
	}
	if kept, _ := os.ReadFile(filepath.Join(dir, CacheFileName+".migrated")); !bytes.Equal(kept, old) {
		t.Fatal("the format-1 file was not kept as cache.bin.migrated")
	}
	if _, err := os.Stat(filepath.Join(dir, CacheFileName)); !os.IsNotExist(err) {
		t.Fatal("cache.bin still in place: it would be migrated again")
	}
	// Another process reads the new format, one account at a time too.
	s2 := openMem(t, dir, kr)
	hook := s2.AccountsHook("UID1.utid")
	c2 := identity.NewTokenCache(identity.WithCacheHook(hook))
	if err := hook.BeforeAccess(ctx, c2, false); err != nil {
		t.Fatal(err)
	}
	if err := hook.AfterAccess(ctx, c2, false, false); err != nil {
		t.Fatal(err)
	}
	one, _ := c2.Serialize()
	if !bytes.Contains(one, []byte("uid1.utid")) || bytes.Contains(one, []byte("uid0.utid")) || bytes.Contains(one, []byte("uid2.utid")) {
		t.Fatalf("narrowed cache holds other accounts:\n%s", one)
	}
	sums, err := s2.Summaries(ctx)
	if err != nil || len(sums) != 3 {
		t.Fatalf("summaries %+v, %v", sums, err)
	}
}

// TestMigrateFormat2: a cache written by the store of format 2 (testdata/v2: one
// sealed record per account) is converted on first use, a lookup as the CLI's first
// command would be, with nothing lost and no sign-in; the old data file goes once the
// new index is in place, and other processes then read format 3, one account at a
// time too.
func TestMigrateFormat2(t *testing.T) {
	ctx := context.Background()
	for _, first := range []string{"full", "narrowed", "summaries"} {
		t.Run(first, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{IndexFileName, "cache.d-e7f8bea1b3a8ffa7"} {
				b, err := os.ReadFile(filepath.Join("testdata/v2", name))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(dir, name), b, 0o600)
			}
			key, _ := os.ReadFile("testdata/v2/key.txt")
			kr := newMemKeyring()
			kr.Set(KeyringService, CacheKeyUser, strings.TrimSpace(string(key)))
			want, _ := os.ReadFile("testdata/v2/cache.json")

			s := openMem(t, dir, kr)
			switch first {
			case "narrowed":
				hook := s.AccountsHook("uid2.utid")
				c := identity.NewTokenCache(identity.WithCacheHook(hook))
				if err := hook.BeforeAccess(ctx, c, false); err != nil {
					t.Fatal(err)
				}
				hook.AfterAccess(ctx, c, false, false)
				if one, _ := c.Serialize(); !bytes.Contains(one, []byte("uid2.utid")) || bytes.Contains(one, []byte("uid1.utid")) {
					t.Fatalf("narrowed cache after migration:\n%s", one)
				}
			case "summaries":
				if sums, err := s.Summaries(ctx); err != nil || len(sums) != 3 {
					t.Fatalf("summaries %+v, %v", sums, err)
				}
			}
			c := identity.NewTokenCache(identity.WithCacheHook(s))
			if err := load(ctx, s, c); err != nil {
				t.Fatal(err)
			}
			if got, _ := c.Serialize(); !bytes.Equal(got, want) {
				t.Fatalf("migrated cache differs from what format 2 held:\n%s", got)
			}
			if ns := s.Notices(); len(ns) != 0 {
				t.Fatalf("notices %+v", ns)
			}
			raw, _ := os.ReadFile(filepath.Join(dir, IndexFileName))
			if h, err := parseHeader(raw); err != nil || h.version != indexVersion {
				t.Fatalf("index header %+v, %v: not converted", h, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "cache.d-e7f8bea1b3a8ffa7")); !os.IsNotExist(err) {
				t.Fatal("the format-2 data file is still there")
			}
			s2 := openMem(t, dir, kr)
			hook := s2.AccountsHook("UID1.utid")
			c2 := identity.NewTokenCache(identity.WithCacheHook(hook))
			if err := hook.BeforeAccess(ctx, c2, false); err != nil {
				t.Fatal(err)
			}
			hook.AfterAccess(ctx, c2, false, false)
			one, _ := c2.Serialize()
			if !bytes.Contains(one, []byte("uid1.utid")) || bytes.Contains(one, []byte("uid0.utid")) || bytes.Contains(one, []byte("uid2.utid")) {
				t.Fatalf("narrowed cache holds other accounts:\n%s", one)
			}
		})
	}
}

// TestMigrateFormat2DamagedRecord: a format-2 record that fails authentication is set
// aside with a notice naming its account; the others are converted.
func TestMigrateFormat2DamagedRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	idx, _ := os.ReadFile("testdata/v2/cache.idx")
	data, _ := os.ReadFile("testdata/v2/cache.d-e7f8bea1b3a8ffa7")
	data[len(data)-3] ^= 1 // the last record's tag
	os.WriteFile(filepath.Join(dir, IndexFileName), idx, 0o600)
	os.WriteFile(filepath.Join(dir, "cache.d-e7f8bea1b3a8ffa7"), data, 0o600)
	key, _ := os.ReadFile("testdata/v2/key.txt")
	kr := newMemKeyring()
	kr.Set(KeyringService, CacheKeyUser, strings.TrimSpace(string(key)))
	s := openMem(t, dir, kr)
	c := identity.NewTokenCache(identity.WithCacheHook(s))
	if err := load(ctx, s, c); err != nil {
		t.Fatal(err)
	}
	ns := s.Notices()
	if len(ns) != 1 || ns[0].Kind != NoticeCacheCorrupt {
		t.Fatalf("notices %+v, want one", ns)
	}
	if _, err := os.Stat(ns[0].Path); err != nil {
		t.Fatalf("nothing set aside: %v", err)
	}
	// The records lie in key order: the damaged one is uid2's.
	if !strings.Contains(ns[0].Message, "uid2.utid") {
		t.Fatalf("notice %q does not name uid2's account", ns[0].Message)
	}
	got, _ := c.Serialize()
	if !bytes.Contains(got, []byte(`"uid0.utid-login`)) || !bytes.Contains(got, []byte(`"uid1.utid-login`)) || bytes.Contains(got, []byte(`"uid2.utid-login`)) {
		t.Fatalf("after migrating around uid2's damaged record:\n%s", got)
	}
}
