package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TokenCache is MSAL's unified token cache: access, refresh and ID tokens, accounts and
// app metadata, in the JSON schema every MSAL library reads and writes. One cache may
// serve many client ids and authorities, and many clients at once (WithTokenCache); it
// is safe for concurrent use.
//
// In memory the entries are indexed by account, so a silent hit and an account listing
// touch only the entries they need. Entries and sections other MSAL apps wrote, and
// fields Tokendesk does not know, are kept and written back unchanged.
type TokenCache struct {
	mu      sync.RWMutex
	st      *cacheState
	changed atomic.Bool
	hook    CacheHook
}

// CacheOption configures a TokenCache.
type CacheOption func(*TokenCache)

// WithCacheHook keeps the cache in step with persistent storage: every lookup and
// change is bracketed by h.BeforeAccess and h.AfterAccess (see CacheHook).
func WithCacheHook(h CacheHook) CacheOption { return func(c *TokenCache) { c.hook = h } }

// NewTokenCache returns an empty cache.
func NewTokenCache(opts ...CacheOption) *TokenCache {
	c := &TokenCache{st: newCacheState(0)}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// Serialize returns the cache as MSAL-readable JSON (compact, one entry per line,
// members sorted, so an unchanged cache always gives the same bytes) and clears the
// changed flag.
func (c *TokenCache) Serialize() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	b := serializeState(c.st)
	c.changed.Store(false)
	return b, nil
}

