// Package usecase is what Tokendesk does, independent of how it is shown: manage
// profiles, sign in, list accounts, get a token for a scope, sign out. The window (ui)
// and the command line (cli) both drive a *Desk, so an account signed in once serves
// both and the two never disagree about what an account's status is.
//
// All I/O sits behind small seams given in Deps (kubelogin style): the configuration
// store, the shared identity.TokenCache (persisted by storage through its CacheHook),
// the browser opener, the HTTP client and the clock. Nothing here imports storage, ui
// or Fyne; main wires the real parts together.
//
// Errors are values: ErrNoAccount, ErrAmbiguousAccount, ErrNoProfile, ErrNoScope and
// ErrProfileInvalid are sentinels to test with errors.Is; errors after which only the
// user can help match identity.ErrInteractionRequired; an authority's answer is an
// *identity.Error reachable with errors.As.
package usecase
