package identity

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestDeviceFlowsThrottleApart: a Retry-After on one device flow's poll must not hold
// back another flow of the same app. MSAL Python keys its throttle by the request's
// "account" (refresh token, code or username), and its polls carry the device code as
// "code", so each flow has its own key.
func TestDeviceFlowsThrottleApart(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	f.token = func(w http.ResponseWriter, r *http.Request, form url.Values) {
		if form.Get("device_code") == "DC-A" {
			w.Header().Set("Retry-After", "30")
			writeJSON(w, 429, map[string]any{"error": "temporarily_unavailable"})
			return
		}
		f.success(w, r, form)
	}
	c := loopbackPublic(t, f)
	c.transport.pause = pauseFunc(func(context.Context, time.Duration) error { return nil })
	flow := func(code string) *DeviceFlow {
		return &DeviceFlow{DeviceCode: code, UserCode: "UC", Interval: time.Second, ExpiresAt: time.Now().Add(time.Hour),
			Scopes: []string{"User.Read"}}
	}
	var e *Error
	if _, err := c.AcquireTokenByDeviceFlow(ctx, flow("DC-A")); !errors.As(err, &e) || e.StatusCode != 429 {
		t.Fatalf("flow A: err = %v, want the 429", err)
	}
	// The same flow again is answered from the throttle, without a request.
	if _, err := c.AcquireTokenByDeviceFlow(ctx, flow("DC-A")); !errors.Is(err, ErrThrottled) {
		t.Fatalf("flow A again: err = %v, want ErrThrottled", err)
	}
	if n := f.count(tenantTokenPath); n != 1 {
		t.Fatalf("%d polls reached the server, want 1", n)
	}
	if _, err := c.AcquireTokenByDeviceFlow(ctx, flow("DC-B")); err != nil {
		t.Fatalf("flow B was held back by flow A's throttle: %v", err)
	}
}
