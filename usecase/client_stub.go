//go:build !tokendesk_identity

package usecase

// TEMPORARY: identity's cache, wire and interactive layers are being written in
// parallel. Until they land, this stub keeps usecase (and ui, cli) compiling; every
// identity operation fails with ErrIdentityUnavailable. client_identity.go holds the
// real adapter (build tag tokendesk_identity); the tag and this file go away when
// identity is complete.

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokendesk/tokendesk/identity"
)

type stubClient struct{}

func newClient(p Profile, deps Deps, hc *http.Client, log *slog.Logger, now func() time.Time) (client, error) {
	return stubClient{}, nil
}

func (stubClient) Accounts(ctx context.Context, username string) ([]identity.Account, error) {
	return nil, ErrIdentityUnavailable
}

func (stubClient) AcquireTokenSilentWithError(ctx context.Context, scopes []string, account identity.Account, opts ...identity.CallOption) (identity.Result, error) {
	return identity.Result{}, ErrIdentityUnavailable
}

func (stubClient) RemoveAccount(ctx context.Context, account identity.Account) error {
	return ErrIdentityUnavailable
}

func (stubClient) interactive(ctx context.Context, scopes []string, o SignInOptions, opener Opener) (identity.Result, error) {
	return identity.Result{}, ErrIdentityUnavailable
}

func (stubClient) deviceCode(ctx context.Context, scopes []string, onCode func(DeviceCode)) (identity.Result, error) {
	return identity.Result{}, ErrIdentityUnavailable
}

func inspectCache(c *identity.TokenCache) (map[string]tokenState, error) {
	return nil, ErrIdentityUnavailable
}
