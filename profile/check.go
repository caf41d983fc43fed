package profile

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/loopback"
)

// Problem is one thing wrong with a profile.
type Problem struct {
	// Field is the config.json name of the bad field ("client_id",
	// "default_scopes[1]"), or "" when the profile as a whole is wrong.
	Field string
	// Message says what is wrong and what is wanted, for a person.
	Message string
}

// String is "field: message", or the message alone.
func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Check reports every problem of p on its own, without I/O, in field order; nil when
// there is none. Whether its name is unique is its list's business (storage checks
// config.json, usecase a profile being added).
func Check(p Profile) []Problem {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch name := strings.TrimSpace(p.Name); {
	case name == "":
		add("name", "a profile needs a name")
	case name != p.Name:
		add("name", "must not start or end with spaces")
	}
	switch {
	case p.Authority != "" && p.Issuer != "":
		add("issuer", "set either authority (Microsoft Entra) or issuer (any OpenID provider), not both")
	case p.Authority == "" && p.Issuer == "":
		add("", "set authority (Microsoft Entra, such as https://login.microsoftonline.com/organizations) "+
			"or issuer (any OpenID provider)")
	case p.Authority != "":
		if err := identity.CheckAuthority(p.Authority, false); err != nil {
			add("authority", "%s", withoutPrefix(err))
		}
	default:
		if err := identity.CheckAuthority(p.Issuer, true); err != nil {
			add("issuer", "%s", withoutPrefix(err))
		}
	}
	if strings.TrimSpace(p.ClientID) == "" {
		add("client_id", "missing client id (the application id registered with the provider)")
	} else if strings.ContainsAny(p.ClientID, " \t\r\n") {
		add("client_id", "must not contain spaces")
	}
	if p.Port < 0 || p.Port > 65535 {
		add("port", "must be between 0 (any free port) and 65535, got %d", p.Port)
	}
	if err := CheckRedirectURI(p.RedirectURI); err != nil {
		add("redirect_uri", "%v", err)
	} else if msg := portAgrees(p.RedirectURI, p.Port); msg != "" {
		add("redirect_uri", "%s", msg)
	}
	probs = append(probs, CheckScopes("default_scopes", p.SignInScopes)...)
	probs = append(probs, CheckScopes("favourite_scopes", p.FavouriteScopes)...)
	return probs
}

// withoutPrefix drops identity's package prefix: the problem names its field already,
// and "identity: " tells a person nothing.
func withoutPrefix(err error) string { return strings.TrimPrefix(err.Error(), "identity: ") }

// CheckScopes reports each scope of field that is not one word: a scope with a space
// or quote in it could never be asked for as itself.
func CheckScopes(field string, scopes []string) []Problem {
	var probs []Problem
	for i, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			probs = append(probs, Problem{Field: fmt.Sprintf("%s[%d]", field, i),
				Message: fmt.Sprintf("a scope is one word without spaces or quotes, got %q", s)})
		}
	}
	return probs
}

// RedirectURIHelp says what to enter as a profile's redirect URI.
const RedirectURIHelp = "Enter the redirect URI registered for the client at your provider. " +
	"Most register http://localhost or http://127.0.0.1 (any port); some add a path, such as " +
	"http://localhost/auth/callback (zitadel), which must then match exactly. Empty means http://localhost."

// CheckRedirectURI checks a profile's redirect URI ("" is the default): Tokendesk
// receives the sign-in on the loopback interface, so it must be a URI the listener
// serves (loopback.CheckRedirectURI). The error says what providers register.
func CheckRedirectURI(raw string) error {
	if raw == "" {
		return nil
	}
	if err := loopback.CheckRedirectURI(raw); err != nil {
		return fmt.Errorf("%w: it must be the loopback URL registered at the provider, such as http://localhost, http://127.0.0.1:8400 or http://localhost/auth/callback", err)
	}
	return nil
}

// portAgrees says why a redirect URI's port (if any) disagrees with port (if set), or "".
func portAgrees(raw string, port int) string {
	if raw == "" || port == 0 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "" // CheckRedirectURI parsed it
	}
	if ps := u.Port(); ps != "" {
		if n, _ := strconv.Atoi(ps); n != port {
			return fmt.Sprintf("port %d in %q disagrees with port %d", n, raw, port)
		}
	}
	return ""
}
