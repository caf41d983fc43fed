package storage

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/loopback"
)

// Validate reports every problem in c, or nil.
func (c *Config) Validate() error {
	if probs := c.validate(); len(probs) > 0 {
		return &ConfigError{File: ConfigFileName, Problems: probs}
	}
	return nil
}

// validate checks the meaning of c; Field paths match scanPositions' so parseConfig can
// add lines.
func (c *Config) validate() []Problem {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.ClipboardClearSeconds < 0 || c.ClipboardClearSeconds > 86400 {
		add("clipboard_clear_seconds", "must be between 0 (never clear) and 86400, got %d", c.ClipboardClearSeconds)
	}
	if c.CABundle != "" && !filepath.IsAbs(c.CABundle) {
		add("ca_bundle", "must be an absolute path to a PEM file of CA certificates, got %q", c.CABundle)
	}
	names := map[string]int{}
	for i, p := range c.Profiles {
		f := fmt.Sprintf("profiles[%d]", i)
		name := strings.TrimSpace(p.Name)
		switch {
		case name == "":
			add(f+".name", "a profile needs a name")
		case name != p.Name:
			add(f+".name", "must not start or end with spaces")
		}
		if j, dup := names[strings.ToLower(name)]; dup && name != "" {
			add(f+".name", "duplicate profile name %q (also profiles[%d])", p.Name, j)
		} else {
			names[strings.ToLower(name)] = i
		}
		switch {
		case p.Authority != "" && p.Issuer != "":
			add(f+".issuer", "set either authority (Microsoft Entra) or issuer (any OpenID provider), not both")
		case p.Authority == "" && p.Issuer == "":
			add(f, "set authority (Microsoft Entra, such as https://login.microsoftonline.com/organizations) "+
				"or issuer (any OpenID provider)")
		case p.Authority != "":
			if msg := checkProviderURL(p.Authority, false); msg != "" {
				add(f+".authority", "%s", msg)
			}
		default:
			if msg := checkProviderURL(p.Issuer, true); msg != "" {
				add(f+".issuer", "%s", msg)
			}
		}
		if strings.TrimSpace(p.ClientID) == "" {
			add(f+".client_id", "missing client id (the application id registered with the provider)")
		} else if strings.ContainsAny(p.ClientID, " \t\r\n") {
			add(f+".client_id", "must not contain spaces")
		}
		if p.Port < 0 || p.Port > 65535 {
			add(f+".port", "must be between 0 (any free port) and 65535, got %d", p.Port)
		}
		if p.RedirectURI != "" {
			if msg := checkRedirect(p.RedirectURI, p.Port); msg != "" {
				add(f+".redirect_uri", "%s", msg)
			}
		}
		checkScopes(f+".default_scopes", p.DefaultScopes, add)
		checkScopes(f+".favourite_scopes", p.FavouriteScopes, add)
	}
	accounts := map[string]int{}
	for i, a := range c.AccountFavourites {
		f := fmt.Sprintf("account_favourites[%d]", i)
		if a.HomeAccountID == "" {
			add(f+".home_account_id", "missing home account id")
		}
		if a.Environment == "" {
			add(f+".environment", "missing environment (the authority host, such as login.microsoftonline.com)")
		}
		k := a.HomeAccountID + "\x00" + strings.ToLower(a.Environment)
		if j, dup := accounts[k]; dup {
			add(f, "duplicate account (also account_favourites[%d])", j)
		} else {
			accounts[k] = i
		}
		checkScopes(f+".scopes", a.Scopes, add)
	}
	for i, h := range c.CredentialHosts {
		f := fmt.Sprintf("credential_hosts[%d]", i)
		host := strings.TrimPrefix(h.Host, "*.")
		if host == "" || strings.ContainsAny(host, "/ \t\r\n@*") {
			add(f+".host", "a git host such as \"git.example.com\", \"git.example.com:8443\" or \"*.example.com\", got %q", h.Host)
		}
		if h.Scope == "" {
			add(f+".scope", "missing scope (the scope of the token git gets, such as \"499b84ac-1321-427f-aa17-267ca6975798/.default\")")
		} else {
			checkScopes(f+".scope", []string{h.Scope}, func(_, format string, args ...any) { add(f+".scope", format, args...) })
		}
		if h.Profile != "" {
			if _, ok := names[strings.ToLower(h.Profile)]; !ok && !(len(c.Profiles) == 0 && h.Profile == DefaultProfileName) {
				add(f+".profile", "no profile is named %q", h.Profile)
			}
		}
	}
	return probs
}

func checkScopes(field string, scopes []string, add func(string, string, ...any)) {
	for i, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			add(fmt.Sprintf("%s[%d]", field, i), "a scope is one word without spaces or quotes, got %q", s)
		}
	}
}

// checkProviderURL applies identity.CheckAuthority, the one rule for an authority
// (oidc false) or issuer URL, so config.json refuses what a sign-in would.
func checkProviderURL(raw string, oidc bool) string {
	if err := identity.CheckAuthority(raw, oidc); err != nil {
		// The diagnostic names the field already; a package prefix tells a user nothing.
		return strings.TrimPrefix(err.Error(), "identity: ")
	}
	return ""
}

// checkRedirect accepts the redirect URIs the sign-in listener can serve
// (loopback.CheckRedirectURI: RFC 8252 §7.3 on 127.0.0.1, [::1] or localhost) whose
// port, if any, agrees with the profile's port.
func checkRedirect(raw string, port int) string {
	if err := loopback.CheckRedirectURI(raw); err != nil {
		return fmt.Sprintf("%v: it must be the loopback URL registered at the provider, such as http://localhost, http://127.0.0.1:8400 or http://localhost/auth/callback", err)
	}
	u, _ := url.Parse(raw) // CheckRedirectURI parsed it
	if ps := u.Port(); ps != "" && port != 0 {
		if n, _ := strconv.Atoi(ps); n != port {
			return fmt.Sprintf("port %d in %q disagrees with port %d", n, raw, port)
		}
	}
	return ""
}