// Deserialize replaces the cache's contents with data, a cache Serialize or any MSAL
// library wrote. Empty data means an empty cache. On error the cache is unchanged.
// It clears the changed flag.
func (c *TokenCache) Deserialize(data []byte) error {
	st, err := parseCache(data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.st = st
	c.changed.Store(false)
	c.mu.Unlock()
	return nil
}

// HasChanged reports whether the cache changed since it was last serialized or
// deserialized (MSAL: has_state_changed), so unchanged caches are never rewritten.
func (c *TokenCache) HasChanged() bool { return c.changed.Load() }

// beginAccess and endAccess bracket one in-memory operation with the hook. When
// BeforeAccess fails the operation does not run and AfterAccess is not called.
func (c *TokenCache) beginAccess(ctx context.Context, write bool) error {
	if c.hook == nil {
		return nil
	}
	return c.hook.BeforeAccess(ctx, c, write)
}

func (c *TokenCache) endAccess(ctx context.Context, write, changed bool) error {
	if c.hook == nil {
		return nil
	}
	return c.hook.AfterAccess(ctx, c, write, changed)
}

// view runs fn on the cache under the read lock, bracketed by the hook.
func (c *TokenCache) view(ctx context.Context, fn func(st *cacheState)) error {
	if err := c.beginAccess(ctx, false); err != nil {
		return err
	}
	c.mu.RLock()
	fn(c.st)
	c.mu.RUnlock()
	return c.endAccess(ctx, false, false)
}

// update runs fn on the cache under the write lock, bracketed by the hook; fn reports
// whether it changed anything.
func (c *TokenCache) update(ctx context.Context, fn func(st *cacheState) bool) error {
	if err := c.beginAccess(ctx, true); err != nil {
		return err
	}
	c.mu.Lock()
	changed := fn(c.st)
	if changed {
		c.changed.Store(true)
	}
	c.mu.Unlock()
	return c.endAccess(ctx, true, changed)
}

// store persists a token response (the contract the grants use). It has no context,
// so the hook sees context.Background(); storeCtx is the same with a context.
func (c *TokenCache) store(p storeParams) (Result, error) {
	return c.storeCtx(context.Background(), p, false)
}

// defaultExpiresIn is MSAL Python's lifetime for a response without expires_in.
const defaultExpiresIn = 600

// storeCtx writes the entries of one token response, as MSAL Python's TokenCache.add,
// and returns the Result. skipAccount leaves Account entries alone (a silent refresh
// must not resurrect an account a concurrent RemoveAccount just deleted).
func (c *TokenCache) storeCtx(ctx context.Context, p storeParams, skipAccount bool) (Result, error) {
	resp, auth := p.response, p.authority
	if resp == nil || auth == nil {
		return Result{}, errors.New("identity: store needs a response and an authority")
	}
	if p.clientID == "" {
		return Result{}, errors.New("identity: store needs a client id")
	}
	now := resp.ReceivedAt
	if now.IsZero() {
		now = time.Now()
	}
	nowS := now.Unix()
	env := strings.ToLower(auth.Host)
	claims := resp.IDTokenClaims

	// home_account_id: uid.utid from client_info, else the ID token's sub (AD FS and
	// generic OpenID providers, as MSAL Python), else none (app-only tokens).
	home, isUser := "", false
	if !p.appOnly {
		if ci := resp.ClientInfo; ci != nil && ci.UID != "" && ci.UTID != "" {
			home, isUser = ci.UID+"."+ci.UTID, true
		} else if sub := claimString(claims, "sub"); sub != "" {
			home, isUser = sub, true
		}
	}
	realm := auth.cacheRealm()
	if tid := claimString(claims, "tid"); tid != "" && auth.Type == authorityTypeGeneric {
		realm = tid // no token endpoint tenant to go by: keep what this package always wrote
	}
	var legacy []string // realms the previous release wrote this response's tokens under
	if isUser {
		legacy = legacyRealms(auth, Account{HomeAccountID: home, Realm: claimString(claims, "tid")}, strings.ToLower(realm))
	}
	target := resp.Scope
	if strings.TrimSpace(target) == "" {
		target = strings.Join(p.requestedScopes, " ")
	}
	tokenType := resp.TokenType
	if tokenType == "" {
		tokenType = "Bearer"
	}
	expiresIn := resp.ExpiresIn
	if expiresIn <= 0 {
		expiresIn = defaultExpiresIn
	}
	extExpiresIn := resp.ExtExpiresIn
	if extExpiresIn <= 0 {
		extExpiresIn = expiresIn
	}

	base := func(k cacheKind) *cacheEntry {
		e := &cacheEntry{cacheKind: k}
		if ct := credentialTypes[k]; ct != "" {
			e.put(fCredentialType, ct)
		}
		if k != kindAppMetadata {
			if home == "" {
				e.putNull(fHomeAccountID)
			} else {
				e.put(fHomeAccountID, home)
			}
		}
		e.put(fEnvironment, env)
		if k != kindAccount {
			e.put(fClientID, p.clientID)
		}
		return e
	}

	var at, rt, idt, acct *cacheEntry
	if resp.AccessToken != "" {
		at = base(kindAccessToken)
		at.put(fSecret, resp.AccessToken)
		at.put(fTarget, target)
		at.put(fRealm, realm)
		at.put(fTokenType, tokenType)
		at.put(fCachedAt, epochString(nowS))
		at.put(fExpiresOn, epochString(nowS+expiresIn))
		at.put(fExtendedExpiresOn, epochString(nowS+extExpiresIn))
		if resp.RefreshIn > 0 {
			at.put(fRefreshOn, epochString(nowS+resp.RefreshIn))
		}
		at.putNonEmpty(fUserAssertionHash, p.userAssertionHash)
	}
	if resp.RefreshToken != "" && !p.appOnly && p.usedRTKey == "" {
		rt = base(kindRefreshToken)
		rt.put(fSecret, resp.RefreshToken)
		rt.put(fTarget, target)
		rt.put(fLastModificationTime, epochString(nowS))
		rt.putNonEmpty(fFamilyID, resp.FamilyID)
		rt.putNonEmpty(fUserAssertionHash, p.userAssertionHash)
	}
	if resp.IDToken != "" && !p.appOnly {
		idt = base(kindIDToken)
		idt.put(fSecret, resp.IDToken)
		idt.put(fRealm, realm)
	}
	account := Account{}
	if isUser {
		acct = base(kindAccount)
		acct.put(fRealm, realm)
		local := claimString(claims, "oid")
		if local == "" {
			local = claimString(claims, "sub")
		}
		acct.put(fLocalAccountID, local)
		acct.put(fUsername, usernameOf(claims))
		acct.putNonEmpty(fName, claimString(claims, "name"))
		typ := auth.Type
		if typ == "" {
			typ = authorityTypeMSSTS
		}
		acct.put(fAuthorityType, typ)
		acct.derive()
		account = accountOf(acct)
		if skipAccount {
			acct = nil
		}
	}
	meta := base(kindAppMetadata)
	meta.putNonEmpty(fFamilyID, resp.FamilyID)
	for _, e := range []*cacheEntry{at, rt, idt, acct, meta} {
		if e != nil {
			e.derive()
			e.key = makeKey(e)
		}
	}

	err := c.update(ctx, func(st *cacheState) bool {
		if at != nil {
			st.putAccessToken(at)
			for _, r := range legacy {
				st.removeWhere(st.atBucket(at.home, at.env, at.client, r), func(o *cacheEntry) bool {
					return o.v[fKeyID] == "" && o.v[fUserAssertionHash] == "" && sharesResourceScope(o.scopes, at.scopes)
				})
			}
		}
		if p.usedRTKey != "" && resp.RefreshToken != "" {
			st.updateRT(p.usedRTKey, resp.RefreshToken, nowS)
		}
		if rt != nil {
			st.replace(rt, st.home(rt.home, rt.env).chain(kindRefreshToken), func(o *cacheEntry) bool {
				return o.client == rt.client && o.v[fUserAssertionHash] == rt.v[fUserAssertionHash]
			}, false)
		}
		if idt != nil {
			st.replace(idt, st.home(idt.home, idt.env).chain(kindIDToken), func(o *cacheEntry) bool {
				return o.client == idt.client && (o.realm == idt.realm || slices.Contains(legacy, o.realm))
			}, false)
		}
		if acct != nil {
			// The previous release's account entry of this sign-in goes too, once no
			// token of any app is left under its realm.
			h := st.home(acct.home, acct.env)
			st.replace(acct, h.chain(kindAccount), func(o *cacheEntry) bool {
				return o.realm == acct.realm || (slices.Contains(legacy, o.realm) && !h.realmInUse(o.realm))
			}, true)
		}
		st.replace(meta, st.meta[idxKey{meta.env, meta.client}], func(*cacheEntry) bool { return true }, true)
		return true
	})
	if err != nil {
		return Result{}, err
	}
	res := Result{
		AccessToken:   resp.AccessToken,
		TokenType:     tokenType,
		ExpiresOn:     time.Unix(nowS+expiresIn, 0),
		Scopes:        strings.Fields(target),
		IDToken:       resp.IDToken,
		IDTokenClaims: sharedClaims(claims),
		Account:       account,
		Source:        SourceIdentityProvider,
	}
	if resp.RefreshIn > 0 {
		res.RefreshOn = time.Unix(nowS+resp.RefreshIn, 0)
	}
	return res, nil
}

// putAccessToken adds at (keyed and derived) and removes the access tokens it supersedes: those of the
// same account, environment, client and realm, bound to the same key and user
// assertion, that share a resource scope with it (MSAL keeps one token per scope; a
// refresh replaces the token it refreshed even when the scope comes back reordered,
// in another case, or narrower). The reserved scopes do not count: a token for
// Mail.Read must not evict the one for User.Read because both carry "openid profile",
// and MSAL Python 1.21 keeps both. (It replaces only the entry with the very same key.)
func (st *cacheState) putAccessToken(at *cacheEntry) {
	st.removeWhere(st.atBucket(at.home, at.env, at.client, at.realm), func(o *cacheEntry) bool {
		return o.v[fKeyID] == at.v[fKeyID] &&
			o.v[fUserAssertionHash] == at.v[fUserAssertionHash] &&
			sharesResourceScope(o.scopes, at.scopes)
	})
	st.add(at)
}

// sharesResourceScope reports whether two lower-cased scope lists have a scope in
// common other than the reserved OpenID ones. Lists of reserved scopes only (an ID
// token's refresh) count as sharing when they are the same set.
func sharesResourceScope(a, b []string) bool {
	resource := false
	for _, x := range a {
		if isReservedScope(x) {
			continue
		}
		resource = true
		if slices.Contains(b, x) {
			return true
		}
	}
	if !resource {
		for _, y := range b {
			if !isReservedScope(y) {
				return false
			}
		}
		return containsAll(a, b) && containsAll(b, a)
	}
	return false
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// updateRT gives the refresh token stored under key a new secret, as MSAL Python's
// token_cache.update_rt after a silent refresh: same key and fields (target,
// family_id, client_id), so the token that was used is replaced, not joined by a
// near-copy, and a sibling app redeeming the family token updates the family's entry.
// A token removed meanwhile (RemoveAccount) stays removed.
func (st *cacheState) updateRT(key, secret string, now int64) {
	old := st.sections[kindRefreshToken][key]
	if old == nil {
		return
	}
	e := &cacheEntry{cacheKind: kindRefreshToken, key: old.key, v: old.v, set: old.set, null: old.null, extra: old.extra}
	e.put(fSecret, secret)
	e.put(fLastModificationTime, epochString(now))
	e.derive()
	st.add(e)
}

// replace adds e (keyed and derived) after removing every entry of chain that
// same says is the same thing under another key (a different case, or the key
// MSAL Go writes), so a write-back never leaves near-duplicates. With keepExtra the
// unknown fields of the replaced entry are carried over.
func (st *cacheState) replace(e *cacheEntry, chain *cacheEntry, same func(*cacheEntry) bool, keepExtra bool) {
	var doomed []*cacheEntry
	for o := chain; o != nil; o = o.next {
		if same(o) {
			doomed = append(doomed, o)
		}
	}
	for _, o := range doomed {
		if keepExtra && e.extra == nil && len(o.extra) > 0 {
			e.extra = o.extra
		}
		st.remove(o)
	}
	st.add(e)
}

// claimString returns a string claim, or "".
func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// usernameOf is MSAL's username: preferred_username (Entra), upn (AD FS 2019), or
// email (other OpenID providers).
func usernameOf(claims map[string]any) string {
	for _, c := range []string{"preferred_username", "upn", "email"} {
		if s := claimString(claims, c); s != "" {
			return s
		}
	}
	return ""
}
