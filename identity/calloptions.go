package identity

import "time"

// CallOption tunes one acquisition call (MSAL Python's keyword arguments). Each method
// documents which options it reads; the others are ignored.
type CallOption func(*callConfig)

// callConfig is the union of every per-call setting.
type callConfig struct {
	authority       string // authority= of acquire_token_silent: another tenant of the same cloud
	forceRefresh    bool
	claimsChallenge string
	redirectURI     string
	state           string
	nonce           string
	prompt          string
	loginHint       string
	domainHint      string
	maxAge          *time.Duration
	responseMode    string
	responseType    string
	extraQuery      map[string]string
	userAssertion   string
	codeVerifier    string
	// interactive-only settings live in interactive.go's options.
}

// Prompt values (OpenID Connect Core §3.1.2.1).
const (
	PromptNone          = "none"
	PromptLogin         = "login"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
	PromptCreate        = "create"
)

// WithRequestAuthority overrides the client's authority for one call, typically another
// tenant of the same cloud (MSAL: authority= of acquire_token_silent).
func WithRequestAuthority(authority string) CallOption {
	return func(c *callConfig) { c.authority = authority }
}

// WithForceRefresh skips the cached access token and redeems the refresh token.
func WithForceRefresh() CallOption { return func(c *callConfig) { c.forceRefresh = true } }

// WithClaimsChallenge passes a claims challenge from a resource's WWW-Authenticate
// header; it also skips the cached access token.
func WithClaimsChallenge(claims string) CallOption {
	return func(c *callConfig) { c.claimsChallenge = claims }
}

// WithRedirectURI sets redirect_uri.
func WithRedirectURI(uri string) CallOption { return func(c *callConfig) { c.redirectURI = uri } }

// WithState sets the CSRF state; by default a random one is generated.
func WithState(state string) CallOption { return func(c *callConfig) { c.state = state } }

// WithNonce sets the OpenID nonce to send, or (when redeeming a code) to expect.
func WithNonce(nonce string) CallOption { return func(c *callConfig) { c.nonce = nonce } }

// WithCodeVerifier sends the PKCE code_verifier (RFC 7636 §4.5) when redeeming a code
// with AcquireTokenByAuthorizationCode; AcquireTokenByAuthCodeFlow sends its own.
func WithCodeVerifier(verifier string) CallOption {
	return func(c *callConfig) { c.codeVerifier = verifier }
}

// WithPrompt sets prompt (PromptLogin, PromptConsent, …). None is sent by default.
func WithPrompt(prompt string) CallOption { return func(c *callConfig) { c.prompt = prompt } }

// WithLoginHint pre-fills the username at the sign-in page.
func WithLoginHint(hint string) CallOption { return func(c *callConfig) { c.loginHint = hint } }

// WithDomainHint skips home realm discovery ("consumers", "organizations", "contoso.com").
func WithDomainHint(hint string) CallOption { return func(c *callConfig) { c.domainHint = hint } }

// WithMaxAge sets max_age; the ID token's auth_time is then checked against it.
func WithMaxAge(d time.Duration) CallOption { return func(c *callConfig) { c.maxAge = &d } }

// WithResponseMode sets response_mode ("query" or "form_post").
func WithResponseMode(mode string) CallOption { return func(c *callConfig) { c.responseMode = mode } }

// WithResponseType sets response_type of AuthorizationRequestURL (default "code").
func WithResponseType(t string) CallOption { return func(c *callConfig) { c.responseType = t } }

// WithExtraQueryParameters adds parameters to the authorization request.
func WithExtraQueryParameters(params map[string]string) CallOption {
	return func(c *callConfig) { c.extraQuery = params }
}

func applyCallOptions(opts []CallOption) callConfig {
	var c callConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// APIID identifies the calling API in the telemetry header (MSAL's *_ID constants).
type APIID string

// Telemetry API ids, as MSAL Python's ClientApplication constants.
const (
	APIAcquireTokenSilent              APIID = "84"  // ACQUIRE_TOKEN_SILENT_ID
	APIAcquireTokenByRefreshToken      APIID = "85"  // ACQUIRE_TOKEN_BY_REFRESH_TOKEN
	APIAcquireTokenInteractive         APIID = "169" // ACQUIRE_TOKEN_INTERACTIVE
	APIAcquireTokenByUsernamePassword  APIID = "301" // ACQUIRE_TOKEN_BY_USERNAME_PASSWORD_ID
	APIAcquireTokenOnBehalfOf          APIID = "523" // ACQUIRE_TOKEN_ON_BEHALF_OF_ID
	APIAcquireTokenByDeviceFlow        APIID = "622" // ACQUIRE_TOKEN_BY_DEVICE_FLOW_ID
	APIAcquireTokenForClient           APIID = "730" // ACQUIRE_TOKEN_FOR_CLIENT_ID
	APIAcquireTokenByAuthorizationCode APIID = "832" // ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE_ID
	APIGetAccounts                     APIID = "902" // GET_ACCOUNTS_ID
	APIRemoveAccount                   APIID = "903" // REMOVE_ACCOUNT_ID
)
