package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
)

// jwtBearerGrant is RFC 7523's grant, used by on-behalf-of.
const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// assertionHash keys on-behalf-of tokens to the incoming assertion without storing it
// (base64url SHA-256, as MSAL's user_assertion_hash).
func assertionHash(assertion string) string {
	sum := sha256.Sum256([]byte(assertion))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// cachedAppToken finds a valid cached access token of this client for scopes at info's
// realm (the one MSAL Python keys it by): app-only tokens (assertion "" and no
// account) or on-behalf-of tokens of one assertion. Tokens bound to a key are never
// returned. aging reports a token past its refresh_on: the caller should refresh, and
// fall back to it if that fails (MSAL Python 1.31).
func (a *ClientApplication) cachedAppToken(ctx context.Context, info *authorityInfo, scopes []string, assertion string) (res Result, found, aging bool, err error) {
	now := a.now().Unix()
	client := strings.ToLower(a.clientID)
	realm := lower(info.cacheRealm())
	envs := cacheEnvironments(info)
	match := func(e *cacheEntry) bool {
		return !e.has(fKeyID) && e.client == client && e.realm == realm && e.expiresOn-now >= expiryMargin &&
			containsAllFold(e.scopes, scopes)
	}
	take := func(st *cacheState, e *cacheEntry) bool {
		if found && !aging {
			return true
		}
		if isAging := e.refreshOn != 0 && e.refreshOn <= now; !found || !isAging {
			res, found, aging = cachedResult(st, e, Account{}), true, isAging
		}
		return found && !aging
	}
	err = a.cache.view(ctx, func(st *cacheState) {
		if assertion == "" {
			for _, env := range envs {
				for e := st.atBucket("", env, client, realm); e != nil; e = e.next {
					if e.v[fUserAssertionHash] == "" && match(e) && take(st, e) {
						return
					}
				}
			}
			return
		}
		// On-behalf-of tokens belong to the (unknown) user behind the assertion: scan,
		// keeping to this tenant, as MSAL Python's lookup by realm does.
		hash := assertionHash(assertion)
		for _, e := range st.sections[kindAccessToken] {
			if e.v[fUserAssertionHash] == hash && match(e) && containsFold(envs, e.env) && take(st, e) {
				return
			}
		}
	})
	return res, found, aging, err
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// AcquireTokenForClient gets an app-only token with the client's own credential
// (MSAL: acquire_token_for_client; the client credentials grant). Scopes are sent
// as given, without the reserved ones; for Entra they are "<resource>/.default". A
// valid cached token of this app and tenant is returned without a request, unless
// WithForceRefresh or WithClaimsChallenge is given. With WithAzureRegion the request
// goes to Entra's regional endpoint. It reads WithRequestAuthority too.
func (c *ConfidentialClient) AcquireTokenForClient(ctx context.Context, scopes []string, opts ...CallOption) (Result, error) {
	a := c.ClientApplication
	cc := applyCallOptions(opts)
	if len(scopes) == 0 {
		return Result{}, localError(nil, "at least one scope is required, such as https://graph.microsoft.com/.default")
	}
	info, meta, err := a.resolve(ctx, cc.authority)
	if err != nil {
		return Result{}, err
	}
	var fallback *Result
	if !cc.forceRefresh && cc.claimsChallenge == "" {
		res, ok, aging, err := a.cachedAppToken(ctx, info, scopes, "")
		if err != nil || (ok && !aging) {
			return res, err
		}
		if ok {
			fallback = &res // past refresh_on: refresh, but keep it in case that fails
		}
	}
	if t := strings.ToLower(info.Tenant); t == "common" || t == "organizations" {
		a.log.WarnContext(ctx, "identity: client credentials with a /common or /organizations authority are unreliable; use a tenant")
	}
	form := url.Values{}
	form.Set("grant_type", "client_credentials")
	form.Set("scope", strings.Join(scopes, " "))
	req := tokenRequest{authority: a.transport.regionalAuthority(ctx, info, meta.kind),
		apiID: APIAcquireTokenForClient, form: form, claims: cc.claimsChallenge}
	// Store under the central authority: the region is a routing detail.
	tr, err := a.redeem(ctx, req)
	if err != nil {
		if fallback != nil {
			// MSAL Python 1.31: a failed early refresh returns the still-valid token.
			a.log.DebugContext(ctx, "identity: refresh after refresh_on failed; returning the cached token", "error", errCode(err))
			return *fallback, nil
		}
		return Result{}, err
	}
	return a.store(ctx, info, scopes, tr, storeParams{appOnly: true})
}

// AcquireTokenOnBehalfOf exchanges the token a middle-tier API received
// (userAssertion) for a token to a downstream API (MSAL: acquire_token_on_behalf_of).
// Tokens are cached per assertion: the same assertion and scopes are answered from the
// cache while valid. It reads WithForceRefresh, WithClaimsChallenge and
// WithRequestAuthority.
func (c *ConfidentialClient) AcquireTokenOnBehalfOf(ctx context.Context, userAssertion string, scopes []string, opts ...CallOption) (Result, error) {
	a := c.ClientApplication
	cc := applyCallOptions(opts)
	info, err := a.grantStart(ctx, userAssertion, "user assertion", scopes, cc.authority)
	if err != nil {
		return Result{}, err
	}
	if !cc.forceRefresh && cc.claimsChallenge == "" {
		if res, ok, aging, err := a.cachedAppToken(ctx, info, scopes, userAssertion); err != nil || (ok && !aging) {
			return res, err
		}
	}
	form := url.Values{}
	form.Set("grant_type", jwtBearerGrant)
	form.Set("assertion", userAssertion)
	form.Set("requested_token_use", "on_behalf_of")
	req := tokenRequest{authority: info, apiID: APIAcquireTokenOnBehalfOf, form: form,
		scopes: scopes, claims: cc.claimsChallenge}
	tr, err := a.redeem(ctx, req)
	if err != nil {
		return Result{}, err
	}
	return a.store(ctx, info, scopes, tr, storeParams{userAssertionHash: assertionHash(userAssertion)})
}
