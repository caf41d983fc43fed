// Package usecase is what Tokendesk does, independent of how it is shown: manage
// profiles, sign in, list accounts, get a token for a scope, sign out. The window (ui)
// and the command line (cli) both drive a *Desk, so an account signed in once serves
// both and the two never disagree about what an account's status is.
//
// A Desk's I/O sits behind small interfaces declared here and given in Deps (kubelogin
// style): ConfigStore, SecretStore, CacheIndex and RefreshLocker, the shared
// identity.TokenCache (persisted through its CacheHook), the browser opener, the HTTP
// client and the clock; tests hand in fakes. Nothing here imports storage, ui or Fyne:
// internal/app builds the real parts (storage's config.json, keyring and encrypted
// cache) and adapts them to these interfaces, and main calls it.
// Profiles are profile.Profile, the type config.json stores and the window and CLI
// show. Rules shared with other packages are called, not copied: profile.Check (which
// applies identity.CheckAuthority and loopback.CheckRedirectURI) for a profile's fields,
// and identity's own discovery (ClientApplication.Discover) when a profile is added.
//
// Errors are values: ErrNoAccount, ErrAmbiguousAccount, ErrNoProfile, ErrNoScope and
// ErrProfileInvalid are sentinels to test with errors.Is; errors after which only the
// user can help match identity.ErrInteractionRequired; an authority's answer is an
// *identity.Error reachable with errors.As. Storage that cannot be opened comes as a
// *StorageError of a kind declared here (ErrKeyringUnavailable, ErrStorageBusy,
// ErrConfigInvalid), which internal/app gives storage's errors.
package usecase
