package usecase

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// SignInOptions tune an interactive sign-in.
type SignInOptions struct {
	// LoginHint pre-fills the username at the sign-in page.
	LoginHint string
	// Scopes to consent to at sign-in. Empty means the profile's SignInScopes; when
	// those are empty too, its FavouriteScopes for an OpenID Connect profile and none for Entra
	// (an Entra request may name one resource only, and the refresh token then serves
	// every resource silently).
	Scopes []string
	// AddScopes, when set, are asked for on top of the profile's scopes (incremental
	// consent, as SignInForScopes does); Scopes is then ignored.
	AddScopes []string
	// Claims is a claims challenge to send (from SignInNeededError.Claims).
	Claims string
	// Prompt is sent as prompt= (identity.PromptSelectAccount, ...); empty sends none.
	Prompt string
	// OnAuthURL, when set, receives the sign-in URL before the browser is opened, so a
	// UI can offer "Copy sign-in link" and a CLI can print it.
	OnAuthURL func(authURL string)
	// Opener overrides Deps.Opener for this call.
	Opener Opener
}

// SignIn signs a user in through the system browser and the loopback redirect
// listener, for the named profile (empty: the first profile), and returns the new
// account. Cancel ctx to abandon the sign-in (the listener closes). When no browser can
// be opened the error matches identity.ErrBrowserUnavailable: offer
// SignInWithDeviceCode instead.
func (d *Desk) SignIn(ctx context.Context, profile string, opts SignInOptions) (AccountView, error) {
	p, c, err := d.profileClient(ctx, profile)
	if err != nil {
		return AccountView{}, err
	}
	opener := opts.Opener
	if opener == nil {
		opener = d.deps.Opener
	}
	scopes := signInScopes(p, opts.Scopes)
	if len(opts.AddScopes) > 0 {
		scopes = consentScopes(p, opts.AddScopes)
	}
	res, err := c.interactive(ctx, scopes, opts, opener)
	if err != nil {
		return AccountView{}, fmt.Errorf("usecase: sign in with %s: %w", p.Name, err)
	}
	return d.signedIn(ctx, p, res)
}

// DeviceCodeOptions tune a device-code sign-in.
type DeviceCodeOptions struct {
	// Scopes as in SignInOptions.
	Scopes []string
	// AddScopes as in SignInOptions.
	AddScopes []string
	// OnCode receives the code and link to show the user; required.
	OnCode func(DeviceCode)
}

// SignInWithDeviceCode signs a user in with the device authorization grant (RFC 8628):
// the user types a code at a link on any device. It returns when the user finished,
// the code expired, or ctx was cancelled.
func (d *Desk) SignInWithDeviceCode(ctx context.Context, profile string, opts DeviceCodeOptions) (AccountView, error) {
	if opts.OnCode == nil {
		return AccountView{}, errors.New("usecase: DeviceCodeOptions.OnCode is required")
	}
	p, c, err := d.profileClient(ctx, profile)
	if err != nil {
		return AccountView{}, err
	}
	scopes := signInScopes(p, opts.Scopes)
	if len(opts.AddScopes) > 0 {
		scopes = consentScopes(p, opts.AddScopes)
	}
	res, err := c.deviceCode(ctx, scopes, opts.OnCode)
	if err != nil {
		return AccountView{}, fmt.Errorf("usecase: device-code sign in with %s: %w", p.Name, err)
	}
	return d.signedIn(ctx, p, res)
}

// signedIn turns a sign-in result into the new account's view and tells subscribers.
func (d *Desk) signedIn(ctx context.Context, p profile.Profile, res identity.Result) (AccountView, error) {
	if res.Account.IsZero() {
		return AccountView{}, errors.New("usecase: the authority returned no account (no ID token?)")
	}
	d.markRefused(ctx, res.Account, false)
	n, _ := d.recordUserinfo(ctx, p, res)
	v := d.view(res.Account, p, n)
	v.Status = StatusValid
	v.ExpiresOn = res.ExpiresOn
	d.changed()
	return v, nil
}

// profileClient returns the named profile (empty: the first) and its client.
func (d *Desk) profileClient(ctx context.Context, name string) (profile.Profile, client, error) {
	s, err := d.settings(ctx)
	if err != nil {
		return profile.Profile{}, nil, err
	}
	var p profile.Profile
	switch {
	case name == "" && len(s.Profiles) > 0:
		p = s.Profiles[0]
	case name == "":
		return profile.Profile{}, nil, fmt.Errorf("%w: no profile is configured", ErrNoProfile)
	default:
		var ok bool
		if p, ok = s.profile(name); !ok {
			return profile.Profile{}, nil, fmt.Errorf("%w: %q", ErrNoProfile, name)
		}
	}
	c, err := d.clientFor(p)
	if err != nil {
		return profile.Profile{}, nil, err
	}
	return p, c, nil
}

// signInScopes picks the scopes of a sign-in request, without the reserved ones
// (identity adds openid, profile and offline_access itself and refuses them from callers).
func signInScopes(p profile.Profile, asked []string) []string {
	s := cleanScopes(asked)
	if len(s) == 0 {
		s = cleanScopes(p.SignInScopes)
	}
	if len(s) == 0 && p.IsOIDC() {
		s = cleanScopes(p.FavouriteScopes)
	}
	out := s[:0]
	for _, sc := range s {
		if !reservedScope(sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// reservedScope reports scopes identity adds by itself and refuses from callers.
func reservedScope(s string) bool {
	switch strings.ToLower(s) {
	case "openid", "profile", "offline_access":
		return true
	}
	return false
}
