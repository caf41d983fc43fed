package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// expiryMargin is how close to expiry a cached access token counts as expired
// (MSAL: 5 minutes), so a caller never gets a token that dies in flight.
const expiryMargin = 5 * 60

// errNothingCached is returned when the cache has no usable token for the request.
var errNothingCached = fmt.Errorf("%w: no cached token fits the request", ErrInteractionRequired)

// errReservedScopes refuses openid/profile/offline_access as caller scopes, as MSAL
// Python's _decorate_scope does: they are always requested on the caller's behalf.
var errReservedScopes = errors.New(`identity: reserved scopes "openid", "profile" and "offline_access" are added automatically and cannot be requested`)

// checkUserScopes validates the caller's scopes for silent acquisition.
func checkUserScopes(scopes []string) error {
	if len(scopes) == 0 {
		return errors.New("identity: at least one scope is required")
	}
	for _, s := range scopes {
		s = strings.TrimSpace(s)
		if s == "" {
			return errors.New("identity: empty scope")
		}
		if strings.EqualFold(s, "openid") || strings.EqualFold(s, "profile") || strings.EqualFold(s, "offline_access") {
			return errReservedScopes
		}
	}
	return nil
}

// AcquireTokenSilent returns a token for account from the cache, refreshing it with the
// cached refresh token when needed (MSAL: acquire_token_silent). When nothing usable is
// cached, or the authority refused the refresh, the error matches
// ErrInteractionRequired (and still unwraps to the authority's *Error). Network failures
// are returned as they are: they are not the user's to fix.
//
// It reads WithForceRefresh, WithClaimsChallenge and WithRequestAuthority.
func (a *ClientApplication) AcquireTokenSilent(ctx context.Context, scopes []string, account Account, opts ...CallOption) (Result, error) {
	res, err := a.AcquireTokenSilentWithError(ctx, scopes, account, opts...)
	if err == nil {
		return res, nil
	}
	var ae *Error
	if errors.As(err, &ae) && (ae.Code != "" || ae.StatusCode != 0) && !errors.Is(err, ErrInteractionRequired) {
		return Result{}, fmt.Errorf("%w: %w", ErrInteractionRequired, err)
	}
	return Result{}, err
}

// AcquireTokenSilentWithError is AcquireTokenSilent keeping the authority's answer
// apart (MSAL: acquire_token_silent_with_error): "nothing cached" matches
// ErrInteractionRequired, while a failed refresh returns the authority's *Error as it
// is (which matches ErrInteractionRequired only for invalid_grant and the like).
//
// The cached access token is used when it is valid for at least five more minutes,
// matches the authority's environment (or an alias), tenant and client, and its scopes
// include every requested one (case-insensitive). WithForceRefresh and
// WithClaimsChallenge skip it. A token past its refresh_on time is refreshed, but still
// returned if the refresh fails. On a cache hit, Result.IDTokenClaims are the claims
// decoded once per cached ID token, shared read-only. The refresh redeems the account's family refresh
// tokens first when the app may belong to the family, then its own; a refused refresh
// token is kept, since it may still serve other scopes or tenants.
func (a *ClientApplication) AcquireTokenSilentWithError(ctx context.Context, scopes []string, account Account, opts ...CallOption) (Result, error) {
	if account.IsZero() {
		return Result{}, ErrNoAccount
	}
	if err := checkUserScopes(scopes); err != nil {
		return Result{}, err
	}
	var cfg callConfig
	if len(opts) > 0 { // applyCallOptions's config escapes: skip it on the hot path
		cfg = applyCallOptions(opts)
	}
	// The cache lookup needs no request: a hit is served even offline, or before the
	// authority was ever resolved in this process. Only a refresh resolves.
	info, err := a.endpoint.known(cfg.authority)
	if err != nil {
		return Result{}, err
	}
	if info.realmNeedsResolution() {
		// A domain-name tenant's tokens are cached under the tenant id discovery names
		// (as MSAL Python, which resolves in its constructor): resolve once per process.
		if resolved, rerr := a.endpoint.resolved(ctx, cfg.authority); rerr == nil {
			info = resolved
		}
	}
	var hit atLookup
	reason := refreshForce // MSAL reports a claims challenge as a forced refresh too
	if !cfg.forceRefresh && cfg.claimsChallenge == "" {
		c := a.cache
		if err := c.beginAccess(ctx, false); err != nil {
			return Result{}, err
		}
		c.mu.RLock()
		hit = a.lookupAccessToken(c.st, info, account, scopes)
		c.mu.RUnlock()
		if err := c.endAccess(ctx, false, false); err != nil {
			return Result{}, err
		}
		switch {
		case hit.found && !hit.aging:
			if hit.legacyRealm != "" {
				a.migrateLegacy(ctx, hit, info)
			}
			a.transport.telemetry.hitAccessToken()
			return hit.res, nil
		case hit.found:
			reason = refreshATAging
		case hit.expired:
			reason = refreshATExpired
		default:
			reason = refreshATAbsent
		}
	}
	resolved, err := a.endpoint.resolved(ctx, cfg.authority)
	if err != nil {
		// Offline or discovery down: an aging cached token is still good, but nothing
		// can be refreshed.
		if hit.found {
			return hit.res, nil
		}
		return Result{}, err
	}
	// One correlation id for every refresh token tried, as MSAL; the account routes
	// the request as MSAL Python's "Oid:<uid>@<utid>" (its home_account_id, "." to "@").
	ctx = withRefreshReason(withCorrelationID(ctx, newCorrelationID()), reason)
	ctx = withAnchorMailbox(ctx, "Oid:"+strings.ReplaceAll(account.HomeAccountID, ".", "@"))
	res, err := a.refreshSilently(ctx, resolved, scopes, account, cfg)
	if err != nil && hit.found {
		return hit.res, nil // aging token: the refresh was a courtesy
	}
	return res, err
}

