package loopback

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
)

// MaxQueryBytes bounds the query string (GET) or form body (POST) of a redirect. Real
// authorization responses are a few hundred bytes; anything far larger is abuse.
const MaxQueryBytes = 16 << 10

// Response is the authorization response the browser delivered to the redirect URI
// (RFC 6749 §4.1.2, and §4.1.2.1 for errors). It is either a success (Code set) or an
// error (Error set), never both.
//
// Response deliberately does not print its code: String, GoString and LogValue redact
// it, so a Response that ends up in a log line or a %v leaks nothing.
type Response struct {
	// Code is the authorization code. Treat it as a secret.
	Code string
	// State echoes the request's state; Wait has already compared it.
	State string
	// Issuer is the RFC 9207 "iss" parameter, when the authority sent one.
	Issuer string
	// Error, ErrorDescription and ErrorURI are the error response's fields.
	Error            string
	ErrorDescription string
	ErrorURI         string
	// Values holds every parameter as received (including the above and extensions such
	// as Entra's client_info), ready for identity's AcquireTokenByAuthCodeFlow.
	Values url.Values
}

// Errors the parser answers with; all of them keep the wait going.
var (
	errNoCodeOrError = errors.New("loopback: request has neither code nor error")
	errCodeAndError  = errors.New("loopback: request has both code and error")
	errRepeatedParam = errors.New("loopback: a response parameter appears more than once")
	errTooLarge      = errors.New("loopback: query too large")
)

// singleValued are the parameters RFC 6749 §3.1 says must not repeat; a repeated one
// could make the client and the authority disagree on which value counts.
var singleValued = []string{"code", "state", "iss", "error", "error_description", "error_uri"}

// parseRedirect parses the raw query (or form body) of a redirect. It rejects what no
// honest authority sends: unparsable or oversized input, repeated response parameters,
// neither code nor error, or both.
func parseRedirect(raw string) (Response, error) {
	if len(raw) > MaxQueryBytes {
		return Response{}, errTooLarge
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return Response{}, fmt.Errorf("loopback: malformed query: %w", err)
	}
	return responseFromValues(v)
}

func responseFromValues(v url.Values) (Response, error) {
	for _, k := range singleValued {
		if len(v[k]) > 1 {
			return Response{}, errRepeatedParam
		}
	}
	r := Response{
		Code:             v.Get("code"),
		State:            v.Get("state"),
		Issuer:           v.Get("iss"),
		Error:            v.Get("error"),
		ErrorDescription: v.Get("error_description"),
		ErrorURI:         v.Get("error_uri"),
		Values:           v,
	}
	switch {
	case r.Code == "" && r.Error == "":
		return Response{}, errNoCodeOrError
	case r.Code != "" && r.Error != "":
		return Response{}, errCodeAndError
	}
	return r, nil
}

// String describes r without its code.
func (r Response) String() string {
	if r.Error != "" {
		return fmt.Sprintf("loopback.Response{Error: %q, ErrorDescription: %q}", r.Error, r.ErrorDescription)
	}
	return fmt.Sprintf("loopback.Response{Code: [redacted], Issuer: %q}", r.Issuer)
}

// GoString keeps %#v from printing the code.
func (r Response) GoString() string { return r.String() }

// LogValue keeps slog from printing the code.
func (r Response) LogValue() slog.Value {
	if r.Error != "" {
		return slog.GroupValue(slog.String("error", r.Error), slog.String("error_description", r.ErrorDescription))
	}
	return slog.GroupValue(slog.String("code", "[redacted]"), slog.String("iss", r.Issuer))
}
