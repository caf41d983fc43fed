package usecase

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
)

// TokenInTenant is Token for another tenant than the account's own (a guest account,
// or Azure tools' --tenant), silently: the account's refresh token is redeemed at the
// tenant's authority of the same cloud. An empty tenant, or the account's own, is
// Token. Only Microsoft Entra accounts have tenants.
func (d *Desk) TokenInTenant(ctx context.Context, accountKey string, scopes []string, tenant string) (identity.Result, error) {
	tenant = strings.TrimSpace(tenant)
	if tenant == "" {
		return d.Token(ctx, accountKey, scopes, false)
	}
	if strings.ContainsAny(tenant, "/?#@ \t") {
		return identity.Result{}, fmt.Errorf("usecase: %q is not a tenant id or domain", tenant)
	}
	s, acc, _, err := d.lookup(ctx, accountKey)
	if err != nil {
		return identity.Result{}, err
	}
	p, _ := s.profile(acc.Profile)
	if p.IsOIDC() {
		return identity.Result{}, fmt.Errorf("usecase: %s signs in at an OpenID Connect issuer, which has no tenants", acc.DisplayName)
	}
	_, home, _ := strings.Cut(acc.Account.HomeAccountID, ".")
	if strings.EqualFold(tenant, home) || strings.EqualFold(tenant, acc.Account.Realm) {
		return d.Token(ctx, accountKey, scopes, false)
	}
	u, err := url.Parse(p.Authority)
	if err != nil || u.Host == "" {
		return identity.Result{}, fmt.Errorf("usecase: profile %q has no usable authority", p.Name)
	}
	return d.token(ctx, accountKey, scopes, identity.WithRequestAuthority(u.Scheme+"://"+u.Host+"/"+tenant))
}