// atLookup is the outcome of an access-token lookup: the hit, whether its refresh_on
// has passed (aging), and whether a matching but expired token was seen.
type atLookup struct {
	res                   Result
	found, aging, expired bool
	// legacyRealm is set when the hit was found under a realm the previous release
	// wrote (see legacyRealms); home, env and realm locate it for migrateLegacy.
	legacyRealm, home, env, realm string
}

// lookupAccessToken finds a cached access token for the request.
func (a *ClientApplication) lookupAccessToken(st *cacheState, info *authorityInfo, account Account, scopes []string) (out atLookup) {
	now := a.now().Unix()
	home := lower(account.HomeAccountID)
	client := lower(a.clientID)
	realm := lower(info.cacheRealm())
	envs := cacheEnvironments(info)
	if info.Type == authorityTypeGeneric && account.Realm != "" {
		// A generic provider's tokens are cached under the ID token's tid, when it
		// has one (storeCtx): the account's realm.
		realm = lower(account.Realm)
	}
	if out = a.lookupAccessTokenIn(st, envs, home, client, realm, account, scopes, now); out.found {
		return out
	}
	// Not where MSAL Python keeps it: perhaps where the previous release wrote it.
	for _, old := range legacyRealms(info, account, realm) {
		legacy := a.lookupAccessTokenIn(st, envs, home, client, old, account, scopes, now)
		legacy.expired = legacy.expired || out.expired
		if legacy.found {
			legacy.legacyRealm, legacy.realm = old, realm
			return legacy
		}
		out.expired = legacy.expired
	}
	return out
}

// lookupAccessTokenIn finds a cached access token under one realm.
func (a *ClientApplication) lookupAccessTokenIn(st *cacheState, envs []string, home, client, realm string, account Account, scopes []string, now int64) (out atLookup) {
	for _, env := range envs {
		// Several tokens may fit (one for more scopes, written earlier): take the one
		// that lives longest, so a refreshed token wins over the one it refreshed in
		// whatever order the cache file lists them.
		var best *cacheEntry
		for e := st.atBucket(home, env, client, realm); e != nil; e = e.next {
			if e.has(fKeyID) || e.v[fUserAssertionHash] != "" {
				continue // bound to a key, or to an OBO assertion
			}
			if !containsAllFold(e.scopes, scopes) {
				continue
			}
			if e.expiresOn-now < a.expiryMarginOf(e) {
				out.expired = true
				continue
			}
			if best == nil || e.expiresOn > best.expiresOn {
				best = e
			}
		}
		if best != nil {
			out.res, out.found, out.aging = cachedResult(st, best, account), true, best.refreshOn != 0 && best.refreshOn < now
			out.home, out.env = home, env
			return out
		}
	}
	return out
}

