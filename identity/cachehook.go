package identity

import "context"

// CacheHook keeps a TokenCache in step with persistent storage (MSAL's token cache
// serialization callbacks). The storage package implements it; identity never touches
// files or keyrings itself.
//
// Every cache operation (a lookup, or a change after a token response) is bracketed:
//
//	BeforeAccess(ctx, cache, write)   // lock, and Deserialize if the stored copy changed
//	... the operation ...
//	AfterAccess(ctx, cache, write, changed) // Serialize and save if changed; unlock
//
// Network requests never happen between the two calls, so a cross-process lock taken
// in BeforeAccess is held only for in-memory work. AfterAccess is called even when the
// operation failed, so a lock is always released.
type CacheHook interface {
	// BeforeAccess is called before the cache is read or changed. write says whether the
	// operation may change the cache.
	BeforeAccess(ctx context.Context, cache *TokenCache, write bool) error
	// AfterAccess is called after the operation; changed reports whether it changed the
	// cache, so unchanged caches are never rewritten.
	AfterAccess(ctx context.Context, cache *TokenCache, write, changed bool) error
}
