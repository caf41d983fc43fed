package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/usecase"
)

// Desk is the part of the use-case layer the command line uses, over usecase's own
// types: *usecase.Desk implements it, and the tests hand in a fake (as the window does
// with ui.Desk). Accounts are named by a key or username and the Desk resolves them, so
// the window and the CLI never disagree about which account a name means. Errors are
// usecase's and identity's, which exitCode maps onto the exit codes.
type Desk interface {
	// Accounts lists every signed-in account. When some profile failed, the accounts of
	// the others come back together with the error.
	Accounts(ctx context.Context) ([]usecase.AccountView, error)
	// FindAccount returns the one account whose key, or else username, is query, among
	// the accounts of profile ("" = any); an empty query matches every account. No
	// match is usecase.ErrNoAccount, several usecase.ErrAmbiguousAccount.
	FindAccount(ctx context.Context, query, profile string) (usecase.AccountView, error)
	// Profiles lists the configured profiles, the default first.
	Profiles(ctx context.Context) ([]profile.Profile, error)
	// SignIn signs in through the system browser (loopback redirect). When no browser
	// can be opened the error matches identity.ErrBrowserUnavailable.
	SignIn(ctx context.Context, profile string, opts usecase.SignInOptions) (usecase.AccountView, error)
	// SignInWithDeviceCode signs in with the device authorization grant.
	SignInWithDeviceCode(ctx context.Context, profile string, opts usecase.DeviceCodeOptions) (usecase.AccountView, error)
	// Token returns an access token silently: from the cache, or by refreshing. It never
	// interacts; errors.Is(err, identity.ErrInteractionRequired) when only a sign-in helps.
	Token(ctx context.Context, accountKey string, scopes []string, forceRefresh bool) (identity.Result, error)
	// TokenInTenant is Token for another tenant of the account's cloud ("" = its own),
	// for "tokendesk az".
	TokenInTenant(ctx context.Context, accountKey string, scopes []string, tenant string) (identity.Result, error)
	// SignOut removes the account's tokens.
	SignOut(ctx context.Context, accountKey string) error
	// SetProfileSecret keeps profile's installed-app client secret in the keyring
	// ("" removes it).
	SetProfileSecret(ctx context.Context, profile, secret string) error
	// ImportMSALCache adds the accounts of an MSAL token cache (its bytes) to the
	// profiles whose client ids issued their tokens.
	ImportMSALCache(ctx context.Context, data []byte) (usecase.ImportResult, error)
	// ExportMSALCache returns the tokens of one account (key; "" = all) as an MSAL
	// token cache.
	ExportMSALCache(ctx context.Context, accountKey string) ([]byte, error)
	// GitCredential returns a username and a fresh access token for git's host; an
	// unmapped host or an account that cannot be chosen is usecase.ErrNoCredential.
	GitCredential(ctx context.Context, host, username string) (usecase.GitCredential, error)
	// ForgetAccessToken drops a cached access token (one git says was refused).
	ForgetAccessToken(ctx context.Context, token string) (bool, error)
}

var _ Desk = (*usecase.Desk)(nil)

// Run executes the command line args (without the program name) against desk and
// returns the process exit code (ExitOK, ExitError, ExitUsage,
// ExitInteractionRequired or ExitNotFound). Tokens and data go to stdout, messages to
// stderr. Ctrl+C cancels a running command (a sign-in stops waiting). desk may be nil
// when the app could not be set up; then only help and version work, and every other
// command reports why with ExitError.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, desk Desk) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if desk == nil {
		desk = unavailable{errors.New("tokendesk is not set up: the token cache or configuration could not be opened")}
	}
	return run(ctx, args, &env{
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		getenv: os.Getenv,
		desk:   desk,
	})
}

// RunUnavailable is Run for when no Desk could be built (no keyring, a bad
// config.json, an unwritable directory): help and version still work, and every other
// command fails with ExitError and setupErr, which should say what to fix.
func RunUnavailable(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, setupErr error) int {
	if setupErr == nil {
		setupErr = errors.New("tokendesk is not set up")
	}
	return run(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, desk: unavailable{setupErr}})
}

// unavailable is the Desk when no real one could be built: every call fails with why.
type unavailable struct{ err error }

func (u unavailable) Accounts(context.Context) ([]usecase.AccountView, error) { return nil, u.err }
func (u unavailable) FindAccount(context.Context, string, string) (usecase.AccountView, error) {
	return usecase.AccountView{}, u.err
}
func (u unavailable) Profiles(context.Context) ([]profile.Profile, error)    { return nil, u.err }
func (u unavailable) SetProfileSecret(context.Context, string, string) error { return u.err }
func (u unavailable) SignIn(context.Context, string, usecase.SignInOptions) (usecase.AccountView, error) {
	return usecase.AccountView{}, u.err
}
func (u unavailable) SignInWithDeviceCode(context.Context, string, usecase.DeviceCodeOptions) (usecase.AccountView, error) {
	return usecase.AccountView{}, u.err
}
func (u unavailable) Token(context.Context, string, []string, bool) (identity.Result, error) {
	return identity.Result{}, u.err
}
func (u unavailable) TokenInTenant(context.Context, string, []string, string) (identity.Result, error) {
	return identity.Result{}, u.err
}
func (u unavailable) SignOut(context.Context, string) error { return u.err }
func (u unavailable) ImportMSALCache(context.Context, []byte) (usecase.ImportResult, error) {
	return usecase.ImportResult{}, u.err
}
func (u unavailable) ExportMSALCache(context.Context, string) ([]byte, error) { return nil, u.err }
func (u unavailable) GitCredential(context.Context, string, string) (usecase.GitCredential, error) {
	return usecase.GitCredential{}, u.err
}
func (u unavailable) ForgetAccessToken(context.Context, string) (bool, error) { return false, u.err }
