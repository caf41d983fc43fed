// Package app is Tokendesk's one wiring point: it builds the Desk the window and the
// CLI drive from the real parts, namely config.json, the encrypted token cache with
// its key in the OS keyring, the refresh locks and the CA bundle in the profile
// directory (storage), and identity's clients through usecase. usecase declares the
// interfaces it needs (ConfigStore, SecretStore, CacheIndex, RefreshLocker) and never
// imports storage; the adapters between the two live here, and so does the
// classification of storage's failures into the kinds usecase declares
// (usecase.StorageError), which the window and the CLI put into words. main calls Open.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

// StorageConfig is the ConfigStore over storage's config.json in dir: the one the window
// and the CLI share. Fields the use cases do not know (clipboard timeout, plaintext
// opt-in, a profile's keyring secret flag) are kept as they are on Save.
func StorageConfig(dir string) usecase.ConfigStore { return &storageConfig{dir: dir} }

type storageConfig struct{ dir string }

func (c *storageConfig) Load(ctx context.Context) (usecase.Settings, error) {
	cfg, err := storage.LoadConfig(c.dir)
	if err != nil {
		return usecase.Settings{}, err
	}
	return settingsOf(cfg), nil
}

// Update is storage's locked read-modify-write of config.json.
func (c *storageConfig) Update(ctx context.Context, change func(*usecase.Settings) error) error {
	return storage.UpdateConfig(ctx, c.dir, func(cfg *storage.Config) error {
		s := settingsOf(cfg)
		if err := change(&s); err != nil {
			return err
		}
		applySettings(cfg, s)
		return nil
	})
}

// Save replaces what Settings hold, keeping the rest of the file.
func (c *storageConfig) Save(ctx context.Context, s usecase.Settings) error {
	return c.Update(ctx, func(cur *usecase.Settings) error {
		*cur = s
		return nil
	})
}

// applySettings writes s into cfg, keeping the fields Settings do not carry.
func applySettings(cfg *storage.Config, s usecase.Settings) {
	// One profile.Profile from config.json to the screen: copied, not translated.
	cfg.Profiles = cfg.Profiles[:0]
	for _, p := range s.Profiles {
		cfg.Profiles = append(cfg.Profiles, p.Clone())
	}
	cfg.AccountFavourites = cfg.AccountFavourites[:0]
	for _, f := range s.Favourites {
		if len(f.Scopes) > 0 {
			cfg.AccountFavourites = append(cfg.AccountFavourites, storage.AccountFavourites{
				HomeAccountID: f.HomeAccountID, Environment: f.Environment, Scopes: slices.Clone(f.Scopes)})
		}
	}
	cfg.AccountNames = cfg.AccountNames[:0]
	for _, n := range s.Names {
		cfg.AccountNames = append(cfg.AccountNames, storage.AccountName{
			HomeAccountID: n.HomeAccountID, Environment: n.Environment, Username: n.Username, Name: n.Name})
	}
	cfg.RefusedRefresh = cfg.RefusedRefresh[:0]
	for _, a := range s.Refused {
		cfg.RefusedRefresh = append(cfg.RefusedRefresh, storage.AccountRef{HomeAccountID: a.HomeAccountID, Environment: a.Environment})
	}
}

// settingsOf is the part of storage's configuration the use cases read.
func settingsOf(cfg *storage.Config) usecase.Settings {
	s := usecase.Settings{Profiles: cfg.EffectiveProfiles()}
	for _, f := range cfg.AccountFavourites {
		s.Favourites = append(s.Favourites, usecase.Favourites{HomeAccountID: f.HomeAccountID, Environment: f.Environment, Scopes: slices.Clone(f.Scopes)})
	}
	for _, n := range cfg.AccountNames {
		s.Names = append(s.Names, usecase.AccountName{HomeAccountID: n.HomeAccountID, Environment: n.Environment, Username: n.Username, Name: n.Name})
	}
	for _, h := range cfg.CredentialHosts {
		s.CredentialHosts = append(s.CredentialHosts, usecase.CredentialHost{Host: h.Host, Scope: h.Scope, Profile: h.Profile, Account: h.Account})
	}
	for _, a := range cfg.RefusedRefresh {
		s.Refused = append(s.Refused, identity.Account{HomeAccountID: a.HomeAccountID, Environment: a.Environment})
	}
	return s
}

