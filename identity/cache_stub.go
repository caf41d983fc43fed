package identity

// TEMPORARY: placeholders for the cache layer so the package compiles while it is being
// written. The cache layer's owner deletes this file.

import "errors"

// TokenCache is the MSAL unified token cache.
type TokenCache struct{}

// NewTokenCache returns an empty in-memory cache.
func NewTokenCache() *TokenCache { return &TokenCache{} }

func (c *TokenCache) store(p storeParams) (Result, error) {
	return Result{}, errors.New("identity: cache layer not implemented yet")
}
