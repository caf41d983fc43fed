// Package identity is a Go implementation of MSAL's ClientApplication: public and
// confidential OAuth 2.0 / OpenID Connect clients for Microsoft Entra (and B2C, CIAM,
// AD FS) and any OpenID Connect issuer, with MSAL's unified token cache.
//
// Most programs need five calls: make a client, list the accounts its cache knows,
// get a token silently, sign in interactively when that is not possible, and sign out:
//
//	app, err := identity.NewPublicClient(clientID,
//		identity.WithAuthority("https://login.microsoftonline.com/organizations"),
//		identity.WithTokenCache(cache)) // persisted through a CacheHook
//	accounts, err := app.Accounts(ctx, "")
//	var res identity.Result
//	err = identity.ErrInteractionRequired
//	if accounts.Len() > 0 {
//		res, err = app.AcquireTokenSilent(ctx, scopes, accounts.At(0))
//	}
//	if errors.Is(err, identity.ErrInteractionRequired) {
//		res, err = app.AcquireTokenInteractive(ctx, scopes) // browser + loopback redirect
//	}
//	// use res.AccessToken until res.ExpiresOn; to sign out:
//	err = app.RemoveAccount(ctx, res.Account)
//
// (Example_fiveCalls is this, compiled.) Every other MSAL Python call has a Go
// counterpart; the map below names them all.
//
// It imports no storage or UI code (only loopback, for the redirect listener and its
// loopback-host rule): persistence plugs in through CacheHook, the browser and redirect
// listener through options of AcquireTokenInteractive. CheckAuthority is the rule for
// an authority or issuer URL, for programs that store one; Discover resolves one ahead
// of the first token request.
//
// # From MSAL Python to Go
//
// Every name of MSAL Python's ClientApplication (and of its two subclasses' methods
// used here) has a Go counterpart:
//
//	MSAL Python                              Go
//	-----------                              --
//	ClientApplication                        ClientApplication (embedded in both clients)
//	PublicClientApplication(...)             NewPublicClient(clientID, opts...)
//	ConfidentialClientApplication(...)       NewConfidentialClient(clientID, cred, opts...)
//
//	Constructor parameters
//	client_id                                clientID argument
//	client_credential="secret"               NewSecretCredential
//	client_credential={private_key, ...}     NewCertificateCredential (ParseCertificatePEM reads PEM)
//	  "public_certificate" (send x5c)        WithX5C (a CredentialOption)
//	client_credential={client_assertion}     NewAssertionCredential, NewAssertionCallbackCredential
//	authority                                WithAuthority
//	validate_authority                       WithValidateAuthority
//	token_cache                              WithTokenCache (*TokenCache)
//	http_client                              WithHTTPClient
//	verify                                   WithTLSConfig
//	proxies                                  WithProxy
//	timeout                                  WithTimeout
//	client_claims                            WithClientClaims
//	app_name                                 WithAppName
//	app_version                              WithAppVersion
//	client_capabilities                      WithClientCapabilities
//	azure_region                             WithAzureRegion
//	exclude_scopes                           WithExcludeScopes
//	http_cache                               WithHTTPCache (*HTTPCache: NewHTTPCache,
//	                                         MarshalBinary/UnmarshalBinary to persist it)
//	instance_discovery                       WithInstanceDiscovery
//	allow_broker                             WithBroker (accepted; no broker exists here)
//	enable_pii_log                           WithPIILogging
//	oidc_authority                           WithOIDCAuthority
//	(not in MSAL) installed-app secret       WithInstalledAppSecret (public clients)
//	(not in MSAL) lifetime-based expiry      WithExpiryMargin, ProportionalExpiryMargin
//	              margin (default: MSAL's fixed 5 minutes)
//
//	Methods
//	acquire_token_by_auth_code_flow          AcquireTokenByAuthCodeFlow
//	acquire_token_by_authorization_code      AcquireTokenByAuthorizationCode
//	acquire_token_by_refresh_token           AcquireTokenByRefreshToken
//	acquire_token_by_username_password       AcquireTokenByUsernamePassword
//	acquire_token_silent                     AcquireTokenSilent (ErrInteractionRequired for None)
//	acquire_token_silent_with_error          AcquireTokenSilentWithError
//	get_accounts                             Accounts (a read-only AccountList; Slice copies)
//	get_authorization_request_url            AuthorizationRequestURL
//	initiate_auth_code_flow                  InitiateAuthCodeFlow
//	is_pop_supported                         IsPoPSupported
//	remove_account                           RemoveAccount
//	acquire_token_interactive (public)       PublicClient.AcquireTokenInteractive
//	initiate_device_flow (public)            PublicClient.InitiateDeviceFlow
//	acquire_token_by_device_flow (public)    PublicClient.AcquireTokenByDeviceFlow
//	acquire_token_for_client (confidential)  ConfidentialClient.AcquireTokenForClient
//	acquire_token_on_behalf_of (confidential) ConfidentialClient.AcquireTokenOnBehalfOf
//	remove_tokens_for_client (confidential)  ConfidentialClient.RemoveTokensForClient
//
//	Constants
//	ACQUIRE_TOKEN_SILENT_ID = '84'           APIAcquireTokenSilent
//	ACQUIRE_TOKEN_BY_REFRESH_TOKEN = '85'    APIAcquireTokenByRefreshToken
//	ACQUIRE_TOKEN_INTERACTIVE = '169'        APIAcquireTokenInteractive
//	ACQUIRE_TOKEN_BY_USERNAME_PASSWORD_ID    APIAcquireTokenByUsernamePassword ('301')
//	ACQUIRE_TOKEN_ON_BEHALF_OF_ID = '523'    APIAcquireTokenOnBehalfOf
//	ACQUIRE_TOKEN_BY_DEVICE_FLOW_ID = '622'  APIAcquireTokenByDeviceFlow
//	ACQUIRE_TOKEN_FOR_CLIENT_ID = '730'      APIAcquireTokenForClient
//	ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE_ID   APIAcquireTokenByAuthorizationCode ('832')
//	GET_ACCOUNTS_ID = '902'                  APIGetAccounts
//	REMOVE_ACCOUNT_ID = '903'                APIRemoveAccount
//	ATTEMPT_REGION_DISCOVERY = True          AutoDetectRegion (for WithAzureRegion)
//
//	Values passed and returned
//	auth_code_flow (dict)                    *AuthCodeFlow (narrow Scopes for scopes=)
//	auth_response (dict)                     url.Values
//	initiate_device_flow's flow (dict)       *DeviceFlow (stop polling by cancelling ctx)
//	account (dict)                           Account
//	result dict with "access_token"          Result
//	result["id_token_claims"]                Result.IDTokenClaims (read-only Claims; Map copies)
//	result dict with "error"                 *Error (ErrThrottled when answered from
//	                                         throttling memory)
//	ValueError on state / nonce mismatch     ErrStateMismatch / ErrNonceMismatch
//	RuntimeError on a bad id_token           ErrInvalidIDToken (ErrIssuerMismatch for iss)
//
//	Keyword arguments (CallOption)
//	authority= (silent, other tenant)        WithRequestAuthority
//	force_refresh=                           WithForceRefresh
//	claims_challenge=                        WithClaimsChallenge
//	redirect_uri=                            WithRedirectURI
//	state=, nonce=                           WithState, WithNonce
//	prompt=, login_hint=, domain_hint=       WithPrompt, WithLoginHint, WithDomainHint
//	max_age=                                 WithMaxAge
//	response_mode=, response_type=           WithResponseMode, WithResponseType
//	extra query parameters                   WithExtraQueryParameters
//	code_verifier (PKCE, with a bare code)   WithCodeVerifier
//
//	acquire_token_interactive's keywords (InteractiveOption)
//	prompt=, login_hint=, domain_hint=       WithInteractivePrompt, WithInteractiveLoginHint,
//	                                         WithInteractiveDomainHint
//	claims_challenge=, max_age=              WithInteractiveClaimsChallenge, WithInteractiveMaxAge
//	port=, timeout=                          WithPort, WithInteractiveTimeout
//	success_template=, error_template=       WithSuccessTemplate, WithErrorTemplate
//	on_before_launching_ui=                  WithOnBeforeLaunchingUI
//	response_mode="form_post"                WithInteractiveResponseMode
//	(browser and listener, injectable)       WithOpener, WithListener
//	any CallOption                           WithCallOptions
//
//	Token cache
//	SerializableTokenCache                   TokenCache (NewTokenCache)
//	serialize() / deserialize()              Serialize / Deserialize
//	has_state_changed                        HasChanged
//	(persistence, msal-extensions style)     CacheHook, WithCacheHook
//
// Errors from an authority are *Error values carrying the server's error, description,
// codes, correlation id and claims; errors.Is(err, ErrInteractionRequired) tells when
// only the user can help.
package identity
