// Package usecase is what Tokendesk does, independent of how it is shown: manage
// profiles, sign in, list accounts, get a token for a scope, sign out. The window (ui)
// and the command line (cli) both drive a *Desk, so an account signed in once serves
// both and the two never disagree about what an account's status is.
//
// A Desk's I/O sits behind small seams given in Deps (kubelogin style): the
// configuration store, the profile-secret store, the shared identity.TokenCache
// (persisted by storage through its CacheHook), the browser opener, the HTTP client and
// the clock; tests hand in fakes. The real parts are built here too, by OpenDir (with
// StorageConfig and KeyringSecrets, the adapters over storage's config.json and
// keyring): those files, and narrow.go's view of storage's cache index, are the only
// ones that import storage, and main calls OpenDir. Nothing here imports ui or Fyne.
// Rules shared with other packages are called, not copied: identity.CheckAuthority for
// provider URLs, loopback.CheckRedirectURI for redirect URIs, and identity's own
// discovery (ClientApplication.Discover) when a profile is added.
//
// Errors are values: ErrNoAccount, ErrAmbiguousAccount, ErrNoProfile, ErrNoScope and
// ErrProfileInvalid are sentinels to test with errors.Is; errors after which only the
// user can help match identity.ErrInteractionRequired; an authority's answer is an
// *identity.Error reachable with errors.As.
package usecase
