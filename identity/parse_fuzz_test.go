package identity

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// Fuzz targets of the transport's parsers: any input gives a value or a typed error,
// never a panic. Seeds live in testdata/fuzz/<target>/.

func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"a","token_type":"Bearer","expires_in":3599,"refresh_token":"r","client_info":"eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ"}`))
	f.Add(400, []byte(`{"error":"invalid_grant","error_codes":[70000,1e99,-1],"claims":"{}","suberror":"bad_token"}`))
	f.Add(200, []byte(`{"access_token":"a","expires_in":"12","ext_expires_in":1.5e3}`))
	f.Add(503, []byte(`<html></html>`))
	f.Add(200, []byte(`null`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		res := &httpResponse{status: status, header: http.Header{"Retry-After": {"5"}}, body: body}
		tr, err := parseTokenResponse(res, time.Unix(0, 0))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if tr.AccessToken == "" || tr.ExpiresIn < 0 {
			t.Fatalf("accepted a response without an access token or with negative expiry")
		}
	})
}

func FuzzDecodeIDToken(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhIiwiYXVkIjoiYyIsImV4cCI6MX0.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := decodeIDToken(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidIDToken) {
				t.Fatalf("error %v is not ErrInvalidIDToken", err)
			}
			return
		}
		// Claim checks must survive any claim types.
		hour := time.Hour
		_ = checkIDTokenClaims(claims, idTokenCheck{clientID: "c", issuer: "i", nonce: "n", maxAge: &hour, now: time.Unix(0, 0)})
	})
}

func FuzzParseDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","authorization_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/authorize","token_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/token","jwks_uri":"https://login.microsoftonline.com/common/discovery/v2.0/keys"}`))
	f.Add([]byte(`{"issuer":"http://127.0.0.1:1","authorization_endpoint":"http://127.0.0.1:1/auth","token_endpoint":"http://evil.example/token"}`))
	f.Add([]byte(`{"authorization_endpoint":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseDiscovery(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("error %v is not ErrMalformedResponse", err)
			}
			return
		}
		if d.TokenEndpoint == "" || d.AuthorizationEndpoint == "" {
			t.Fatal("accepted a document without endpoints")
		}
	})
}

func FuzzParseAuthority(f *testing.F) {
	for _, s := range []string{"https://login.microsoftonline.com/common", "https://x.b2clogin.com/t/p", "https://c.ciamlogin.com/",
		"https://fs.example/adfs", "https://login.microsoftonline.com/tfp/t/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := parseAuthority(raw)
		if err == nil && (s.host == "" || s.path == "" || s.tenant == "") {
			t.Fatalf("parsed %q into an incomplete authority %+v", raw, s)
		}
	})
}
