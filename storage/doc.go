// Package storage keeps Tokendesk's state on disk: the token cache, encrypted with a key
// held in the OS keyring, and the human-editable app configuration (config.json).
//
// The token cache lives in the Tokendesk directory (DefaultDir) as per-account records,
// their entries kept in blocks of one section each, and a small index (cache.idx)
// saying where each account's entries are, all sealed with
// AES-256-GCM under a random 32-byte key that lives in the OS keyring (service
// "tokendesk", user "cache-key"), so only a small secret ever goes to the keyring
// (Windows caps a secret at 2,560 bytes, macOS at about 3,000) and the keyring is asked
// once per process start. CacheStore implements identity.CacheHook: every change by any
// Tokendesk process (window, tray, CLI) runs under a lock file, rewrites only the
// records that changed and then the index by atomic rename, and a process re-reads only
// when the index changed. AccountsHook and AccountsView let a short-lived process (the
// CLI) decrypt only the accounts a command is about, or only the index and the Account
// entries; a cache in an earlier format (one file, or one sealed record per account) is
// converted on first use.
//
// config.json changes are read-modify-writes under config.lock (UpdateConfig), and
// RefreshLocks keeps one lock file per account so only one process at a time refreshes
// it. Lock files are opened without following symbolic links; SecureDir makes the
// directory private (0700) when it is Tokendesk's.
//
// Failures are explicit: a hung keyring daemon yields ErrKeyringTimeout (remembered, so
// it costs one wait per process), a missing Secret Service ErrKeyringUnavailable, a busy
// lock ErrLockTimeout; an undecryptable cache is
// moved aside and reported as a Notice. Writing the cache in plaintext happens only when
// the caller opts in with WithPlaintext (config: allow_plaintext_cache), and
// (*CacheStore).Plaintext tells the UI to show a warning.
//
// Config files: config.go (types, defaults, load and save), config_json.go (parsing
// with line and column for every problem), config_validate.go (what config.json may
// say; each profile is checked by profile.Check, the rule the window's form follows too)
// and keyring_secret.go (profiles' client secrets, which never go into config.json).
// storage imports identity (it implements identity.CacheHook) and profile (config.json
// stores profile.Profile as it is), and nothing of usecase, ui or cli. README.md beside this file documents the config file format.
package storage
