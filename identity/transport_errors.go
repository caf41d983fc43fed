package identity

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinels of the transport. They arrive wrapped in an *Error (its Err), so callers
// test them with errors.Is and still get the status and correlation id with errors.As.
var (
	// ErrStateMismatch: the redirect's state is not the flow's (CSRF, or a stale tab).
	ErrStateMismatch = errors.New("identity: state mismatch")
	// ErrNonceMismatch: the ID token's nonce is not the one sent (replay).
	ErrNonceMismatch = errors.New("identity: nonce mismatch")
	// ErrIssuerMismatch: an issuer (discovery document, RFC 9207 iss parameter or ID
	// token iss) is not the configured authority's.
	ErrIssuerMismatch = errors.New("identity: issuer mismatch")
	// ErrInvalidIDToken: the ID token failed a check (signature, audience, expiry,
	// auth_time) or could not be decoded.
	ErrInvalidIDToken = errors.New("identity: invalid ID token")
	// ErrMalformedResponse: the authority's answer was not the JSON it should be.
	ErrMalformedResponse = errors.New("identity: malformed response")
	// ErrResponseTooLarge: the authority's answer exceeded the read limit.
	ErrResponseTooLarge = errors.New("identity: response too large")
	// ErrFederatedUser: username/password (ROPC) was asked for a federated Entra user,
	// whose password only the federation server can check.
	ErrFederatedUser = errors.New("identity: username/password sign-in is not supported for federated users")
	// ErrDeviceFlowExpired: the device code expired before the user approved it.
	ErrDeviceFlowExpired = errors.New("identity: device code expired")
	// ErrThrottled: the request was not sent, because the authority asked us to wait
	// (Retry-After) or answered the identical request with an error moments ago.
	ErrThrottled = errors.New("identity: throttled")
)

// localError is an *Error for a check done on our side.
func localError(cause error, format string, args ...any) *Error {
	return &Error{Description: fmt.Sprintf(format, args...), Err: cause}
}

// transportError wraps a failed round trip, adding the one hint users need most.
func transportError(method, endpoint string, err error) *Error {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		err = fmt.Errorf("%w (the server's certificate is not signed by a trusted CA; "+
			"add the CA to WithTLSConfig RootCAs)", err)
	}
	return &Error{Err: fmt.Errorf("%s %s: %w", method, redactURL(endpoint), err)}
}

// redactURL drops the query and a user realm path's username (personal data) and keeps
// the rest for logs and errors.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "/userrealm/"); i >= 0 {
		u = u[:i] + "/userrealm/(redacted)"
	}
	return u
}

// parseRetryAfter reads Retry-After (seconds or an HTTP date), capped at an hour as
// MSAL caps it. ok is false when the header is absent or unreadable.
func parseRetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			n = 0
		}
		d = time.Duration(min(n, 3600)) * time.Second
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		d = max(d, 0)
		return min(d, time.Hour), true
	}
	return 0, false
}