// migrateLegacy moves this client's access tokens, ID token and (when the realm has
// none yet) account entry of one account from the realm the previous release wrote
// them under to MSAL Python's, so both read them from now on: an existing cache
// migrates in place on its first hit, without a sign-in. A failure only means the
// next hit tries again.
func (a *ClientApplication) migrateLegacy(ctx context.Context, hit atLookup, info *authorityInfo) {
	client := strings.ToLower(a.clientID)
	newRealm := info.cacheRealm()
	_ = a.cache.update(ctx, func(st *cacheState) bool {
		h := st.home(hit.home, hit.env)
		if h == nil {
			return false
		}
		var moved []*cacheEntry
		for e := h.atChain(client, hit.legacyRealm); e != nil; e = e.next {
			moved = append(moved, e)
		}
		for e := h.idt; e != nil; e = e.next {
			if e.client == client && e.realm == hit.legacyRealm {
				moved = append(moved, e)
			}
		}
		hasAccount := false
		var acct *cacheEntry
		for e := h.acct; e != nil; e = e.next {
			switch e.realm {
			case hit.realm:
				hasAccount = true
			case hit.legacyRealm:
				acct = e
			}
		}
		if acct != nil && !hasAccount {
			moved = append(moved, acct)
		}
		for _, o := range moved {
			e := &cacheEntry{cacheKind: o.cacheKind, v: o.v, set: o.set, null: o.null, extra: o.extra}
			e.put(fRealm, newRealm)
			e.derive()
			e.key = makeKey(e)
			st.remove(o)
			if e.cacheKind == kindAccessToken {
				st.putAccessToken(e)
			} else {
				st.add(e)
			}
		}
		return len(moved) > 0
	})
}

