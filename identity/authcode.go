package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AuthCodeFlow is an authorization code flow in progress (MSAL's auth_code_flow dict):
// InitiateAuthCodeFlow fills it, the caller sends the user to AuthURI, and
// AcquireTokenByAuthCodeFlow redeems the response that reaches RedirectURI. Keep it
// private to the session: CodeVerifier and Nonce are secrets of this sign-in.
type AuthCodeFlow struct {
	// AuthURI is the authorization request to open in the browser.
	AuthURI string
	// State is the CSRF token the response must echo.
	State string
	// RedirectURI is where the authority sends the response ("" = the registered one).
	RedirectURI string
	// Nonce is the raw nonce; its SHA-256 (hex) is what is sent and what the ID token
	// must carry, as MSAL does.
	Nonce string
	// CodeVerifier is the PKCE (S256) verifier, sent only when redeeming the code.
	CodeVerifier string
	// ClaimsChallenge is the caller's claims challenge, re-sent when redeeming.
	ClaimsChallenge string
	// ResponseMode is "query", "form_post" or "" (the authority's default, query).
	ResponseMode string
	// Scopes are the caller's scopes (without the reserved ones). To redeem the code for
	// one resource of several consented at once, narrow Scopes to a subset before
	// calling AcquireTokenByAuthCodeFlow.
	Scopes []string
	// MaxAge, when set, was sent as max_age; the ID token's auth_time is checked.
	MaxAge *time.Duration

	// requested are the scopes of the authorization request, for the subset check.
	requested []string
	// authority is the WithRequestAuthority override the flow was started with.
	authority string
	// apiID is the telemetry id of the redemption; interactive sign-in sets
	// APIAcquireTokenInteractive.
	apiID APIID
}

// nonceHash is what MSAL sends as nonce: the hex SHA-256 of the raw nonce.
func nonceHash(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(sum[:])
}

// pkceChallenge is RFC 7636's S256 code challenge.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams builds the authorization request parameters shared by
// InitiateAuthCodeFlow and AuthorizationRequestURL.
func (a *ClientApplication) authParams(info *authorityInfo, scopes []string, cc callConfig, responseType string) (url.Values, error) {
	q := url.Values{}
	for k, v := range cc.extraQuery {
		q.Set(k, v)
	}
	q.Set("client_id", a.clientID)
	q.Set("response_type", responseType)
	q.Set("scope", strings.Join(decorateScopes(scopes, a.cfg.excludeScopes), " "))
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("redirect_uri", cc.redirectURI)
	set("prompt", cc.prompt)
	set("login_hint", cc.loginHint)
	if cc.loginHint != "" && info.Type == authorityTypeMSSTS {
		q.Set("X-AnchorMailbox", "UPN:"+cc.loginHint) // CCS routing, as MSAL
	}
	set("domain_hint", cc.domainHint)
	set("response_mode", cc.responseMode)
	if cc.maxAge != nil {
		q.Set("max_age", strconv.FormatInt(int64(*cc.maxAge/time.Second), 10))
	}
	claims, err := mergeClaims(a.cfg.clientCapabilities, cc.claimsChallenge)
	if err != nil {
		return nil, &Error{Err: err}
	}
	set("claims", claims)
	if info.Type == authorityTypeMSSTS {
		q.Set("client_info", "1")
	}
	return q, nil
}

// withQuery appends q to endpoint, which may already have a query.
func withQuery(endpoint string, q url.Values) string {
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	return endpoint + sep + q.Encode()
}

// InitiateAuthCodeFlow starts an authorization code flow with PKCE (S256), a random
// state and a nonce (MSAL: initiate_auth_code_flow). It reads WithRedirectURI,
// WithState, WithPrompt, WithLoginHint, WithDomainHint, WithClaimsChallenge,
// WithMaxAge, WithResponseMode, WithExtraQueryParameters and WithRequestAuthority.
func (a *ClientApplication) InitiateAuthCodeFlow(ctx context.Context, scopes []string, opts ...CallOption) (*AuthCodeFlow, error) {
	cc := applyCallOptions(opts)
	if err := checkGrantScopes(scopes); err != nil {
		return nil, err
	}
	if strings.Contains(cc.responseType, "token") {
		return nil, localError(nil, "response_type %q is not allowed in an auth code flow", cc.responseType)
	}
	info, err := a.resolveAuthority(ctx, cc.authority)
	if err != nil {
		return nil, err
	}
	flow := &AuthCodeFlow{
		State:           cc.state,
		RedirectURI:     cc.redirectURI,
		Nonce:           randomString(24),
		CodeVerifier:    randomString(32), // 43 characters, RFC 7636 §4.1
		ClaimsChallenge: cc.claimsChallenge,
		ResponseMode:    cc.responseMode,
		Scopes:          append([]string(nil), scopes...),
		MaxAge:          cc.maxAge,
		requested:       append([]string(nil), scopes...),
		authority:       cc.authority,
		apiID:           APIAcquireTokenByAuthorizationCode,
	}
	if flow.State == "" {
		flow.State = randomString(24)
	}
	q, err := a.authParams(info, scopes, cc, "code")
	if err != nil {
		return nil, err
	}
	q.Set("state", flow.State)
	q.Set("nonce", nonceHash(flow.Nonce))
	q.Set("code_challenge", pkceChallenge(flow.CodeVerifier))
	q.Set("code_challenge_method", "S256")
	flow.AuthURI = withQuery(info.AuthorizationEndpoint, q)
	return flow, nil
}

// placeholder matches a template variable such as Entra's "{tenantid}".
var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// issuerMatches reports whether iss is the issuer of template, which may be a plain
// issuer or a template such as Entra's "https://login.microsoftonline.com/{tenantid}/v2.0"
// (a placeholder matches one path segment).
func issuerMatches(template, iss string) bool {
	if !strings.Contains(template, "{") {
		return strings.TrimSuffix(template, "/") == strings.TrimSuffix(iss, "/")
	}
	parts := placeholder.Split(template, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile("^" + strings.Join(parts, "[^/]+") + "$")
	return err == nil && re.MatchString(iss)
}

// AcquireTokenByAuthCodeFlow checks the authorization response against flow and
// redeems its code (MSAL: acquire_token_by_auth_code_flow): the state must match, an
// error response becomes an *Error, the RFC 9207 "iss" parameter must name the
// authority (and is required when its discovery document says it sends one), the ID
// token's nonce must be the flow's and its auth_time within MaxAge. The tokens are
// stored in the cache. It reads WithClaimsChallenge (overriding the flow's).
func (a *ClientApplication) AcquireTokenByAuthCodeFlow(ctx context.Context, flow *AuthCodeFlow, response url.Values, opts ...CallOption) (Result, error) {
	cc := applyCallOptions(opts)
	if flow == nil || flow.State == "" {
		return Result{}, localError(ErrStateMismatch, "the auth code flow has no state (was it started with InitiateAuthCodeFlow?)")
	}
	if subtle.ConstantTimeCompare([]byte(response.Get("state")), []byte(flow.State)) != 1 {
		return Result{}, localError(ErrStateMismatch, "the response's state is not this flow's")
	}
	if flow.requested != nil && !scopeSubset(flow.Scopes, flow.requested) {
		return Result{}, localError(nil, "scopes must be a subset of those of the authorization request")
	}
	info, meta, err := a.resolve(ctx, flow.authority)
	if err != nil {
		return Result{}, err
	}
	if iss := response.Get("iss"); iss != "" || meta.issParameterSupported {
		if iss == "" {
			return Result{}, localError(ErrIssuerMismatch, "the authority promises an iss parameter (RFC 9207) but the response has none")
		}
		if !issuerMatches(info.Issuer, iss) {
			return Result{}, localError(ErrIssuerMismatch, "the response comes from issuer %q, not %q (RFC 9207)", iss, info.Issuer)
		}
	}
	if code := response.Get("error"); code != "" {
		// Keep only the error fields: a forged response cannot smuggle anything else.
		return Result{}, &Error{Code: code, Description: response.Get("error_description")}
	}
	code := response.Get("code")
	if code == "" {
		return Result{}, localError(ErrMalformedResponse, "the response has neither code nor error")
	}
	if ci, err := decodeClientInfo(response.Get("client_info")); err == nil && ci.UID != "" && ci.UTID != "" {
		ctx = withAnchorMailbox(ctx, "Oid:"+ci.UID+"@"+ci.UTID)
	}
	form := url.Values{}
	form.Set("grant_type", "authorization_code")
	form.Set("code", code)
	if flow.RedirectURI != "" {
		form.Set("redirect_uri", flow.RedirectURI)
	}
	form.Set("code_verifier", flow.CodeVerifier)
	claims := flow.ClaimsChallenge
	if cc.claimsChallenge != "" {
		claims = cc.claimsChallenge
	}
	apiID := flow.apiID
	if apiID == "" {
		apiID = APIAcquireTokenByAuthorizationCode
	}
	req := tokenRequest{authority: info, apiID: apiID, form: form, scopes: flow.Scopes,
		claims: claims, maxAge: flow.MaxAge}
	if flow.Nonce != "" {
		req.nonce = nonceHash(flow.Nonce)
	}
	return a.redeemAndStore(ctx, req, storeParams{})
}

// AuthorizationRequestURL builds an authorization request URL without PKCE (MSAL:
// get_authorization_request_url; prefer InitiateAuthCodeFlow). It reads
// WithResponseType (default "code"), WithRedirectURI, WithState, WithNonce (sent
// as-is), WithPrompt, WithLoginHint, WithDomainHint, WithClaimsChallenge, WithMaxAge,
// WithResponseMode, WithExtraQueryParameters and WithRequestAuthority.
func (a *ClientApplication) AuthorizationRequestURL(ctx context.Context, scopes []string, opts ...CallOption) (string, error) {
	cc := applyCallOptions(opts)
	if err := checkGrantScopes(scopes); err != nil {
		return "", err
	}
	rt := cc.responseType
	if rt == "" {
		rt = "code"
	}
	info, err := a.resolveAuthority(ctx, cc.authority)
	if err != nil {
		return "", err
	}
	q, err := a.authParams(info, scopes, cc, rt)
	if err != nil {
		return "", err
	}
	if cc.state != "" {
		q.Set("state", cc.state)
	}
	if cc.nonce != "" {
		q.Set("nonce", cc.nonce)
	}
	return withQuery(info.AuthorizationEndpoint, q), nil
}

// AcquireTokenByAuthorizationCode redeems a code obtained with AuthorizationRequestURL
// (MSAL: acquire_token_by_authorization_code). It reads WithRedirectURI (must equal
// the request's), WithNonce (the ID token must carry it), WithClaimsChallenge and
// WithRequestAuthority. Prefer the auth code flow: it adds PKCE and checks state.
func (a *ClientApplication) AcquireTokenByAuthorizationCode(ctx context.Context, code string, scopes []string, opts ...CallOption) (Result, error) {
	cc := applyCallOptions(opts)
	info, err := a.grantStart(ctx, code, "authorization code", scopes, cc.authority)
	if err != nil {
		return Result{}, err
	}
	form := url.Values{}
	form.Set("grant_type", "authorization_code")
	form.Set("code", code)
	if cc.redirectURI != "" {
		form.Set("redirect_uri", cc.redirectURI)
	}
	if cc.codeVerifier != "" {
		form.Set("code_verifier", cc.codeVerifier)
	}
	req := tokenRequest{authority: info, apiID: APIAcquireTokenByAuthorizationCode, form: form,
		scopes: scopes, claims: cc.claimsChallenge, nonce: cc.nonce, maxAge: cc.maxAge}
	return a.redeemAndStore(ctx, req, storeParams{})
}
