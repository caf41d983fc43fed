package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Device flow defaults (RFC 8628 §3.2 and MSAL).
const (
	deviceDefaultInterval  = 5 * time.Second
	deviceSlowDownStep     = 5 * time.Second
	deviceDefaultExpiresIn = 1800
	deviceMaxInterval      = 60 * time.Second
)

// DeviceFlow is a device authorization grant in progress (RFC 8628; MSAL's flow dict).
// Show Message (or UserCode and VerificationURI) to the user, then call
// AcquireTokenByDeviceFlow, which polls until the user approves, refuses, or the code
// expires.
type DeviceFlow struct {
	// DeviceCode identifies the flow at the authority; keep it private.
	DeviceCode string
	// UserCode is what the user types at VerificationURI.
	UserCode string
	// VerificationURI is where the user goes.
	VerificationURI string
	// VerificationURIComplete, when the authority sends one, embeds the user code.
	VerificationURIComplete string
	// Message is the authority's instruction for the user (Entra sends one).
	Message string
	// ExpiresAt is when the device code stops working.
	ExpiresAt time.Time
	// Interval is the minimum wait between polls (5 s when the authority says nothing).
	Interval time.Duration
	// Scopes are the caller's scopes.
	Scopes []string

	authority     string
	correlationID string
	claims        string
}

// InitiateDeviceFlow starts a device code flow (MSAL: initiate_device_flow). It reads
// WithClaimsChallenge and WithRequestAuthority.
func (p *PublicClient) InitiateDeviceFlow(ctx context.Context, scopes []string, opts ...CallOption) (*DeviceFlow, error) {
	a := p.ClientApplication
	cc := applyCallOptions(opts)
	if err := checkGrantScopes(scopes); err != nil {
		return nil, err
	}
	info, err := a.resolveAuthority(ctx, cc.authority)
	if err != nil {
		return nil, err
	}
	if info.DeviceCodeEndpoint == "" {
		return nil, localError(nil, "the authority offers no device authorization endpoint")
	}
	form := url.Values{}
	form.Set("client_id", a.clientID)
	form.Set("scope", strings.Join(decorateScopes(scopes, a.cfg.excludeScopes), " "))
	cid := newCorrelationID()
	hdr := http.Header{}
	hdr.Set("client-request-id", cid)
	res, err := a.transport.send(ctx, http.MethodPost, info.DeviceCodeEndpoint, form, hdr)
	if err != nil {
		return nil, err
	}
	flow, err := parseDeviceFlow(res, a.now())
	if err != nil {
		return nil, asError(err, cid)
	}
	flow.Scopes = append([]string(nil), scopes...)
	flow.authority = cc.authority
	flow.correlationID = cid
	flow.claims = cc.claimsChallenge
	return flow, nil
}

// parseDeviceFlow reads a device authorization response.
func parseDeviceFlow(res *httpResponse, now time.Time) (*DeviceFlow, error) {
	m, err := successObject(res, now, "device authorization response")
	if err != nil {
		return nil, err
	}
	f := &DeviceFlow{
		DeviceCode:              str(m["device_code"]),
		UserCode:                str(m["user_code"]),
		VerificationURI:         firstNonEmpty(str(m["verification_uri"]), str(m["verification_url"])),
		VerificationURIComplete: str(m["verification_uri_complete"]),
		Message:                 str(m["message"]),
		Interval:                deviceDefaultInterval,
	}
	if f.DeviceCode == "" || f.UserCode == "" || f.VerificationURI == "" {
		return nil, &Error{StatusCode: res.status, Err: fmt.Errorf("%w: device authorization response lacks device_code, user_code or verification_uri", ErrMalformedResponse)}
	}
	if v, ok := m["interval"]; ok {
		// Some providers send a string; an absurd value must not stall us.
		if n, ok := toInt64(v); ok && n > 0 {
			f.Interval = min(time.Duration(n)*time.Second, deviceMaxInterval)
		}
	}
	expiresIn := int64(deviceDefaultExpiresIn)
	if v, ok := m["expires_in"]; ok {
		if n, ok := toInt64(v); ok && n > 0 && n < 24*3600 {
			expiresIn = n
		}
	}
	f.ExpiresAt = now.Add(time.Duration(expiresIn) * time.Second)
	if f.Message == "" {
		f.Message = fmt.Sprintf("To sign in, open %s and enter the code %s.", f.VerificationURI, f.UserCode)
	}
	return f, nil
}

// AcquireTokenByDeviceFlow polls the token endpoint until the user approves the flow
// (MSAL: acquire_token_by_device_flow): authorization_pending waits Interval,
// slow_down adds five seconds to it, and the flow ends with the tokens, the
// authority's refusal (*Error such as access_denied or expired_token), ErrDeviceFlowExpired
// once ExpiresAt has passed, or the context's error when ctx is cancelled. It reads
// WithClaimsChallenge (overriding InitiateDeviceFlow's).
func (p *PublicClient) AcquireTokenByDeviceFlow(ctx context.Context, flow *DeviceFlow, opts ...CallOption) (Result, error) {
	a := p.ClientApplication
	cc := applyCallOptions(opts)
	if flow == nil || flow.DeviceCode == "" {
		return Result{}, localError(nil, "the device flow has no device code (was it started with InitiateDeviceFlow?)")
	}
	info, err := a.resolveAuthority(ctx, flow.authority)
	if err != nil {
		return Result{}, err
	}
	claims := flow.claims
	if cc.claimsChallenge != "" {
		claims = cc.claimsChallenge
	}
	if flow.correlationID != "" {
		ctx = withCorrelationID(ctx, flow.correlationID)
	}
	interval := flow.Interval
	if interval <= 0 {
		interval = deviceDefaultInterval
	}
	form := url.Values{}
	form.Set("grant_type", deviceCodeGrant)
	form.Set("device_code", flow.DeviceCode)
	// No scope on the poll, as MSAL: the device code already carries it.
	req := tokenRequest{authority: info, apiID: APIAcquireTokenByDeviceFlow, form: form, claims: claims}
	sp := storeParams{requestedScopes: flow.Scopes}
	for {
		if !flow.ExpiresAt.IsZero() && !a.now().Before(flow.ExpiresAt) {
			return Result{}, localError(ErrDeviceFlowExpired, "the user did not approve the sign-in in time")
		}
		res, err := a.redeemAndStore(ctx, req, sp)
		var e *Error
		if err == nil || !errors.As(err, &e) {
			return res, err
		}
		switch e.Code {
		case "authorization_pending":
		case "slow_down":
			interval = min(interval+deviceSlowDownStep, deviceMaxInterval)
		default:
			return Result{}, err
		}
		wait := interval
		if !flow.ExpiresAt.IsZero() {
			wait = min(wait, max(flow.ExpiresAt.Sub(a.now()), 0))
		}
		if err := a.transport.pause.wait(ctx, wait); err != nil {
			return Result{}, &Error{Err: err, CorrelationID: flow.correlationID}
		}
	}
}
