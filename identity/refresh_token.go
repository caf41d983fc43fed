package identity

import (
	"context"
	"net/url"
	"strings"
)

// checkGrantScopes rejects the reserved scopes, as MSAL does: they are added on the
// wire, and asking for them by hand is a sign of a misunderstanding.
func checkGrantScopes(scopes []string) error {
	for _, s := range scopes {
		if isReservedScope(strings.ToLower(strings.TrimSpace(s))) {
			return &Error{Err: errReservedScopes}
		}
	}
	return nil
}

// grantStart does what every grant redeeming a caller-given value begins with: the
// value must not be empty, the scopes must not be reserved, and the authority (or
// override) is resolved.
func (a *ClientApplication) grantStart(ctx context.Context, value, what string, scopes []string, authority string) (*authorityInfo, error) {
	if value == "" {
		return nil, localError(nil, "the %s is empty", what)
	}
	if err := checkGrantScopes(scopes); err != nil {
		return nil, err
	}
	return a.resolveAuthority(ctx, authority)
}

// AcquireTokenByRefreshToken redeems a refresh token obtained elsewhere and stores the
// new tokens, refresh token included (MSAL: acquire_token_by_refresh_token, for
// migrating into the cache). It reads WithClaimsChallenge and WithRequestAuthority.
func (a *ClientApplication) AcquireTokenByRefreshToken(ctx context.Context, refreshToken string, scopes []string, opts ...CallOption) (Result, error) {
	cc := applyCallOptions(opts)
	info, err := a.grantStart(ctx, refreshToken, "refresh token", scopes, cc.authority)
	if err != nil {
		return Result{}, err
	}
	form := url.Values{}
	form.Set("grant_type", "refresh_token")
	form.Set("refresh_token", refreshToken)
	req := tokenRequest{authority: info, apiID: APIAcquireTokenByRefreshToken, form: form,
		scopes: scopes, claims: cc.claimsChallenge}
	return a.redeemAndStore(ctx, req, storeParams{})
}
