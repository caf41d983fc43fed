package usecase

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Inspection is a token decoded for display. Nothing is verified: it is what the token
// says, not proof that it is true.
type Inspection struct {
	// JWT is false for opaque tokens (and for encrypted JWTs, whose content is hidden).
	JWT bool
	// Header and Claims are the decoded JOSE header and payload as indented JSON.
	Header, Claims string
	// Note explains why a token could not be decoded ("opaque token", "encrypted JWT").
	Note string
}

// allAlgs lets go-jose parse any signed token; no signature is checked here.
var allAlgs = []jose.SignatureAlgorithm{
	jose.EdDSA, jose.HS256, jose.HS384, jose.HS512, jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512,
}

// Inspect decodes token for the inspector.
func Inspect(token string) Inspection {
	token = strings.TrimSpace(token)
	if token == "" {
		return Inspection{Note: "no token"}
	}
	switch strings.Count(token, ".") {
	case 4:
		return Inspection{Note: "encrypted JWT (JWE): its content is not readable here"}
	case 2:
	default:
		return Inspection{Note: "opaque token: not a JWT, only the authority can read it"}
	}
	jws, err := jose.ParseSigned(token, allAlgs)
	if err != nil {
		return Inspection{Note: "opaque token: not a JWT (" + err.Error() + ")"}
	}
	header, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	if err != nil {
		return Inspection{Note: "opaque token: header is not base64url"}
	}
	payload := jws.UnsafePayloadWithoutVerification()
	h, err1 := indentJSON(header)
	c, err2 := indentJSON(payload)
	if err1 != nil || err2 != nil {
		return Inspection{Note: "opaque token: header or payload is not JSON"}
	}
	return Inspection{JWT: true, Header: h, Claims: c}
}

func indentJSON(b []byte) (string, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return "", err
	}
	return out.String(), nil
}
