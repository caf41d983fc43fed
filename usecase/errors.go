package usecase

import "errors"

// ErrNoAccount means no signed-in account matched the key or username given.
var ErrNoAccount = errors.New("usecase: no such account")

// ErrAmbiguousAccount means a username (or an empty query) matched more than one account;
// the caller should ask for an account key instead.
var ErrAmbiguousAccount = errors.New("usecase: more than one account matches")

// ErrNoProfile means no profile has the name given.
var ErrNoProfile = errors.New("usecase: no such profile")

// ErrProfileInvalid is matched by every validation failure of AddProfile (bad name,
// duplicate, malformed issuer, unreachable or inconsistent discovery document).
var ErrProfileInvalid = errors.New("usecase: invalid profile")

// ErrNoScope means a token was asked for without any scope.
var ErrNoScope = errors.New("usecase: no scope given")

// ErrDefaultScope means RemoveScope was asked to remove one of the profile's default
// scopes, which belong to the profile, not to the account.
var ErrDefaultScope = errors.New("usecase: scope is a profile default")

// Kinds of failure to open a Desk's storage (the token cache, its key in the OS keyring,
// config.json). internal/app classifies storage's errors into them as a *StorageError,
// so the window and the CLI can say how to fix each without importing storage.
var (
	// ErrKeyringUnavailable: the OS keyring that keeps the token cache's key is missing,
	// locked, or does not answer.
	ErrKeyringUnavailable = errors.New("usecase: the OS keyring is unavailable")
	// ErrStorageBusy: another Tokendesk process held the token cache's lock too long.
	ErrStorageBusy = errors.New("usecase: the token cache is busy")
	// ErrConfigInvalid: config.json is not valid; the error names each bad line and
	// field.
	ErrConfigInvalid = errors.New("usecase: the configuration is not valid")
)

// StorageError is a failure to open storage together with its kind. Its text is Err's
// own, which says what happened (a kind says only what to do about it), and errors.Is
// and errors.As match both Kind and everything in Err's chain.
type StorageError struct {
	// Kind is ErrKeyringUnavailable, ErrStorageBusy or ErrConfigInvalid.
	Kind error
	// Err is the failure itself.
	Err error
}

func (e *StorageError) Error() string { return e.Err.Error() }

// Unwrap returns Kind and Err.
func (e *StorageError) Unwrap() []error { return []error{e.Kind, e.Err} }
