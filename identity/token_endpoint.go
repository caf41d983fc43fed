package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// redeem POSTs one token request: the grant's form plus client_id, decorated scopes,
// claims (capabilities merged with the challenge), client_info for Entra and AD FS, and client
// authentication, with telemetry and correlation headers, behind the throttles. The ID
// token is decoded (Entra) or verified (OIDC) and checked against req.nonce and
// req.maxAge. Every failure is an *Error.
func (a *ClientApplication) redeem(ctx context.Context, req tokenRequest) (*tokenResponse, error) {
	info := req.authority
	if info == nil {
		var err error
		if info, err = a.resolveAuthority(ctx, ""); err != nil {
			return nil, err
		}
	}
	form := cloneValues(req.form)
	form.Set("client_id", a.clientID)
	if len(req.scopes) > 0 && form.Get("scope") == "" {
		form.Set("scope", strings.Join(decorateScopes(req.scopes, a.cfg.excludeScopes), " "))
	}
	claims, err := mergeClaims(a.cfg.clientCapabilities, req.claims)
	if err != nil {
		return nil, &Error{Err: err}
	}
	if claims != "" {
		form.Set("claims", claims)
	}
	if info.Type != authorityTypeGeneric {
		// MSAL Python asks AD FS for it too (its default body); AD FS ignores it.
		form.Set("client_info", "1")
	}
	if err := a.authenticate(ctx, form, info.TokenEndpoint); err != nil {
		return nil, err
	}
	correlationID, _ := ctx.Value(ctxCorrelationID).(string)
	if correlationID == "" {
		correlationID = newCorrelationID()
	}
	reason, _ := ctx.Value(ctxRefreshReason).(int)
	if req.apiID == APIAcquireTokenByRefreshToken {
		reason = refreshForce
	}
	hdr := a.transport.telemetry.headers(req.apiID, correlationID, reason)
	if anchor, _ := ctx.Value(ctxAnchorMailbox).(string); anchor != "" {
		// MSAL Python's _ClientWithCcsRoutingInfo sends it to every authority kind.
		hdr.Set("X-AnchorMailbox", anchor)
	}
	a.log.DebugContext(ctx, "identity: token request", "endpoint", info.TokenEndpoint,
		"grant_type", form.Get("grant_type"), "api_id", string(req.apiID), "correlation_id", correlationID)

	res, err := a.transport.postThrottled(ctx, info.TokenEndpoint, form, hdr)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.CorrelationID == "" {
			e.CorrelationID = correlationID
		}
		a.transport.telemetry.record(req.apiID, correlationID, "transport_error")
		return nil, err
	}
	tr, err := parseTokenResponse(res, a.now())
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			if e.CorrelationID == "" {
				e.CorrelationID = correlationID
			}
			if !res.throttled {
				a.transport.telemetry.record(req.apiID, correlationID, firstNonEmpty(e.Code, "malformed"))
			}
		}
		a.log.DebugContext(ctx, "identity: token request failed", "status", res.status,
			"error", errCode(err), "correlation_id", correlationID, "throttled", res.throttled)
		return nil, err
	}
	a.transport.telemetry.record(req.apiID, correlationID, "")
	if tr.IDToken != "" {
		// The answer is in hand and may hold a rotated refresh token the authority will
		// not accept twice: its check (which may fetch the JWKS) finishes even when the
		// caller's deadline passes now, within a bound of its own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idTokenCheckBudget)
		claims, err := a.checkIDToken(cctx, info, tr.IDToken, req.nonce, req.maxAge)
		cancel()
		if err != nil {
			return nil, asError(err, correlationID)
		}
		tr.IDTokenClaims = claims
	} else if req.nonce != "" && strings.Contains(form.Get("scope"), "openid") {
		// A nonce was sent, so an ID token is owed; without one the nonce is unchecked.
		return nil, asError(localError(ErrNonceMismatch, "no ID token to check the nonce against"), correlationID)
	}
	return tr, nil
}

// idTokenCheckBudget bounds checking an ID token after the caller's deadline passed:
// one JWKS request.
const idTokenCheckBudget = 10 * time.Second

// asError makes err an *Error carrying the correlation id.
func asError(err error, correlationID string) error {
	var e *Error
	if errors.As(err, &e) {
		if e.CorrelationID == "" {
			e.CorrelationID = correlationID
		}
		return err
	}
	return &Error{Err: err, CorrelationID: correlationID}
}

func errCode(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return "local"
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// redeemAndStore redeems req and hands the response to the cache, which builds the
// Result. sp carries the grant's extras (appOnly, userAssertionHash).
func (a *ClientApplication) redeemAndStore(ctx context.Context, req tokenRequest, sp storeParams) (Result, error) {
	tr, err := a.redeem(ctx, req)
	if err != nil {
		return Result{}, err
	}
	return a.store(ctx, req.authority, req.scopes, tr, sp)
}

// store hands a response to the cache.
func (a *ClientApplication) store(ctx context.Context, info *authorityInfo, scopes []string, tr *tokenResponse, sp storeParams) (Result, error) {
	sp.authority, sp.clientID, sp.response = info, a.clientID, tr
	if sp.requestedScopes == nil {
		sp.requestedScopes = scopes
	}
	// The authority has answered, and may have rotated the refresh token: the answer is
	// stored even when the caller's deadline passed meanwhile, or the new refresh token
	// would be lost and the old, revoked one kept. WithoutCancel keeps ctx's values; the
	// CacheHook's own limits (storage's lock timeout) still bound the store.
	res, err := a.tokens.storeCtx(context.WithoutCancel(ctx), sp, false)
	if err != nil {
		// Not the authority's fault: a plain error, so callers do not mistake it for one.
		return Result{}, fmt.Errorf("identity: storing the tokens: %w", err)
	}
	return res, nil
}
