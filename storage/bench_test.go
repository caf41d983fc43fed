package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// rawCache is a cacheData that only holds bytes, so the benchmarks measure the store
// (file I/O, AES-GCM, locking), not the cache layer's JSON.
type rawCache struct{ data []byte }

func (c *rawCache) Serialize() ([]byte, error)    { return c.data, nil }
func (c *rawCache) Deserialize(data []byte) error { c.data = data; return nil }

// syntheticCache returns a cache-shaped payload of accounts accounts, each with an
// account, ID token, access token and refresh token entry of realistic size: 10,000
// accounts come to about 25 MB, as issue 4's cache does.
func syntheticCache(accounts int) []byte {
	var b strings.Builder
	b.Grow(accounts * 2600)
	jwt := strings.Repeat("eyJhbGciOiJSUzI1NiJ9", 60) // ~1.2 KB access token
	rt := strings.Repeat("0.AAAA", 120)               // ~0.7 KB refresh token
	idt := strings.Repeat("eyJ0eXAi", 60)
	b.WriteString(`{"AccessToken":{`)
	for i := range accounts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"uid%d.utid-login.microsoftonline.com-accesstoken-cid-utid-user.read":{"secret":"%s","expires_on":"1900000000"}`, i, jwt)
	}
	b.WriteString(`},"RefreshToken":{`)
	for i := range accounts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"uid%d.utid-login.microsoftonline.com-refreshtoken-cid--":{"secret":"%s"}`, i, rt)
	}
	b.WriteString(`},"IdToken":{`)
	for i := range accounts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"uid%d.utid-login.microsoftonline.com-idtoken-cid-utid-":{"secret":"%s"}`, i, idt)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

func benchStore(b *testing.B) (*CacheStore, *rawCache) {
	b.Helper()
	s, err := OpenCacheStore(b.TempDir(), newMemKeyring())
	if err != nil {
		b.Fatal(err)
	}
	c := &rawCache{data: syntheticCache(10_000)}
	ctx := context.Background()
	if err := s.before(ctx, c, true); err != nil {
		b.Fatal(err)
	}
	if err := s.after(ctx, c, true); err != nil {
		b.Fatal(err)
	}
	return s, c
}

// BenchmarkCacheLoad: another process changed the file; read and decrypt it (target
// ≤ 50 ms at 10,000 accounts, the cache layer's Deserialize not included).
func BenchmarkCacheLoad(b *testing.B) {
	s, c := benchStore(b)
	ctx := context.Background()
	b.SetBytes(int64(len(c.data)))
	for b.Loop() {
		s.synced = nil // as if the file had changed
		if err := s.before(ctx, c, false); err != nil {
			b.Fatal(err)
		}
		if err := s.after(ctx, c, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheSave: encrypt and atomically save (fsync included) at 10,000 accounts
// (target ≤ 80 ms).
func BenchmarkCacheSave(b *testing.B) {
	s, c := benchStore(b)
	ctx := context.Background()
	b.SetBytes(int64(len(c.data)))
	for b.Loop() {
		if err := s.before(ctx, c, true); err != nil {
			b.Fatal(err)
		}
		if err := s.after(ctx, c, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnchangedCheck: a cache operation when nobody changed the file: lock, stat,
// unlock (target ≤ 20 µs).
func BenchmarkUnchangedCheck(b *testing.B) {
	s, c := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if err := s.before(ctx, c, false); err != nil {
			b.Fatal(err)
		}
		if err := s.after(ctx, c, false); err != nil {
			b.Fatal(err)
		}
	}
}
