// Package identity is a Go implementation of MSAL's ClientApplication: public and
// confidential OAuth 2.0 / OpenID Connect clients for Microsoft Entra (and B2C, CIAM,
// AD FS) and any OpenID Connect issuer, with MSAL's unified token cache.
//
// It imports no storage or UI code: persistence plugs in through CacheHook, the browser
// and redirect listener through options of AcquireTokenInteractive.
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
//	client_credential                        *Credential (NewSecretCredential, ...)
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
//	http_cache                               WithHTTPCache (*HTTPCache)
//	instance_discovery                       WithInstanceDiscovery
//	allow_broker                             WithBroker (accepted; no broker exists here)
//	enable_pii_log                           WithPIILogging
//	oidc_authority                           WithOIDCAuthority
//
//	Methods
//	acquire_token_by_auth_code_flow          AcquireTokenByAuthCodeFlow
//	acquire_token_by_authorization_code      AcquireTokenByAuthorizationCode
//	acquire_token_by_refresh_token           AcquireTokenByRefreshToken
//	acquire_token_by_username_password       AcquireTokenByUsernamePassword
//	acquire_token_silent                     AcquireTokenSilent (ErrInteractionRequired for None)
//	acquire_token_silent_with_error          AcquireTokenSilentWithError
//	get_accounts                             Accounts
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
// Per-call keyword arguments (prompt, login_hint, force_refresh, claims_challenge, ...)
// are CallOptions: WithPrompt, WithLoginHint, WithForceRefresh, WithClaimsChallenge, ...
//
// Errors from an authority are *Error values carrying the server's error, description,
// codes, correlation id and claims; errors.Is(err, ErrInteractionRequired) tells when
// only the user can help.
package identity
