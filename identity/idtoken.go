package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idTokenSkew is the clock skew tolerated on exp and auth_time (MSAL: 120 s).
const idTokenSkew = 2 * time.Minute

// idTokenFutureSkew is how far ahead of the local clock nbf and iat may be: MSAL Python
// 1.31 allows 5 minutes, so a sign-in on a slightly slow computer does not fail.
const idTokenFutureSkew = 5 * time.Minute

// jwksRefetchInterval rate-limits JWKS re-fetches triggered by unknown key ids, so a
// stream of forged tokens cannot make us hammer the provider.
const jwksRefetchInterval = 30 * time.Second

// maxIDTokenLen bounds what we hand to the JOSE parser.
const maxIDTokenLen = 64 << 10

// idTokenAlgorithms are the signature algorithms accepted in ID tokens; "none" and the
// HMAC family (keyed with the client secret, not the provider's key) are not.
var idTokenAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// parseIDToken parses a compact JWS ID token without verifying it.
func parseIDToken(raw string) (*jwt.JSONWebToken, map[string]any, error) {
	if len(raw) > maxIDTokenLen {
		return nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidIDToken, maxIDTokenLen)
	}
	tok, err := jwt.ParseSigned(raw, idTokenAlgorithms)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	var claims map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil || claims == nil {
		return nil, nil, fmt.Errorf("%w: claims are not a JSON object", ErrInvalidIDToken)
	}
	return tok, claims, nil
}

// decodeIDToken returns an ID token's claims without checking its signature: what MSAL
// does for Entra, whose ID tokens come straight from the token endpoint over TLS.
func decodeIDToken(raw string) (map[string]any, error) {
	_, claims, err := parseIDToken(raw)
	return claims, err
}

// idTokenCheck is what an ID token must satisfy.
type idTokenCheck struct {
	clientID string
	issuer   string // "" skips the iss check (Entra: its discovery issuer is a template)
	nonce    string // "" skips
	maxAge   *time.Duration
	now      time.Time
}

// numClaim reads a NumericDate claim.
func numClaim(claims map[string]any, name string) (int64, bool) {
	f, ok := claims[name].(float64)
	if !ok || math.IsNaN(f) || f < 0 || f > math.MaxInt64/2 {
		return 0, false
	}
	return int64(f), true
}

// checkIDTokenClaims applies OpenID Connect Core §3.1.3.7's claim checks.
func checkIDTokenClaims(claims map[string]any, c idTokenCheck) error {
	now := c.now.Unix()
	skew := int64(idTokenSkew / time.Second)
	if c.issuer != "" && str(claims["iss"]) != c.issuer {
		return fmt.Errorf("%w: ID token issuer %q is not %q", ErrIssuerMismatch, str(claims["iss"]), c.issuer)
	}
	audOK := false
	switch aud := claims["aud"].(type) {
	case string:
		audOK = aud == c.clientID
	case []any:
		for _, x := range aud {
			audOK = audOK || str(x) == c.clientID
		}
	}
	if !audOK {
		return fmt.Errorf("%w: audience is not this client", ErrInvalidIDToken)
	}
	exp, ok := numClaim(claims, "exp")
	if !ok {
		return fmt.Errorf("%w: no exp", ErrInvalidIDToken)
	}
	if now-skew > exp {
		return fmt.Errorf("%w: expired (check the computer's clock)", ErrInvalidIDToken)
	}
	future := int64(idTokenFutureSkew / time.Second)
	if nbf, ok := numClaim(claims, "nbf"); ok && now+future < nbf {
		return fmt.Errorf("%w: not valid yet (check the computer's clock)", ErrInvalidIDToken)
	}
	if iat, ok := numClaim(claims, "iat"); ok && now+future < iat {
		return fmt.Errorf("%w: issued in the future (check the computer's clock)", ErrInvalidIDToken)
	}
	if c.nonce != "" && str(claims["nonce"]) != c.nonce {
		return ErrNonceMismatch
	}
	if c.maxAge != nil {
		at, ok := numClaim(claims, "auth_time")
		if !ok {
			return fmt.Errorf("%w: max_age was requested but the ID token has no auth_time", ErrInvalidIDToken)
		}
		if now-skew > at+int64(*c.maxAge/time.Second) {
			return fmt.Errorf("%w: the last sign-in is older than max_age", ErrInvalidIDToken)
		}
	}
	return nil
}

