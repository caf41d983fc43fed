package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseErrorResponse turns a non-2xx answer (or a 2xx carrying "error") into an *Error
// with everything the server said (RFC 6749 §5.2 plus Entra's fields). A body that is
// not an OAuth error (an HTML page, a proxy's text) still gives a typed *Error.
func parseErrorResponse(res *httpResponse, now time.Time) *Error {
	e := &Error{StatusCode: res.status}
	if res.throttled {
		e.RetryAfter = max(res.wait, 0)
		e.Err = ErrThrottled
	} else if d, ok := parseRetryAfter(res.header, now); ok {
		e.RetryAfter = d
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		cause := fmt.Errorf("%w: HTTP %d with a non-JSON body (%s)", ErrMalformedResponse, res.status, res.header.Get("Content-Type"))
		if e.Err == nil {
			e.Err = cause
		}
		return e
	}
	e.Code = str(m["error"])
	e.Description = str(m["error_description"])
	e.Timestamp = str(m["timestamp"])
	e.TraceID = str(m["trace_id"])
	e.CorrelationID = str(m["correlation_id"])
	e.Claims = str(m["claims"])
	e.Classification = str(m["suberror"])
	if codes, ok := m["error_codes"].([]any); ok {
		for _, c := range codes {
			if n, ok := toInt64(c); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
				e.Codes = append(e.Codes, int(n))
			}
		}
	}
	if e.CorrelationID == "" {
		e.CorrelationID = res.header.Get("client-request-id")
	}
	if e.Code == "" && e.Err == nil {
		e.Err = fmt.Errorf("%w: HTTP %d without an OAuth error", ErrMalformedResponse, res.status)
	}
	return e
}

// str returns v as a string when it is one (JSON strings only).
func str(v any) string {
	s, _ := v.(string)
	return s
}

// toInt64 reads a JSON number or a numeric string (some servers send "3599").
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		if f, err := x.Float64(); err == nil && f >= math.MinInt64 && f <= math.MaxInt64 {
			return int64(f), true
		}
	case float64:
		if x >= math.MinInt64 && x <= math.MaxInt64 {
			return int64(x), true
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// knownTokenFields are the response fields tokenResponse has a place for.
var knownTokenFields = map[string]bool{
	"access_token": true, "token_type": true, "refresh_token": true, "id_token": true,
	"scope": true, "expires_in": true, "ext_expires_in": true, "refresh_in": true,
	"foci": true, "client_info": true,
}

// successObject returns the JSON object of a 2xx answer; an error status, a non-object
// body or an "error" member (some servers answer errors with 200) give an *Error.
func successObject(res *httpResponse, now time.Time, what string) (map[string]any, error) {
	if res.status < 200 || res.status > 299 {
		return nil, parseErrorResponse(res, now)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, &Error{StatusCode: res.status, Err: fmt.Errorf("%w: %s is not a JSON object", ErrMalformedResponse, what)}
	}
	if _, isErr := m["error"]; isErr {
		return nil, parseErrorResponse(res, now)
	}
	return m, nil
}

// parseTokenResponse reads a token endpoint answer. Errors are *Error values; the ID
// token is not decoded here (that needs the authority: see checkIDToken).
func parseTokenResponse(res *httpResponse, now time.Time) (*tokenResponse, error) {
	m, err := successObject(res, now, "token response")
	if err != nil {
		return nil, err
	}
	tr := &tokenResponse{
		AccessToken:  str(m["access_token"]),
		TokenType:    str(m["token_type"]),
		RefreshToken: str(m["refresh_token"]),
		IDToken:      str(m["id_token"]),
		Scope:        str(m["scope"]),
		FamilyID:     str(m["foci"]),
		ReceivedAt:   now,
	}
	if tr.AccessToken == "" {
		return nil, &Error{StatusCode: res.status, Err: fmt.Errorf("%w: token response has no access_token", ErrMalformedResponse)}
	}
	if tr.TokenType == "" {
		tr.TokenType = "Bearer"
	}
	for field, dst := range map[string]*int64{"expires_in": &tr.ExpiresIn, "ext_expires_in": &tr.ExtExpiresIn, "refresh_in": &tr.RefreshIn} {
		if v, ok := m[field]; ok {
			n, ok := toInt64(v)
			if !ok || n < 0 || n > 10*365*24*3600 {
				return nil, &Error{StatusCode: res.status, Err: fmt.Errorf("%w: %s is not a number of seconds", ErrMalformedResponse, field)}
			}
			*dst = n
		}
	}
	if ci := str(m["client_info"]); ci != "" {
		info, err := decodeClientInfo(ci)
		if err != nil {
			return nil, &Error{StatusCode: res.status, Err: err}
		}
		tr.ClientInfo = info
	}
	for k, v := range m {
		if !knownTokenFields[k] {
			if tr.Extra == nil {
				tr.Extra = make(map[string]any)
			}
			tr.Extra[k] = v
		}
	}
	return tr, nil
}

// decodeClientInfo decodes Entra's client_info: base64url JSON {"uid","utid"}.
func decodeClientInfo(s string) (*clientInfo, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("%w: client_info is not base64url", ErrMalformedResponse)
	}
	var ci clientInfo
	if err := json.Unmarshal(raw, &ci); err != nil {
		return nil, fmt.Errorf("%w: client_info is not JSON", ErrMalformedResponse)
	}
	return &ci, nil
}
