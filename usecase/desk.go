package usecase

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// Opener shows the user a sign-in URL, normally by opening the system browser. It
// returns an error matching identity.ErrBrowserUnavailable when it cannot. Tests pass
// a scripted browser (internal/testenv's OIDCProvider.LoginAndDeliver).
type Opener func(ctx context.Context, authURL string) error

// Deps are the parts a Desk is built from. Config and Cache are required.
type Deps struct {
	// Config loads and saves profiles and favourite scopes.
	Config ConfigStore
	// Cache is the one token cache every profile's client shares; storage keeps it on
	// disk through its identity.CacheHook.
	Cache *identity.TokenCache
	// Opener opens sign-in URLs; nil means identity's default (the system browser).
	Opener Opener
	// HTTPClient is used for every request to an authority and for discovery checks;
	// nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for expiry decisions; nil means time.Now.
	Now func() time.Time
	// Logger receives diagnostics (never tokens); nil discards them.
	Logger *slog.Logger
	// ClientOptions are extra identity options for every profile's client (app name,
	// proxy, ...).
	ClientOptions []identity.Option
	// Secrets keeps profiles' installed-app secrets (the OS keyring); nil means no
	// profile can have one.
	Secrets SecretStore
	// RootCAs, when set, are the CAs trusted for the providers' TLS (config.json's
	// ca_bundle plus the system's), for identity's clients and discovery checks alike;
	// nil means the system's. It does not apply to a caller's HTTPClient.
	RootCAs *x509.CertPool
	// RefreshLocks serializes each account's token acquisitions across processes
	// (internal/app hands in storage.RefreshLocks over the Tokendesk directory); nil
	// serializes them within this process only.
	RefreshLocks RefreshLocker
	// Timeout bounds each Token call (its lock wait, discovery and refresh) whose context
	// has no deadline of its own (a caller's deadline, such as the CLI's --timeout, wins);
	// 0 leaves it to the context and the HTTP client's own limits.
	Timeout time.Duration

	// Index, when set, makes the Desk short-lived (a CLI command): account listings are
	// read from the cache's index, which holds no token, and a command about one account
	// decrypts that account's records only. A long-running Desk (the window) leaves it
	// nil and holds the whole Cache. It must be the store behind Cache.
	Index CacheIndex
}

// Desk runs Tokendesk's use cases. Build one with New; it is safe for concurrent use
// (the UI calls it from worker goroutines while the tray reads accounts).
type Desk struct {
	deps Deps
	log  *slog.Logger
	now  func() time.Time
	hc   *http.Client

	refreshLocks RefreshLocker
	timeout      time.Duration

	// makeClient builds a profile's identity client; tests replace it with a fake.
	makeClient func(p profile.Profile) (client, error)
	// inspect reads per-account token state from the cache; tests replace it.
	inspect func(ctx context.Context) (cacheSummary, error)
	// narrow, when set (Deps.Index), serves account listings from the cache's index
	// and each command about one account from that account's records only.
	narrow CacheIndex
	// parent is the Desk a narrowed Desk was made from (sub); its subscribers hear
	// the narrowed one's changes.
	parent *Desk

	mu      sync.Mutex
	clients map[string]clientEntry // by profile name
	subs    map[int]func()
	nextSub int
}

// clientEntry remembers which profile a client was built for, so an edited profile
// gets a new client.
type clientEntry struct {
	profile profile.Profile
	client  client
}

// New returns a Desk over deps.
func New(deps Deps) (*Desk, error) {
	if deps.Config == nil {
		return nil, errors.New("usecase: Deps.Config is required")
	}
	if deps.Cache == nil {
		return nil, errors.New("usecase: Deps.Cache is required")
	}
	d := &Desk{deps: deps, log: deps.Logger, now: deps.Now, hc: deps.HTTPClient,
		clients: map[string]clientEntry{}, subs: map[int]func(){}}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if deps.RootCAs != nil {
			tr.TLSClientConfig = &tls.Config{RootCAs: deps.RootCAs}
		}
		// identity's redirect policy: a userinfo request carries an access token.
		d.hc = &http.Client{Timeout: 30 * time.Second, Transport: tr, CheckRedirect: identity.CheckRedirect}
	}
	d.refreshLocks, d.timeout = deps.RefreshLocks, deps.Timeout
	if d.refreshLocks == nil {
		d.refreshLocks = processRefreshLocks
	}
	d.narrow = deps.Index
	d.makeClient = func(p profile.Profile) (client, error) { return newClient(p, d.deps, d.hc, d.log, d.now) }
	d.inspect = func(ctx context.Context) (cacheSummary, error) { return inspectCache(ctx, d.deps.Cache) }
	return d, nil
}

// Subscribe registers f to be called (on the calling goroutine of the change) after
// any use case that changes accounts, profiles or scopes: the tray rebuilds its menu
// from it. The returned func unsubscribes.
func (d *Desk) Subscribe(f func()) (cancel func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.nextSub
	d.nextSub++
	d.subs[id] = f
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.subs, id)
	}
}

// changed notifies subscribers, outside the lock so they may call back into d.
func (d *Desk) changed() {
	if d.parent != nil {
		d.parent.changed()
		return
	}
	d.mu.Lock()
	fs := make([]func(), 0, len(d.subs))
	ids := make([]int, 0, len(d.subs))
	for id := range d.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fs = append(fs, d.subs[id])
	}
	d.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// clientFor returns the (cached) identity client of p.
func (d *Desk) clientFor(p profile.Profile) (client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.clients[p.Name]; ok && sameProfile(e.profile, p) {
		return e.client, nil
	}
	c, err := d.makeClient(p)
	if err != nil {
		return nil, err
	}
	d.clients[p.Name] = clientEntry{profile: p, client: c}
	return c, nil
}

func sameProfile(a, b profile.Profile) bool {
	return a.Authority == b.Authority && a.Issuer == b.Issuer && a.ClientID == b.ClientID &&
		a.RedirectURI == b.RedirectURI && a.Port == b.Port && a.SecretInKeyring == b.SecretInKeyring
}

// settings loads the configuration.
func (d *Desk) settings(ctx context.Context) (Settings, error) {
	s, err := d.deps.Config.Load(ctx)
	if err != nil {
		return Settings{}, err
	}
	return s, nil
}
