package identity

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInteractionRequired is matched (errors.Is) by every error after which only a
// user interaction can get a token: nothing usable in the cache, or the authority
// refused the refresh token (invalid_grant, interaction_required, login_required,
// consent_required). AcquireTokenSilent folds both cases into it, as MSAL Python's
// acquire_token_silent folds them into None.
var ErrInteractionRequired = errors.New("identity: user interaction required")

// ErrNoAccount is returned by silent acquisition when no account was given.
var ErrNoAccount = errors.New("identity: an account is required")

// ErrBrowserUnavailable is returned by AcquireTokenInteractive when no browser could
// be opened; the wrapping *BrowserError carries the sign-in URL.
var ErrBrowserUnavailable = errors.New("identity: no browser could be opened")

// Error is an error answered by an authority (or a local check of its answer). It keeps
// everything the server said so a UI can show it and a support engineer can trace it.
// It never holds a token, code or secret.
type Error struct {
	// StatusCode is the HTTP status of the response, 0 for local checks.
	StatusCode int
	// Code is the OAuth 2.0 "error" value (RFC 6749 §5.2), such as "invalid_grant".
	Code string
	// Description is "error_description".
	Description string
	// Codes are Entra's numeric "error_codes" (AADSTS…).
	Codes []int
	// CorrelationID and TraceID identify the request at the authority.
	CorrelationID string
	TraceID       string
	// Timestamp is the server's "timestamp" field, verbatim.
	Timestamp string
	// Claims is a claims challenge the caller may pass back (claims_challenge).
	Claims string
	// Classification is Entra's "suberror" (basic_action, consent_required, …).
	Classification string
	// RetryAfter is how long the authority asked us to wait (429/5xx), when it said.
	RetryAfter time.Duration
	// Err is a local cause, when there is one.
	Err error
}

// interactionCodes are the OAuth error values after which only the user can help.
var interactionCodes = map[string]bool{
	"invalid_grant":        true,
	"interaction_required": true,
	"login_required":       true,
	"consent_required":     true,
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("identity: ")
	if e.Code != "" {
		b.WriteString(e.Code)
	} else if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	} else {
		b.WriteString("error")
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlation id ")
		b.WriteString(e.CorrelationID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the local cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether e is one of the package's sentinels.
func (e *Error) Is(target error) bool {
	return target == ErrInteractionRequired && interactionCodes[e.Code]
}