// containsAllFold reports whether have (lower-cased) holds every scope of want.
func containsAllFold(have, want []string) bool {
	for _, w := range want {
		ok := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// cachedResult builds a Result from a cached access token, with the ID token and
// account cached beside it.
func cachedResult(st *cacheState, at *cacheEntry, account Account) Result {
	res := Result{
		AccessToken: at.v[fSecret],
		TokenType:   at.v[fTokenType],
		ExpiresOn:   time.Unix(at.expiresOn, 0),
		Scopes:      slices.Clone(at.scopesOrig),
		Account:     account,
		Source:      SourceCache,
	}
	if res.TokenType == "" {
		res.TokenType = "Bearer"
	}
	if at.refreshOn != 0 {
		res.RefreshOn = time.Unix(at.refreshOn, 0)
	}
	h := st.home(at.home, at.env)
	for e := h.chain(kindIDToken); e != nil; e = e.next {
		if e.client == at.client && e.realm == at.realm {
			res.IDToken = e.v[fSecret]
			// Decoded once and shared by every hit: Claims only hands out values.
			res.IDTokenClaims = sharedClaims(e.idTokenClaims())
			break
		}
	}
	if account.LocalAccountID != "" && strings.EqualFold(account.Realm, at.realm) {
		return res // the caller's account is the cached one (it came from Accounts)
	}
	for e := h.chain(kindAccount); e != nil; e = e.next {
		if e.realm == at.realm {
			res.Account = accountOf(e)
			break
		}
	}
	return res
}

// idTokenClaims decodes a cached ID token's payload once. It was verified when it was
// received; here it is only read, as MSAL does for id_token_claims.
func (e *cacheEntry) idTokenClaims() map[string]any {
	if p := e.claims.Load(); p != nil {
		return *p
	}
	claims := decodeJWTPayload(e.v[fSecret])
	e.claims.Store(&claims)
	return claims
}

// decodeJWTPayload returns the claims of a compact JWS without verifying it, or nil.
func decodeJWTPayload(raw string) map[string]any {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var claims map[string]any
	if json.Unmarshal(b, &claims) != nil {
		return nil
	}
	return claims
}

// rtCandidate is a refresh token found in the cache, copied out so the network
// request happens outside the cache lock and hook.
type rtCandidate struct {
	key, secret, familyID string
	own                   bool
	modified              int64
}

// refreshSilently redeems the account's refresh tokens, as MSAL Python's
// _acquire_token_silent_by_finding_rt_belongs_to_me_or_my_family.
func (a *ClientApplication) refreshSilently(ctx context.Context, info *authorityInfo, scopes []string, account Account, cfg callConfig) (Result, error) {
	home := strings.ToLower(account.HomeAccountID)
	client := strings.ToLower(a.clientID)
	var (
		cands     []rtCandidate
		hasMeta   bool
		appFamily string
	)
	err := a.cache.view(ctx, func(st *cacheState) {
		for _, env := range cacheEnvironments(info) {
			if m := st.appMetadata(env, client); m != nil && !hasMeta {
				hasMeta, appFamily = true, m.v[fFamilyID]
			}
			for e := st.home(home, env).chain(kindRefreshToken); e != nil; e = e.next {
				if e.v[fUserAssertionHash] != "" {
					continue // minted for an on-behalf-of assertion, not for this user's app
				}
				c := rtCandidate{key: e.key, secret: e.v[fSecret], familyID: e.v[fFamilyID], own: e.client == client, modified: e.lastModified}
				if c.secret != "" && (c.own || c.familyID != "") {
					cands = append(cands, c)
				}
			}
		}
	})
	if err != nil {
		return Result{}, err
	}
	// Newer refresh tokens are more likely to work.
	slices.SortStableFunc(cands, func(x, y rtCandidate) int { return int(y.modified - x.modified) })

	try := func(use func(rtCandidate) bool, stop func(error) bool) (Result, bool, error) {
		var last error
		tried := false
		for _, c := range cands {
			if !use(c) {
				continue
			}
			tried = true
			res, err := a.redeemCachedRT(ctx, info, c, scopes, cfg)
			if err == nil {
				return res, true, nil
			}
			last = err
			if stop != nil && stop(err) {
				break
			}
		}
		return Result{}, tried, last
	}
	var lastErr error
	if !hasMeta {
		// First use of this app here: try the family's tokens; if it works, the app
		// is in the family. Their failure is not ours to report.
		if res, tried, err := try(func(c rtCandidate) bool { return c.familyID == "1" }, isClientMismatch); tried && err == nil {
			return res, nil
		}
	}
	if appFamily != "" {
		res, tried, err := try(func(c rtCandidate) bool { return c.familyID == appFamily }, nil)
		if tried && err == nil {
			return res, nil
		}
		lastErr = err
	}
	res, tried, err := try(func(c rtCandidate) bool { return c.own }, nil)
	if tried && err == nil {
		return res, nil
	}
	if tried {
		return Result{}, err
	}
	if lastErr != nil {
		return Result{}, lastErr
	}
	return Result{}, errNothingCached
}

// isClientMismatch reports Entra's answer that the app is not in the token's family.
func isClientMismatch(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Classification == "client_mismatch"
}

// redeemCachedRT redeems one refresh token and stores the response (a rotated refresh
// token replaces the old one). The refresh token is never removed on failure.
func (a *ClientApplication) redeemCachedRT(ctx context.Context, info *authorityInfo, rt rtCandidate, scopes []string, cfg callConfig) (Result, error) {
	resp, err := a.endpoint.redeem(ctx, tokenRequest{
		authority: info,
		apiID:     APIAcquireTokenSilent,
		form:      url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt.secret}},
		scopes:    scopes,
		claims:    cfg.claimsChallenge,
	})
	if err != nil {
		return Result{}, err
	}
	// Stored even when ctx ended after the answer arrived: a rotated refresh token
	// dropped here would leave only the old, revoked one (see ClientApplication.store).
	return a.cache.storeCtx(context.WithoutCancel(ctx), storeParams{
		authority:       info,
		clientID:        a.clientID,
		requestedScopes: scopes,
		response:        resp,
		usedRTKey:       rt.key,
	}, true)
}
