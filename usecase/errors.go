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
