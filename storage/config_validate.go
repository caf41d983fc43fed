package storage

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tokendesk/tokendesk/profile"
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
		if j, dup := names[strings.ToLower(name)]; dup && name != "" {
			add(f+".name", "duplicate profile name %q (also profiles[%d])", p.Name, j)
		} else {
			names[strings.ToLower(name)] = i
		}
		// The profile's own checks, one rule with the window's form; the name's
		// uniqueness is the list's.
		for _, pr := range profile.Check(p) {
			field := f
			if pr.Field != "" {
				field += "." + pr.Field
			}
			probs = append(probs, Problem{Field: field, Message: pr.Message})
		}
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
			if _, ok := names[strings.ToLower(h.Profile)]; !ok && !(len(c.Profiles) == 0 && h.Profile == profile.DefaultName) {
				add(f+".profile", "no profile is named %q", h.Profile)
			}
		}
	}
	return probs
}

// checkScopes is profile.CheckScopes for the other lists of scopes in config.json.
func checkScopes(field string, scopes []string, add func(string, string, ...any)) {
	for _, pr := range profile.CheckScopes(field, scopes) {
		add(pr.Field, "%s", pr.Message)
	}
}
