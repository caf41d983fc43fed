package usecase

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// Settings is the part of the app configuration the use cases read and change.
type Settings struct {
	// Profiles in the order the user sees them; the first is the default.
	Profiles []profile.Profile
	// Favourites are extra scopes per account.
	Favourites []Favourites
	// Names are what userinfo said about accounts whose ID token named nobody.
	Names []AccountName
	// CredentialHosts map git hosts to tokens (see GitCredential); read-only here.
	CredentialHosts []CredentialHost
	// Refused are accounts (HomeAccountID and Environment) whose refresh token the
	// provider refused.
	Refused []identity.Account
}

// refused reports whether the account with key had its refresh token refused.
func (s Settings) refused(key string) bool {
	return slices.ContainsFunc(s.Refused, func(a identity.Account) bool { return AccountKey(a) == key })
}

// setRefused marks or unmarks a as refused; it reports whether anything changed.
func (s *Settings) setRefused(a identity.Account, on bool) bool {
	key := AccountKey(a)
	if s.refused(key) == on {
		return false
	}
	s.Refused = slices.DeleteFunc(s.Refused, func(o identity.Account) bool { return AccountKey(o) == key })
	if on {
		s.Refused = append(s.Refused, identity.Account{HomeAccountID: a.HomeAccountID, Environment: a.Environment})
	}
	return true
}

// AccountName is an account's username and name as a provider's userinfo endpoint
// gave them at sign-in, keyed as Favourites.
type AccountName struct {
	HomeAccountID string
	Environment   string
	Username      string
	Name          string
}

// name returns the recorded names of the account with key.
func (s Settings) name(key string) (AccountName, bool) {
	for _, n := range s.Names {
		if AccountKey(identity.Account{HomeAccountID: n.HomeAccountID, Environment: n.Environment}) == key {
			return n, true
		}
	}
	return AccountName{}, false
}

// setName records n, replacing the account's previous record.
func (s *Settings) setName(n AccountName) {
	key := AccountKey(identity.Account{HomeAccountID: n.HomeAccountID, Environment: n.Environment})
	s.Names = slices.DeleteFunc(s.Names, func(o AccountName) bool {
		return AccountKey(identity.Account{HomeAccountID: o.HomeAccountID, Environment: o.Environment}) == key
	})
	s.Names = append(s.Names, n)
}

// Favourites are one account's favourite scopes, keyed as the token cache keys
// accounts (home account id plus environment).
type Favourites struct {
	HomeAccountID string
	Environment   string
	Scopes        []string
}

// key is the AccountKey of the account f belongs to.
func (f Favourites) key() string {
	return AccountKey(identity.Account{HomeAccountID: f.HomeAccountID, Environment: f.Environment})
}

// favourites returns the favourite scopes of the account with key.
func (s Settings) favourites(key string) []string {
	for _, f := range s.Favourites {
		if f.key() == key {
			return f.Scopes
		}
	}
	return nil
}

// setFavourites replaces a's favourite scopes; none removes the entry.
func (s *Settings) setFavourites(a identity.Account, scopes []string) {
	key := AccountKey(a)
	i := slices.IndexFunc(s.Favourites, func(f Favourites) bool { return f.key() == key })
	switch {
	case i >= 0 && len(scopes) == 0:
		s.Favourites = slices.Delete(s.Favourites, i, i+1)
	case i >= 0:
		s.Favourites[i].Scopes = scopes
	case len(scopes) > 0:
		s.Favourites = append(s.Favourites, Favourites{HomeAccountID: a.HomeAccountID, Environment: a.Environment, Scopes: scopes})
	}
}

// clone returns a deep copy, so callers never share slices with a store.
func (s Settings) clone() Settings {
	out := Settings{Profiles: make([]profile.Profile, len(s.Profiles)), Favourites: make([]Favourites, len(s.Favourites)),
		Names: slices.Clone(s.Names), CredentialHosts: slices.Clone(s.CredentialHosts), Refused: slices.Clone(s.Refused)}
	for i, p := range s.Profiles {
		out.Profiles[i] = p.Clone()
	}
	for i, f := range s.Favourites {
		f.Scopes = slices.Clone(f.Scopes)
		out.Favourites[i] = f
	}
	return out
}

// profile returns the profile named name (case-insensitive).
func (s Settings) profile(name string) (profile.Profile, bool) {
	if i := s.profileIndex(name); i >= 0 {
		return s.Profiles[i], true
	}
	return profile.Profile{}, false
}

// profileIndex returns the index of the profile named name (case-insensitive), or -1.
func (s Settings) profileIndex(name string) int {
	return slices.IndexFunc(s.Profiles, func(p profile.Profile) bool { return strings.EqualFold(p.Name, name) })
}

// errNoChange is returned by an Update's change that found nothing to do, so nothing
// is written and nobody is notified.
var errNoChange = errors.New("usecase: no change")

// ConfigStore loads and changes Settings. internal/app adapts storage's config.json to
// it; tests use MemoryConfig. Load is called at the start of every use case, so a change
// made by another Tokendesk process (the CLI while the window is open) is seen at once.
type ConfigStore interface {
	Load(ctx context.Context) (Settings, error)
	// Update applies change to the current settings as one read-modify-write that no
	// other writer (in this process or another) can interleave with, so no change is
	// lost; an error from change saves nothing. Every edit goes through it.
	Update(ctx context.Context, change func(*Settings) error) error
	// Save replaces the settings wholesale. It is for tests and imports; an edit made
	// with Load then Save would drop what another process saved in between.
	Save(ctx context.Context, s Settings) error
}

// MemoryConfig is an in-memory ConfigStore, for tests and for running without a
// configuration file. Its zero value holds no profiles. It is safe for concurrent use.
type MemoryConfig struct {
	mu sync.Mutex
	s  Settings
}

// NewMemoryConfig returns a MemoryConfig holding profiles.
func NewMemoryConfig(profiles ...profile.Profile) *MemoryConfig {
	return &MemoryConfig{s: Settings{Profiles: profiles}.clone()}
}

// Load returns a copy of the settings.
func (m *MemoryConfig) Load(ctx context.Context) (Settings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.clone(), nil
}

// Update applies change to a copy of the settings and keeps it unless change fails.
func (m *MemoryConfig) Update(ctx context.Context, change func(*Settings) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.s.clone()
	if err := change(&s); err != nil {
		return err
	}
	m.s = s.clone()
	return nil
}

// Save replaces the settings with a copy of s.
func (m *MemoryConfig) Save(ctx context.Context, s Settings) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s = s.clone()
	return nil
}
