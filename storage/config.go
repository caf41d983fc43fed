package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tokendesk/tokendesk/profile"
)

// ConfigFileName is the app configuration inside the Tokendesk directory.
const ConfigFileName = "config.json"

// DefaultClipboardClearSeconds is how long a copied token stays on the clipboard unless
// the config says otherwise.
const DefaultClipboardClearSeconds = 60

// maxConfigSize bounds what LoadConfig reads: a hand-written config is a few KB, and a
// bound keeps a wrong path (a disk image, /dev/zero) from eating memory.
const maxConfigSize = 1 << 20

// Config is the app configuration, stored as human-editable JSON (config.json; README.md
// documents the format). It never holds secrets: client secrets live in the keyring
// (SetProfileSecret).
type Config struct {
	// Profiles are the configured sign-in providers. When empty, the app uses
	// profile.Default.
	Profiles []profile.Profile `json:"profiles"`
	// AccountFavourites are each signed-in account's favourite scopes.
	AccountFavourites []AccountFavourites `json:"account_favourites,omitempty"`
	// AccountNames are names a provider's userinfo endpoint gave for accounts whose
	// ID token had none (the token cache keeps the ID token's, in MSAL's format).
	AccountNames []AccountName `json:"account_names,omitempty"`
	// RefusedRefresh are accounts whose refresh token the provider refused (revoked,
	// expired): their status says so until they sign in again or a refresh succeeds.
	RefusedRefresh []AccountRef `json:"refused_refresh,omitempty"`
	// CredentialHosts map git hosts to the account and scope whose access token
	// "tokendesk credential" (a git credential helper) answers with; they come before
	// the built-in Azure DevOps hosts.
	CredentialHosts []CredentialHost `json:"credential_hosts,omitempty"`
	// ClipboardClearSeconds clears a copied token from the clipboard after this many
	// seconds; 0 never clears. Default DefaultClipboardClearSeconds.
	ClipboardClearSeconds int `json:"clipboard_clear_seconds"`
	// AllowPlaintextCache stores the token cache unencrypted when no OS keyring exists
	// (see WithPlaintext). Off by default; the UI warns while it is on.
	AllowPlaintextCache bool `json:"allow_plaintext_cache,omitempty"`
	// CABundle is the absolute path of a PEM file of CA certificates trusted for the
	// providers' TLS besides the system's (a corporate proxy or a private provider's CA).
	// See LoadCABundle.
	CABundle string `json:"ca_bundle,omitempty"`
}

// AccountFavourites are the favourite scopes of one account, keyed as the token cache
// keys accounts: home account id plus environment (the authority host).
type AccountFavourites struct {
	HomeAccountID string   `json:"home_account_id"`
	Environment   string   `json:"environment"`
	Scopes        []string `json:"scopes"`
}

// AccountName is what a provider's userinfo endpoint says about an account, keyed as
// AccountFavourites.
type AccountName struct {
	HomeAccountID string `json:"home_account_id"`
	Environment   string `json:"environment"`
	// Username is preferred_username, else email.
	Username string `json:"username,omitempty"`
	// Name is the name claim.
	Name string `json:"name,omitempty"`
}

// CredentialHost says which token git gets for a host.
type CredentialHost struct {
	// Host is git's host (with ":port" when not the default), such as "git.example.com",
	// or "*.example.com" for every subdomain; case-insensitive.
	Host string `json:"host"`
	// Scope is the scope of the access token handed to git as its password.
	Scope string `json:"scope"`
	// Profile names the profile whose account is used; default: the first profile.
	Profile string `json:"profile,omitempty"`
	// Account is the account's key or username; default: the username git asks for when
	// it is an account's, else the profile's only account.
	Account string `json:"account,omitempty"`
}

// AccountRef names an account as AccountFavourites do.
type AccountRef struct {
	HomeAccountID string `json:"home_account_id"`
	Environment   string `json:"environment"`
}

// DefaultConfig is the configuration used when no config.json exists.
func DefaultConfig() *Config {
	return &Config{
		Profiles:              []profile.Profile{profile.Default()},
		ClipboardClearSeconds: DefaultClipboardClearSeconds,
	}
}

// Profile returns the profile called name (profile.Default when Profiles is empty).
func (c *Config) Profile(name string) (profile.Profile, bool) {
	for _, p := range c.EffectiveProfiles() {
		if p.Name == name {
			return p, true
		}
	}
	return profile.Profile{}, false
}

// EffectiveProfiles returns a deep copy of Profiles, or profile.Default alone when
// there are none. It is a copy so a caller may rebuild c.Profiles while reading the old
// list, and keep what it got without sharing slices with c.
func (c *Config) EffectiveProfiles() []profile.Profile {
	if len(c.Profiles) == 0 {
		return []profile.Profile{profile.Default()}
	}
	out := make([]profile.Profile, len(c.Profiles))
	for i, p := range c.Profiles {
		out[i] = p.Clone()
	}
	return out
}

// FavouriteScopes returns the favourite scopes of the account (nil when none).
func (c *Config) FavouriteScopes(homeAccountID, environment string) []string {
	for _, f := range c.AccountFavourites {
		if f.HomeAccountID == homeAccountID && strings.EqualFold(f.Environment, environment) {
			return f.Scopes
		}
	}
	return nil
}

// SetFavouriteScopes replaces the account's favourite scopes; empty scopes remove the
// entry.
func (c *Config) SetFavouriteScopes(homeAccountID, environment string, scopes []string) {
	i := slices.IndexFunc(c.AccountFavourites, func(f AccountFavourites) bool {
		return f.HomeAccountID == homeAccountID && strings.EqualFold(f.Environment, environment)
	})
	switch {
	case len(scopes) == 0 && i >= 0:
		c.AccountFavourites = slices.Delete(c.AccountFavourites, i, i+1)
	case len(scopes) == 0:
	case i >= 0:
		c.AccountFavourites[i].Scopes = slices.Clone(scopes)
	default:
		c.AccountFavourites = append(c.AccountFavourites, AccountFavourites{
			HomeAccountID: homeAccountID, Environment: environment, Scopes: slices.Clone(scopes),
		})
	}
}

// LoadConfig reads dir/config.json. A missing file is not an error: it returns
// DefaultConfig. A bad file returns a *ConfigError naming each bad line and field.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFileName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultConfig(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: reading config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("storage: reading config: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, &ConfigError{File: path, Problems: []Problem{{Message: "file is larger than 1 MiB"}}}
	}
	return parseConfig(path, data)
}

// SaveConfig validates c and writes it to dir/config.json atomically (mode 0600),
// creating dir (0700) when missing. It replaces the whole file, under the config lock;
// to change part of it, use UpdateConfig, which keeps other processes' changes.
func SaveConfig(dir string, c *Config) error {
	if err := ensureDir(dir); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLockTimeout)
	defer cancel()
	unlock, err := lockPath(ctx, filepath.Join(dir, ConfigLockFileName), "config.json")
	if err != nil {
		return err
	}
	defer unlock()
	return saveConfig(dir, c)
}

// saveConfig is SaveConfig for a caller holding the config lock.
func saveConfig(dir string, c *Config) error {
	if c == nil {
		return errors.New("storage: SaveConfig: nil config")
	}
	path := filepath.Join(dir, ConfigFileName)
	if probs := c.validate(); len(probs) > 0 {
		return &ConfigError{File: path, Problems: probs}
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("storage: encoding config: %w", err)
	}
	data = append(data, '\n')
	if err := ensureDir(dir); err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}
