package identity

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"
)

// DefaultAuthority is used when neither WithAuthority nor WithOIDCAuthority is given.
const DefaultAuthority = "https://login.microsoftonline.com/common"

// ClientApplication is the core shared by PublicClient and ConfidentialClient (MSAL's
// ClientApplication). Use NewPublicClient or NewConfidentialClient to get one. It is safe
// for concurrent use, and its constructor sends no request: authorities are resolved on
// first use.
type ClientApplication struct {
	clientID   string
	credential *Credential // nil for public clients
	cfg        config
	cache      *TokenCache
	log        *slog.Logger
	transport  *transport // the HTTP side: authorities, token endpoint (transport.go)
	// endpoint is how the cache layer reaches the authority: clientEndpoint{a}.
	endpoint authorityEndpoint
	// tokens is where the grants store a response: cache.
	tokens tokenStore
}

// PublicClient is a client that cannot keep a secret: desktop, mobile and CLI apps
// (MSAL's PublicClientApplication).
type PublicClient struct {
	*ClientApplication
}

// ConfidentialClient is a client that holds a credential: web apps, daemons and APIs
// (MSAL's ConfidentialClientApplication).
type ConfidentialClient struct {
	*ClientApplication
}

// NewPublicClient returns a public client for clientID.
func NewPublicClient(clientID string, opts ...Option) (*PublicClient, error) {
	core, err := newClientApplication(clientID, nil, opts)
	if err != nil {
		return nil, err
	}
	if core.cfg.installedAppSecret != "" {
		// Sent like a secret credential; see WithInstalledAppSecret for why a
		// public client may have one.
		core.credential = NewSecretCredential(core.cfg.installedAppSecret)
	}
	return &PublicClient{core}, nil
}

// NewConfidentialClient returns a confidential client for clientID authenticating with
// cred (MSAL: client_credential=).
func NewConfidentialClient(clientID string, cred *Credential, opts ...Option) (*ConfidentialClient, error) {
	if cred == nil {
		return nil, errors.New("identity: a confidential client needs a credential")
	}
	core, err := newClientApplication(clientID, cred, opts)
	if err != nil {
		return nil, err
	}
	return &ConfidentialClient{core}, nil
}

func newClientApplication(clientID string, cred *Credential, opts []Option) (*ClientApplication, error) {
	if strings.TrimSpace(clientID) == "" {
		return nil, errors.New("identity: client id is empty")
	}
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.authority != "" && cfg.oidcAuthority != "" {
		return nil, errors.New("identity: set WithAuthority or WithOIDCAuthority, not both")
	}
	if cfg.authority == "" && cfg.oidcAuthority == "" {
		cfg.authority = DefaultAuthority
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &ClientApplication{
		clientID:   clientID,
		credential: cred,
		cfg:        cfg,
		cache:      cfg.tokenCache,
		log:        cfg.logger,
	}
	if a.cache == nil {
		a.cache = NewTokenCache()
	}
	a.endpoint, a.tokens = clientEndpoint{a}, a.cache
	w, err := newTransport(&a.cfg)
	if err != nil {
		return nil, err
	}
	a.transport = w
	return a, nil
}

// ClientID returns the application (client) id.
func (a *ClientApplication) ClientID() string { return a.clientID }

// TokenCache returns the cache this client reads and writes.
func (a *ClientApplication) TokenCache() *TokenCache { return a.cache }

// IsPoPSupported reports whether Proof-of-Possession tokens are supported (MSAL:
// is_pop_supported). PoP needs a broker, and no broker exists here, so it is false.
func (a *ClientApplication) IsPoPSupported() bool { return false }

// now is the clock every expiry decision uses.
func (a *ClientApplication) now() time.Time { return a.cfg.now() }