// DirOption changes how OpenDir builds its Desk.
type DirOption func(*dirOptions)

type dirOptions struct {
	timeout    time.Duration
	shortLived bool
}

// WithTokenTimeout bounds each Token call of the Desk (usecase.Deps.Timeout): the
// window's own limit, since no user waits a minute for a copied token.
func WithTokenTimeout(d time.Duration) DirOption { return func(o *dirOptions) { o.timeout = d } }

// ShortLived is for a process that runs one command and exits (the CLI): account
// listings are read from the cache's index, which holds no token, and a command about
// one account (token, scopes, sign-out) decrypts that account's records only, so a
// command's cost does not grow with the number of accounts cached. A long-running
// process (the window) holds the whole cache instead and omits it.
func ShortLived() DirOption { return func(o *dirOptions) { o.shortLived = true } }

// Stored is a Desk over a Tokendesk profile directory, with the storage parts the app
// needs besides (the configuration for its own settings, the store for notices).
type Stored struct {
	Desk   *usecase.Desk
	Config *storage.Config
	Store  *storage.CacheStore
	Cache  *identity.TokenCache
	// Dir is the profile directory.
	Dir string

	// dirNotice says what SecureDir did to (or found about) the directory, if anything.
	dirNotice *storage.Notice
}

// Notices returns what the user should be told about the directory (made private, or
// open to others) and everything the cache store reported, oldest first.
func (s *Stored) Notices() []storage.Notice {
	var out []storage.Notice
	if s.dirNotice != nil {
		out = append(out, *s.dirNotice)
	}
	return append(out, s.Store.Notices()...)
}

// KeyringTimeout bounds each call to the OS keyring: go-keyring has no timeout of its
// own, and a hung Secret Service must not hang the window or a CLI command.
const KeyringTimeout = 3 * time.Second

// Open is OpenDir over the user's Tokendesk directory (TOKENDESK_HOME, else the user
// config directory, storage.DefaultDir) with the system keyring, each call bounded by
// KeyringTimeout: what the window and the CLI run on.
func Open(log *slog.Logger, opts ...DirOption) (*Stored, error) {
	dir, err := storage.DefaultDir()
	if err != nil {
		return nil, err
	}
	return OpenDir(dir, storage.SystemKeyring(KeyringTimeout), log, opts...)
}

// Watch calls onChange whenever another process (the CLI, a second window) changes
// the stored accounts or settings in s.Dir, until ctx ends (storage.Watch).
func (s *Stored) Watch(ctx context.Context, onChange func()) error {
	return storage.Watch(ctx, s.Dir, onChange)
}

// OpenDir builds a Desk over the profile directory dir the way Tokendesk runs: its
// config.json, and one token cache shared by every profile, kept encrypted in dir
// with its key in kr (or in plain text when the config opts in with
// allow_plaintext_cache; kr is then unused). Token acquisitions of one account are
// serialized across processes by lock files in dir. The keyring is not asked yet: see
// Probe. A keyring, lock or config.json failure comes back as a *usecase.StorageError
// whose Err is storage's own error.
func OpenDir(dir string, kr storage.Keyring, log *slog.Logger, dirOpts ...DirOption) (*Stored, error) {
	st, err := openDir(dir, kr, log, dirOpts...)
	return st, classify(err)
}

