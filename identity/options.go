package identity

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Option configures a client application (functional options; see the package doc
// for the mapping from MSAL Python's constructor parameters).
type Option func(*config)

// config holds every constructor setting. Zero values mean MSAL's defaults.
type config struct {
	authority          string                                // authority=
	oidcAuthority      string                                // oidc_authority=
	validateAuthority  *bool                                 // validate_authority= (nil: default true)
	instanceDiscovery  *bool                                 // instance_discovery= (nil: default, enabled)
	tokenCache         *TokenCache                           // token_cache=
	httpClient         *http.Client                          // http_client=
	tlsConfig          *tls.Config                           // verify=
	proxy              func(*http.Request) (*url.URL, error) // proxies=
	timeout            time.Duration                         // timeout=
	clientClaims       map[string]any
	appName            string
	appVersion         string
	clientCapabilities []string
	azureRegion        string // azure_region=; "" off, AutoDetectRegion to discover
	regionEndpoint     string // IMDS address (WithRegionDiscoveryEndpoint)
	excludeScopes      []string
	httpCache          *HTTPCache
	allowBroker        bool
	piiLogging         bool
	logger             *slog.Logger
	installedAppSecret string
	now                func() time.Time
	expiryMargin       func(lifetime time.Duration) time.Duration // nil: MSAL's 5 minutes
}

// WithAuthority sets the authority URL, such as
// "https://login.microsoftonline.com/organizations" (MSAL: authority=). The default is
// "https://login.microsoftonline.com/common".
func WithAuthority(authority string) Option { return func(c *config) { c.authority = authority } }

// WithOIDCAuthority sets a generic OpenID Connect issuer (MSAL: oidc_authority=); its
// metadata is read from <issuer>/.well-known/openid-configuration and the issuer is checked.
func WithOIDCAuthority(issuer string) Option { return func(c *config) { c.oidcAuthority = issuer } }

// WithValidateAuthority turns authority validation on or off (MSAL: validate_authority=).
func WithValidateAuthority(validate bool) Option {
	return func(c *config) { c.validateAuthority = &validate }
}

// WithInstanceDiscovery turns Entra instance discovery on or off (MSAL: instance_discovery=).
func WithInstanceDiscovery(enabled bool) Option {
	return func(c *config) { c.instanceDiscovery = &enabled }
}

// WithTokenCache shares cache between client applications (MSAL: token_cache=). By
// default each client has its own in-memory cache.
func WithTokenCache(cache *TokenCache) Option { return func(c *config) { c.tokenCache = cache } }

// WithHTTPClient sets the HTTP client for every request (MSAL: http_client=). When set,
// WithTLSConfig, WithProxy and WithTimeout do not apply, its own timeouts replace
// identity's defaults (DefaultRequestTimeout and the rest), and retries are its duty.
// Its CheckRedirect is replaced: requests carrying credentials never follow a redirect
// (ErrRedirectRefused).
func WithHTTPClient(client *http.Client) Option { return func(c *config) { c.httpClient = client } }

// WithTLSConfig sets the TLS settings of the default HTTP client, for example a CA bundle
// in RootCAs (MSAL: verify=).
func WithTLSConfig(cfg *tls.Config) Option { return func(c *config) { c.tlsConfig = cfg } }

// WithProxy sets the proxy function of the default HTTP client (MSAL: proxies=).
func WithProxy(proxy func(*http.Request) (*url.URL, error)) Option {
	return func(c *config) { c.proxy = proxy }
}

// WithTimeout bounds each whole HTTP request of the default HTTP client (MSAL:
// timeout=); the default is DefaultRequestTimeout. A request that runs out of time
// fails with an error matching ErrTimeout.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithClientClaims adds claims to, or overrides defaults of, the signed client assertion
// of a confidential client (MSAL: client_claims=).
func WithClientClaims(claims map[string]any) Option {
	return func(c *config) { c.clientClaims = claims }
}

// WithAppName sends x-app-name for the authority's telemetry (MSAL: app_name=).
func WithAppName(name string) Option { return func(c *config) { c.appName = name } }

// WithAppVersion sends x-app-ver for the authority's telemetry (MSAL: app_version=).
func WithAppVersion(version string) Option { return func(c *config) { c.appVersion = version } }

// WithClientCapabilities declares capabilities such as "CP1" (MSAL: client_capabilities=);
// they travel in the claims parameter.
func WithClientCapabilities(capabilities ...string) Option {
	return func(c *config) { c.clientCapabilities = capabilities }
}

// AutoDetectRegion asks WithAzureRegion to discover the region (MSAL: ATTEMPT_REGION_DISCOVERY).
const AutoDetectRegion = "TryAutoDetect"

// WithAzureRegion uses Entra's regional token service (MSAL: azure_region=): a region
// name, or AutoDetectRegion.
func WithAzureRegion(region string) Option { return func(c *config) { c.azureRegion = region } }

// WithRegionDiscoveryEndpoint overrides the instance metadata endpoint used by
// AutoDetectRegion (default http://169.254.169.254/metadata/instance/compute/location).
// Tests point it at 127.0.0.1.
func WithRegionDiscoveryEndpoint(endpoint string) Option {
	return func(c *config) { c.regionEndpoint = endpoint }
}

// WithExcludeScopes removes reserved scopes, such as "offline_access", from every
// request (MSAL: exclude_scopes=).
func WithExcludeScopes(scopes ...string) Option { return func(c *config) { c.excludeScopes = scopes } }

// WithHTTPCache caches discovery and instance-discovery responses in cache, which a CLI
// may persist between runs (MSAL: http_cache=).
func WithHTTPCache(cache *HTTPCache) Option { return func(c *config) { c.httpCache = cache } }

// WithBroker is accepted for parity with MSAL (allow_broker=) but no broker exists on
// this platform: requests never go through one.
func WithBroker(allow bool) Option { return func(c *config) { c.allowBroker = allow } }

// WithPIILogging lets logs include usernames and object ids (MSAL: enable_pii_log=).
// Tokens, codes and secrets are never logged either way.
func WithPIILogging(enabled bool) Option { return func(c *config) { c.piiLogging = enabled } }

// WithInstalledAppSecret makes a public client send client_secret with its token
// requests. Some providers (Google, for one) issue "installed app" clients a secret that
// is not confidential, since it ships inside every copy of the app, yet require it at
// the token endpoint. It is not a confidential client's credential and confers no
// trust; use NewConfidentialClient for that. It is ignored for confidential clients.
func WithInstalledAppSecret(secret string) Option {
	return func(c *config) { c.installedAppSecret = secret }
}

// WithLogger sets the slog logger (default: discard).
func WithLogger(logger *slog.Logger) Option { return func(c *config) { c.logger = logger } }

// WithClock replaces time.Now as the clock of every expiry decision (a program with its
// own clock; tests pin one).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }
