package identity

import (
	"strconv"
	"time"
)

// WithExpiryMargin replaces MSAL's fixed five-minute margin (a cached access token
// counts as expired that long before it expires) for user tokens found by silent
// acquisition: margin is called with the token's lifetime (expires_on minus cached_at;
// 0 when unknown) and returns how early to treat it as expired. It is not MSAL
// behaviour and is off by default, so the package stays conformant to MSAL Python;
// ProportionalExpiryMargin is the rule an app wants for providers that issue
// short-lived tokens.
func WithExpiryMargin(margin func(lifetime time.Duration) time.Duration) Option {
	return func(c *config) { c.expiryMargin = margin }
}

// MSALExpiryMargin is MSAL's margin: five minutes, whatever the lifetime.
const MSALExpiryMargin = 5 * time.Minute

// minExpiryMargin is ProportionalExpiryMargin's floor: enough for a request in flight.
const minExpiryMargin = 30 * time.Second

// ProportionalExpiryMargin is a margin for WithExpiryMargin that adapts to short-lived
// tokens: a tenth of the lifetime, at least 30 s and at most MSAL's five minutes (so
// tokens of 50 minutes or more keep MSAL's margin exactly), and never more than half
// the lifetime. A 5-minute token is served from the cache for its first 4.5 minutes;
// with MSAL's fixed margin it would never be. An unknown lifetime gets MSAL's margin.
func ProportionalExpiryMargin(lifetime time.Duration) time.Duration {
	if lifetime <= 0 {
		return MSALExpiryMargin
	}
	m := min(max(lifetime/10, minExpiryMargin), MSALExpiryMargin)
	return min(m, lifetime/2)
}

// expiryMarginOf is how many seconds before its expiry the cached access token e
// counts as expired for a.
func (a *ClientApplication) expiryMarginOf(e *cacheEntry) int64 {
	if a.cfg.expiryMargin == nil {
		return expiryMargin
	}
	var lifetime time.Duration
	if cached, err := strconv.ParseInt(e.get(fCachedAt), 10, 64); err == nil && cached > 0 && e.expiresOn > cached {
		lifetime = time.Duration(e.expiresOn-cached) * time.Second
	}
	return int64(a.cfg.expiryMargin(lifetime) / time.Second)
}
