package identity

import (
	"encoding/json"
	"time"
)

// authCodeFlowJSON is an AuthCodeFlow as JSON, with the member names of MSAL Python's
// auth_code_flow dict where it has them. A web app keeps the flow in the user's session
// between InitiateAuthCodeFlow and AcquireTokenByAuthCodeFlow, so every field,
// including the unexported ones, must survive the trip.
type authCodeFlowJSON struct {
	AuthURI         string   `json:"auth_uri"`
	State           string   `json:"state"`
	RedirectURI     string   `json:"redirect_uri,omitempty"`
	Nonce           string   `json:"nonce"`
	CodeVerifier    string   `json:"code_verifier"`
	ClaimsChallenge string   `json:"claims_challenge,omitempty"`
	ResponseMode    string   `json:"response_mode,omitempty"`
	Scopes          []string `json:"scope"`
	// MaxAgeSeconds is MaxAge in whole seconds, as max_age is sent.
	MaxAgeSeconds *int64   `json:"max_age,omitempty"`
	Requested     []string `json:"requested_scope,omitempty"`
	Authority     string   `json:"authority,omitempty"`
	APIID         APIID    `json:"api_id,omitempty"`
}

// MarshalJSON encodes the whole flow, secrets included (CodeVerifier, Nonce): store
// it only where the session's other secrets go.
func (f AuthCodeFlow) MarshalJSON() ([]byte, error) {
	j := authCodeFlowJSON{
		AuthURI: f.AuthURI, State: f.State, RedirectURI: f.RedirectURI, Nonce: f.Nonce,
		CodeVerifier: f.CodeVerifier, ClaimsChallenge: f.ClaimsChallenge, ResponseMode: f.ResponseMode,
		Scopes: f.Scopes, Requested: f.requested, Authority: f.authority, APIID: f.apiID,
	}
	if f.MaxAge != nil {
		s := int64(*f.MaxAge / time.Second)
		j.MaxAgeSeconds = &s
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (f *AuthCodeFlow) UnmarshalJSON(b []byte) error {
	var j authCodeFlowJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = AuthCodeFlow{
		AuthURI: j.AuthURI, State: j.State, RedirectURI: j.RedirectURI, Nonce: j.Nonce,
		CodeVerifier: j.CodeVerifier, ClaimsChallenge: j.ClaimsChallenge, ResponseMode: j.ResponseMode,
		Scopes: j.Scopes, requested: j.Requested, authority: j.Authority, apiID: j.APIID,
	}
	if j.MaxAgeSeconds != nil {
		d := time.Duration(*j.MaxAgeSeconds) * time.Second
		f.MaxAge = &d
	}
	return nil
}
