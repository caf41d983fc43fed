package usecase

import (
	"context"
	"time"

	"github.com/tokendesk/tokendesk/identity"
)

// client is the part of identity.PublicClient the use cases need, plus the cache
// inspection the account status comes from. client_identity.go adapts the real one.
type client interface {
	Accounts(ctx context.Context, username string) (identity.AccountList, error)
	AcquireTokenSilentWithError(ctx context.Context, scopes []string, account identity.Account, opts ...identity.CallOption) (identity.Result, error)
	RemoveAccount(ctx context.Context, account identity.Account) error
	interactive(ctx context.Context, scopes []string, o SignInOptions, opener Opener) (identity.Result, error)
	deviceCode(ctx context.Context, scopes []string, onCode func(DeviceCode)) (identity.Result, error)
}

// DeviceCode is what the user needs to finish a device-code sign-in on another device.
type DeviceCode struct {
	// UserCode is typed by the user at VerificationURI.
	UserCode string
	// VerificationURI is where to type it.
	VerificationURI string
	// VerificationURIComplete, when the authority sent one, already carries the code.
	VerificationURIComplete string
	// Message is the authority's own instruction text.
	Message string
	// ExpiresAt is when the code stops working.
	ExpiresAt time.Time
}

// tokenState is what the cache holds for one account: the basis of its Status.
type tokenState struct {
	// latestExpiry is the expiry of the account's longest-lived access token.
	latestExpiry time.Time
	// hasRefresh tells whether a refresh token is cached.
	hasRefresh bool
}

// cacheSummary is what the cache holds, read without any network.
type cacheSummary struct {
	// accounts counts Account entries; none means no identity call is needed to list.
	accounts int
	// states are per AccountKey.
	states map[string]tokenState
}
