package identity

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Benchmarks of the cache layer (names fixed by the issue). Every account has an
// access token, a refresh token, an ID token and an account entry, sized so that
// 10,000 accounts serialize to about 25 MB, the size the MSAL reference
// numbers were measured at.

var benchCaches sync.Map // accounts -> []byte, built once per test binary

func benchUser(i int) user {
	return user{fmt.Sprintf("%08x-0000-0000-0000-%012x", i, i), "72f988bf-86f1-41af-91ab-2d7cd011db47", fmt.Sprintf("user%05d@contoso.com", i)}
}

// benchCache returns a cache of n accounts, built once and then loaded from its
// serialized form.
func benchCache(b *testing.B, n int) *TokenCache {
	b.Helper()
	data, ok := benchCaches.Load(n)
	if !ok {
		c := NewTokenCache()
		info := entraAuthority("organizations")
		pad := strings.Repeat("x", 40)
		for i := range n {
			u := benchUser(i)
			r := userResponse(u, "", "User.Read Mail.Read profile openid", "eyJ0eXAiOiJKV1Qi."+pad+fmt.Sprint(i), "0.AR8A"+pad[:20]+fmt.Sprint(i))
			if _, err := c.store(storeParams{authority: info, clientID: testClientID, response: r}); err != nil {
				b.Fatal(err)
			}
		}
		out, err := c.Serialize()
		if err != nil {
			b.Fatal(err)
		}
		data, _ = benchCaches.LoadOrStore(n, out)
	}
	c := NewTokenCache()
	if err := c.Deserialize(data.([]byte)); err != nil {
		b.Fatal(err)
	}
	return c
}

var benchSizes = []int{1, 100, 1000, 10000}

func BenchmarkAcquireTokenSilent(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			c := benchCache(b, n)
			pc := newTestClient(b, c, entraAuthority("organizations"), nil)
			ctx := context.Background()
			// The accounts as an app gets them.
			accts, err := pc.Accounts(ctx, "")
			if err != nil || accts.Len() != n {
				b.Fatalf("%d accounts, %v", accts.Len(), err)
			}
			scopes := []string{"User.Read"}
			// Warm up: the first hit of an account decodes its ID token once.
			for _, a := range accts.All() {
				if _, err := pc.AcquireTokenSilent(ctx, scopes, a); err != nil {
					b.Fatal(err)
				}
			}
			// What immutability costs a hit, in the output: Result.Scopes is the
			// caller's own copy (the claims are shared read-only, not copied), and
			// TestSilentHitAllocatesOnlyTheScopesCopy holds that it is the hit's only
			// allocation.
			copies := testing.AllocsPerRun(10, func() { _, _ = pc.AcquireTokenSilent(ctx, scopes, accts.At(0)) })
			runtime.GC() // the setup's garbage is not the loop's to collect
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				res, err := pc.AcquireTokenSilent(ctx, scopes, accts.At(i%n))
				if err != nil || res.Source != SourceCache {
					b.Fatalf("not a cache hit: %v", err)
				}
			}
			b.ReportMetric(copies, "scopes-copy-allocs/hit")
		})
	}
}

func BenchmarkAccounts(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			c := benchCache(b, n)
			pc := newTestClient(b, c, entraAuthority("organizations"), nil)
			ctx := context.Background()
			runtime.GC() // the setup's garbage is not the loop's to collect
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				list, err := pc.Accounts(ctx, "")
				if err != nil || list.Len() != n {
					b.Fatalf("got %d accounts, %v", list.Len(), err)
				}
			}
		})
	}
}

// BenchmarkAccountsSlice is Accounts plus the copy a caller who wants a slice of its
// own makes (AccountList.Slice): what Accounts cost when it returned a copy.
func BenchmarkAccountsSlice(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			c := benchCache(b, n)
			pc := newTestClient(b, c, entraAuthority("organizations"), nil)
			ctx := context.Background()
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				list, err := pc.Accounts(ctx, "")
				if err != nil || len(list.Slice()) != n {
					b.Fatalf("got %d accounts, %v", list.Len(), err)
				}
			}
		})
	}
}

func BenchmarkCacheDeserialize(b *testing.B) {
	benchCache(b, 10000)
	v, _ := benchCaches.Load(10000)
	data := v.([]byte)
	b.SetBytes(int64(len(data)))
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := NewTokenCache()
		if err := c.Deserialize(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCacheSerialize(b *testing.B) {
	c := benchCache(b, 10000)
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := c.Serialize()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
}