func openDir(dir string, kr storage.Keyring, log *slog.Logger, dirOpts ...DirOption) (*Stored, error) {
	dirNotice, err := storage.SecureDir(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := storage.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	var opts []storage.StoreOption
	if cfg.AllowPlaintextCache {
		opts = append(opts, storage.WithPlaintext())
		kr = nil
	}
	store, err := storage.OpenCacheStore(dir, kr, opts...)
	if err != nil {
		return nil, err
	}
	locks, err := storage.NewRefreshLocks(dir)
	if err != nil {
		return nil, err
	}
	cache := identity.NewTokenCache(identity.WithCacheHook(store))
	var o dirOptions
	for _, opt := range dirOpts {
		opt(&o)
	}
	deps := usecase.Deps{Config: StorageConfig(dir), Cache: cache, Logger: log, RefreshLocks: locks, Timeout: o.timeout}
	if cfg.CABundle != "" {
		if deps.RootCAs, err = storage.LoadCABundle(cfg.CABundle); err != nil {
			return nil, err
		}
	}
	if kr != nil {
		deps.Secrets = KeyringSecrets(kr)
	}
	if o.shortLived {
		deps.Index = cacheIndex{store}
	}
	desk, err := usecase.New(deps)
	if err != nil {
		return nil, err
	}
	return &Stored{Desk: desk, Config: cfg, Store: store, Cache: cache, Dir: dir, dirNotice: dirNotice}, nil
}

// Probe reads the cache once, so a missing keyring, a locked cache or a damaged file is
// known before anything else runs; it returns what the user should be told (a cache
// moved aside, a plaintext leftover). Errors are classified as OpenDir's.
func (s *Stored) Probe(ctx context.Context) ([]storage.Notice, error) {
	if err := s.Store.BeforeAccess(ctx, s.Cache, false); err != nil {
		return nil, classify(err)
	}
	if err := s.Store.AfterAccess(ctx, s.Cache, false, false); err != nil {
		return nil, classify(err)
	}
	return s.Notices(), nil
}

// classify marks storage's failures with the kinds usecase declares
// (*usecase.StorageError), so main, the window and the CLI can say how to fix them
// without importing storage. The original error, its text and its chain, is kept.
func classify(err error) error {
	var cerr *storage.ConfigError
	var kind error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrKeyringUnavailable), errors.Is(err, storage.ErrKeyringTimeout):
		kind = usecase.ErrKeyringUnavailable
	case errors.Is(err, storage.ErrLockTimeout):
		kind = usecase.ErrStorageBusy
	case errors.As(err, &cerr):
		kind = usecase.ErrConfigInvalid
	default:
		return err
	}
	return &usecase.StorageError{Kind: kind, Err: err}
}

// cacheIndex is the usecase.CacheIndex over storage's CacheStore.
type cacheIndex struct{ *storage.CacheStore }

func (c cacheIndex) Summaries(ctx context.Context) ([]usecase.AccountSummary, error) {
	sums, err := c.CacheStore.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]usecase.AccountSummary, len(sums))
	for i, s := range sums {
		out[i] = usecase.AccountSummary{Key: s.Key, HomeAccountID: s.HomeAccountID, Usernames: s.Usernames,
			Accounts: s.Accounts, LatestExpiry: s.LatestExpiry, HasRefreshToken: s.HasRefreshToken}
	}
	return out, nil
}

// KeyringSecrets is the usecase.SecretStore over kr (storage's keyring entries
// "profile-secret:<name>" of service "tokendesk").
func KeyringSecrets(kr storage.Keyring) usecase.SecretStore { return keyringSecrets{kr} }

type keyringSecrets struct{ kr storage.Keyring }

func (k keyringSecrets) ProfileSecret(profile string) (string, error) {
	secret, err := storage.ProfileSecret(k.kr, profile)
	if errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("%w: %w", usecase.ErrNoSecret, err)
	}
	return secret, err
}

func (k keyringSecrets) SetProfileSecret(profile, secret string) error {
	if secret == "" {
		err := storage.DeleteProfileSecret(k.kr, profile)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	return storage.SetProfileSecret(k.kr, profile, secret)
}
