package usecase

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// identityClient adapts *identity.PublicClient to client.
type identityClient struct {
	*identity.PublicClient
	redirectURI string
	port        int
}

func newClient(p profile.Profile, deps Deps, hc *http.Client, log *slog.Logger, now func() time.Time) (client, error) {
	opts := []identity.Option{
		identity.WithTokenCache(deps.Cache),
		identity.WithLogger(log),
		identity.WithClock(now),
		identity.WithAppName("Tokendesk"),
		// Short-lived tokens (zitadel's last 5 minutes) would never be served from the
		// cache under MSAL's fixed 5-minute margin: every call would refresh.
		identity.WithExpiryMargin(identity.ProportionalExpiryMargin),
	}
	if deps.HTTPClient != nil {
		opts = append(opts, identity.WithHTTPClient(deps.HTTPClient))
	} else if deps.RootCAs != nil {
		opts = append(opts, identity.WithTLSConfig(&tls.Config{RootCAs: deps.RootCAs}))
	}
	if p.IsOIDC() {
		opts = append(opts, identity.WithOIDCAuthority(p.Issuer))
	} else {
		opts = append(opts, identity.WithAuthority(p.Authority))
	}
	if p.SecretInKeyring {
		secret, err := profileSecret(deps.Secrets, p.Name)
		if err != nil {
			return nil, err
		}
		opts = append(opts, identity.WithInstalledAppSecret(secret))
	}
	opts = append(opts, deps.ClientOptions...)
	pc, err := identity.NewPublicClient(p.ClientID, opts...)
	if err != nil {
		return nil, fmt.Errorf("usecase: profile %q: %w", p.Name, err)
	}
	return &identityClient{PublicClient: pc, redirectURI: p.RedirectURI, port: p.Port}, nil
}

func (c *identityClient) interactive(ctx context.Context, scopes []string, o SignInOptions, opener Opener) (identity.Result, error) {
	var opts []identity.InteractiveOption
	if o.LoginHint != "" {
		opts = append(opts, identity.WithInteractiveLoginHint(o.LoginHint))
	}
	if o.Claims != "" {
		opts = append(opts, identity.WithInteractiveClaimsChallenge(o.Claims))
	}
	if o.Prompt != "" {
		opts = append(opts, identity.WithInteractivePrompt(o.Prompt))
	}
	if c.redirectURI != "" {
		opts = append(opts, identity.WithInteractiveRedirectURI(c.redirectURI))
	}
	if c.port != 0 {
		opts = append(opts, identity.WithPort(c.port))
	}
	if o.OnAuthURL != nil {
		opts = append(opts, identity.WithOnBeforeLaunchingUI(o.OnAuthURL))
	}
	if opener != nil {
		opts = append(opts, identity.WithOpener(opener))
	}
	return c.AcquireTokenInteractive(ctx, scopes, opts...)
}

func (c *identityClient) deviceCode(ctx context.Context, scopes []string, onCode func(DeviceCode)) (identity.Result, error) {
	flow, err := c.InitiateDeviceFlow(ctx, scopes)
	if err != nil {
		return identity.Result{}, err
	}
	onCode(DeviceCode{
		UserCode:                flow.UserCode,
		VerificationURI:         flow.VerificationURI,
		VerificationURIComplete: flow.VerificationURIComplete,
		Message:                 flow.Message,
		ExpiresAt:               flow.ExpiresAt,
	})
	return c.AcquireTokenByDeviceFlow(ctx, flow)
}

// inspectCache reads what the cache holds per account (by AccountKey) without any
// network: the account list shows a status for 1,000 accounts without 1,000 silent
// acquisitions. The cache brackets the read with its hook, so it sees what other
// processes wrote.
func inspectCache(ctx context.Context, c *identity.TokenCache) (cacheSummary, error) {
	states, accounts, err := c.TokenStates(ctx)
	if err != nil {
		return cacheSummary{}, err
	}
	out := make(map[string]tokenState, len(states))
	for _, st := range states {
		out[st.HomeAccountID+"-"+st.Environment] = tokenState{latestExpiry: st.LatestExpiry, hasRefresh: st.HasRefreshToken}
	}
	return cacheSummary{accounts: accounts, states: out}, nil
}