// jwksState is the cached key set of one jwks_uri.
type jwksState struct {
	mu          sync.Mutex
	keys        *jose.JSONWebKeySet
	lastRefetch time.Time // last fetch caused by an unknown key
}

// jwksFor returns the state of uri, creating it.
func (w *transport) jwksFor(uri string) *jwksState {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.jwks[uri]
	if !ok {
		s = &jwksState{}
		w.jwks[uri] = s
	}
	return s
}

func (w *transport) fetchJWKS(ctx context.Context, uri string) (*jose.JSONWebKeySet, error) {
	hdr := make(map[string][]string)
	res, err := w.send(ctx, "GET", uri, nil, hdr)
	if err != nil {
		return nil, err
	}
	if res.status != 200 {
		return nil, parseErrorResponse(res, w.cfg.now())
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(res.body, &set); err != nil {
		return nil, &Error{StatusCode: res.status, Err: fmt.Errorf("%w: JWKS: %v", ErrMalformedResponse, err)}
	}
	return &set, nil
}

// candidateKeys returns the signing keys of set that may have signed tok.
func candidateKeys(set *jose.JSONWebKeySet, kid string) []jose.JSONWebKey {
	if set == nil {
		return nil
	}
	var out []jose.JSONWebKey
	for _, k := range set.Keys {
		if (kid == "" || k.KeyID == kid) && (k.Use == "" || k.Use == "sig") && k.IsPublic() {
			out = append(out, k)
		}
	}
	return out
}

// verifyIDToken checks an OIDC provider's ID token signature against its JWKS,
// re-fetching the set once (rate-limited) when the key id is unknown, as after a
// provider's key rotation. It returns the verified claims.
func (w *transport) verifyIDToken(ctx context.Context, jwksURI, raw string) (map[string]any, error) {
	tok, _, err := parseIDToken(raw)
	if err != nil {
		return nil, err
	}
	if jwksURI == "" {
		return nil, fmt.Errorf("%w: the provider publishes no jwks_uri to verify it with", ErrInvalidIDToken)
	}
	kid := tok.Headers[0].KeyID
	st := w.jwksFor(jwksURI)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.keys == nil {
		set, err := w.fetchJWKS(ctx, jwksURI)
		if err != nil {
			return nil, err
		}
		st.keys = set
	}
	try := func() (map[string]any, bool) {
		for _, k := range candidateKeys(st.keys, kid) {
			var claims map[string]any
			if err := tok.Claims(k, &claims); err == nil && claims != nil {
				return claims, true
			}
		}
		return nil, false
	}
	if claims, ok := try(); ok {
		return claims, nil
	}
	now := w.cfg.now()
	if !st.lastRefetch.IsZero() && now.Sub(st.lastRefetch) < jwksRefetchInterval {
		return nil, fmt.Errorf("%w: signed by an unknown key", ErrInvalidIDToken)
	}
	st.lastRefetch = now
	w.cfg.logger.Debug("identity: ID token key not in JWKS, re-fetching", "jwks_uri", jwksURI, "kid", kid)
	set, err := w.fetchJWKS(ctx, jwksURI)
	if err != nil {
		return nil, err
	}
	st.keys = set
	if claims, ok := try(); ok {
		return claims, nil
	}
	return nil, fmt.Errorf("%w: signature does not verify with the provider's keys", ErrInvalidIDToken)
}

// checkIDToken decodes (Entra, B2C, CIAM, AD FS) or verifies (OIDC) raw and checks its
// claims. It is what redeem runs on every ID token it receives.
func (a *ClientApplication) checkIDToken(ctx context.Context, info *authorityInfo, raw, nonce string, maxAge *time.Duration) (map[string]any, error) {
	var claims map[string]any
	var err error
	check := idTokenCheck{clientID: a.clientID, nonce: nonce, maxAge: maxAge, now: a.now()}
	if info.Type == authorityTypeGeneric {
		claims, err = a.transport.verifyIDToken(ctx, info.JWKSURI, raw)
		check.issuer = info.Issuer
	} else {
		claims, err = decodeIDToken(raw)
	}
	if err != nil {
		return nil, err
	}
	if err := checkIDTokenClaims(claims, check); err != nil {
		return nil, err
	}
	return claims, nil
}
