package usecase

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/tokendesk/tokendesk/storage"
)

// StorageConfig is the ConfigStore over storage's config.json in dir: the one the window
// and the CLI share. Fields the use cases do not know (clipboard timeout, plaintext
// opt-in, a profile's keyring secret flag) are kept as they are on Save.
func StorageConfig(dir string) ConfigStore { return &storageConfig{dir: dir} }

type storageConfig struct {
	dir string
	mu  sync.Mutex // one read-modify-write at a time within this process
}

func (c *storageConfig) Load(ctx context.Context) (Settings, error) {
	cfg, err := storage.LoadConfig(c.dir)
	if err != nil {
		return Settings{}, err
	}
	return settingsOf(cfg), nil
}

func (c *storageConfig) Save(ctx context.Context, s Settings) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, err := storage.LoadConfig(c.dir)
	if err != nil {
		return err
	}
	old := cfg.EffectiveProfiles()
	cfg.Profiles = cfg.Profiles[:0]
	for _, p := range s.Profiles {
		sp := storage.Profile{
			Name:            p.Name,
			Authority:       p.Authority,
			Issuer:          p.Issuer,
			ClientID:        p.ClientID,
			RedirectURI:     p.RedirectURI,
			Port:            p.Port,
			DefaultScopes:   slices.Clone(p.SignInScopes),
			FavouriteScopes: slices.Clone(p.Scopes),
		}
		if i := slices.IndexFunc(old, func(o storage.Profile) bool { return strings.EqualFold(o.Name, p.Name) }); i >= 0 {
			sp.SecretInKeyring = old[i].SecretInKeyring
		}
		cfg.Profiles = append(cfg.Profiles, sp)
	}
	cfg.AccountFavourites = cfg.AccountFavourites[:0]
	for _, f := range s.Favourites {
		if len(f.Scopes) > 0 {
			cfg.AccountFavourites = append(cfg.AccountFavourites, storage.AccountFavourites{
				HomeAccountID: f.HomeAccountID, Environment: f.Environment, Scopes: slices.Clone(f.Scopes)})
		}
	}
	return storage.SaveConfig(c.dir, cfg)
}

// settingsOf converts storage's configuration. A profile's scopes on offer are its
// favourite scopes followed by its sign-in (default) scopes.
func settingsOf(cfg *storage.Config) Settings {
	var s Settings
	for _, sp := range cfg.EffectiveProfiles() {
		s.Profiles = append(s.Profiles, Profile{
			Name:         sp.Name,
			Authority:    sp.Authority,
			Issuer:       sp.Issuer,
			ClientID:     sp.ClientID,
			RedirectURI:  sp.RedirectURI,
			Port:         sp.Port,
			Scopes:       slices.Clone(sp.FavouriteScopes),
			SignInScopes: slices.Clone(sp.DefaultScopes),
		})
	}
	for _, f := range cfg.AccountFavourites {
		s.Favourites = append(s.Favourites, Favourites{HomeAccountID: f.HomeAccountID, Environment: f.Environment, Scopes: slices.Clone(f.Scopes)})
	}
	return s
}
