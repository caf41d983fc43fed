package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// userRealm is Entra's /common/userrealm answer, the part we use.
type userRealm struct {
	AccountType string `json:"account_type"` // "Managed", "Federated", "Unknown"
	DomainName  string `json:"domain_name"`
}

// lookupUserRealm asks Entra whether username's domain is federated (MSAL:
// user_realm_discovery). A 404 means the cloud has no such endpoint: carry on.
func (a *ClientApplication) lookupUserRealm(ctx context.Context, info *authorityInfo, username string) (*userRealm, error) {
	spec := a.transport.spec
	endpoint := spec.scheme + "://" + info.Host + "/common/userrealm/" + url.PathEscape(username) + "?api-version=1.0"
	hdr := http.Header{}
	hdr.Set("client-request-id", newCorrelationID())
	res, err := a.transport.send(ctx, http.MethodGet, endpoint, nil, hdr)
	if err != nil {
		return nil, err
	}
	if res.status == http.StatusNotFound {
		return &userRealm{}, nil
	}
	if res.status != http.StatusOK {
		return nil, parseErrorResponse(res, a.now())
	}
	var ur userRealm
	if err := json.Unmarshal(res.body, &ur); err != nil {
		return nil, &Error{StatusCode: res.status, Err: fmt.Errorf("%w: user realm: %v", ErrMalformedResponse, err)}
	}
	return &ur, nil
}

// AcquireTokenByUsernamePassword signs in with a username and password (MSAL:
// acquire_token_by_username_password; the resource owner password grant). Entra users
// of federated domains cannot use it: their password is checked by the federation
// server (WS-Trust is not implemented), which gives ErrFederatedUser. It reads
// WithClaimsChallenge and WithRequestAuthority. Prefer an interactive or device flow.
func (a *ClientApplication) AcquireTokenByUsernamePassword(ctx context.Context, username, password string, scopes []string, opts ...CallOption) (Result, error) {
	cc := applyCallOptions(opts)
	if strings.TrimSpace(username) == "" || password == "" {
		return Result{}, localError(nil, "username and password are required")
	}
	if err := checkGrantScopes(scopes); err != nil {
		return Result{}, err
	}
	info, meta, err := a.resolve(ctx, cc.authority)
	if err != nil {
		return Result{}, err
	}
	if info.Type == authorityTypeMSSTS && meta.kind == kindEntra {
		ur, err := a.lookupUserRealm(ctx, info, username)
		if err != nil {
			return Result{}, err
		}
		if strings.EqualFold(ur.AccountType, "Federated") {
			return Result{}, localError(ErrFederatedUser, "the domain %s is federated: sign in interactively or with a device code", ur.DomainName)
		}
	}
	if a.cfg.piiLogging {
		a.log.DebugContext(ctx, "identity: username/password sign-in", "username", username)
	}
	ctx = withAnchorMailbox(ctx, "upn:"+username)
	form := url.Values{}
	form.Set("grant_type", "password")
	form.Set("username", username)
	form.Set("password", password)
	req := tokenRequest{authority: info, apiID: APIAcquireTokenByUsernamePassword, form: form,
		scopes: scopes, claims: cc.claimsChallenge}
	return a.redeemAndStore(ctx, req, storeParams{})
}
