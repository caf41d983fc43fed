package usecase

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

func TestConsentScopes(t *testing.T) {
	entra := profile.Profile{Name: "Entra", Authority: "https://login.microsoftonline.com/organizations", FavouriteScopes: []string{"https://graph.microsoft.com/.default"}}
	oidc := profile.Profile{Name: "Lab", Issuer: "https://id.example", FavouriteScopes: []string{"api:read"}, SignInScopes: []string{"openid", "email"}}
	tests := []struct {
		name string
		p    profile.Profile
		add  []string
		want []string
	}{
		// Entra: one resource per request; the refresh token still serves the others.
		{"entra asks for the new resource alone", entra, []string{"api://other/.default"}, []string{"api://other/.default"}},
		{"oidc keeps what was granted", oidc, []string{"api:write"}, []string{"email", "api:read", "api:write"}},
		{"oidc no duplicates", oidc, []string{"api:read email"}, []string{"email", "api:read"}},
	}
	for _, tt := range tests {
		if got := consentScopes(tt.p, tt.add); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTokenErrorClassifies: every failure only a sign-in fixes becomes a
// SignInNeededError (CLI exit 3, "Sign in again for this scope"); the rest do not.
func TestTokenErrorClassifies(t *testing.T) {
	acc := AccountView{DisplayName: "Bob", Username: "bob@example.com"}
	tests := []struct {
		err    error
		need   bool
		claims string
		entra  bool
	}{
		{&identity.Error{StatusCode: 400, Code: "invalid_grant"}, true, "", false},
		{&identity.Error{StatusCode: 400, Code: "invalid_scope", Description: "refresh token missing requested scope"}, true, "", false},
		// Entra's refresh token serves every resource: invalid_scope is a wrong scope.
		{&identity.Error{StatusCode: 400, Code: "invalid_scope", Description: "AADSTS70011"}, false, "", true},
		{&identity.Error{StatusCode: 400, Code: "invalid_grant"}, true, "", true},
		{&identity.Error{StatusCode: 400, Code: "interaction_required"}, true, "", false},
		{&identity.Error{StatusCode: 400, Code: "login_required"}, true, "", false},
		{&identity.Error{StatusCode: 400, Code: "consent_required"}, true, "", false},
		{&identity.Error{StatusCode: 400, Code: "invalid_request", Claims: `{"access_token":{"acrs":{"essential":true}}}`}, true, `{"access_token":{"acrs":{"essential":true}}}`, false},
		{fmt.Errorf("%w: nothing cached", identity.ErrInteractionRequired), true, "", false},
		{&identity.Error{StatusCode: 401, Code: "invalid_client"}, false, "", false},
		{&identity.Error{StatusCode: 503, Code: "temporarily_unavailable"}, false, "", false},
		{errors.New("dial tcp 127.0.0.1:1: connection refused"), false, "", false},
	}
	for _, tt := range tests {
		err := tokenError(acc, !tt.entra, []string{"s"}, tt.err)
		var need *SignInNeededError
		if got := errors.As(err, &need); got != tt.need {
			t.Errorf("%v: sign-in needed %v, want %v", tt.err, got, tt.need)
			continue
		}
		if errors.Is(err, identity.ErrInteractionRequired) != tt.need {
			t.Errorf("%v: matches ErrInteractionRequired %v", tt.err, !tt.need)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%v: cause lost", tt.err)
		}
		if tt.need && need.Claims != tt.claims {
			t.Errorf("%v: claims %q", tt.err, need.Claims)
		}
	}
}
