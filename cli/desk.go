package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// Run executes the command line args (without the program name) against desk and
// returns the process exit code (ExitOK, ExitError, ExitUsage,
// ExitInteractionRequired or ExitNotFound). Tokens and data go to stdout, messages to
// stderr. Ctrl+C cancels a running command (a sign-in stops waiting). desk may be nil
// when the app could not be set up; then only help and version work, and every other
// command reports why with ExitError.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, desk *usecase.Desk) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	var svc service = deskService{desk}
	if desk == nil {
		svc = unavailable{errors.New("tokendesk is not set up: the token cache or configuration could not be opened")}
	}
	return run(ctx, args, &env{
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		getenv: os.Getenv,
		svc:    svc,
	})
}

// RunUnavailable is Run for when no Desk could be built (no keyring, a bad
// config.json, an unwritable directory): help and version still work, and every other
// command fails with ExitError and setupErr, which should say what to fix.
func RunUnavailable(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, setupErr error) int {
	if setupErr == nil {
		setupErr = errors.New("tokendesk is not set up")
	}
	return run(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, svc: unavailable{setupErr}})
}

// deskService adapts *usecase.Desk to service: the only code here that follows
// usecase's types.
type deskService struct{ d *usecase.Desk }

func (s deskService) Accounts(ctx context.Context) ([]account, error) {
	views, err := s.d.Accounts(ctx)
	out := make([]account, 0, len(views))
	for _, v := range views {
		out = append(out, accountOf(v))
	}
	return out, mapErr(err)
}

func (s deskService) FindAccount(ctx context.Context, query, profile string) (account, error) {
	v, err := s.d.FindAccount(ctx, query, profile)
	if err != nil {
		return account{}, mapErr(err)
	}
	return accountOf(v), nil
}

func (s deskService) Profiles(ctx context.Context) ([]profileRow, error) {
	ps, err := s.d.Profiles(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]profileRow, 0, len(ps))
	for i, p := range ps {
		out = append(out, profileRow{
			Name:          p.Name,
			Authority:     p.AuthorityURL(),
			ClientID:      p.ClientID,
			Scopes:        p.FavouriteScopes,
			DefaultScopes: p.SignInScopes,
			Default:       i == 0, // usecase: the first profile is the default
		})
	}
	return out, nil
}

func (s deskService) SignIn(ctx context.Context, req loginRequest) (account, error) {
	v, err := s.d.SignIn(ctx, req.Profile, usecase.SignInOptions{
		LoginHint: req.LoginHint,
		AddScopes: req.AddScopes,
		Claims:    req.Claims,
		OnAuthURL: req.OnURL,
	})
	if err != nil {
		return account{}, mapErr(err)
	}
	return accountOf(v), nil
}

func (s deskService) SignInWithDeviceCode(ctx context.Context, req loginRequest) (account, error) {
	v, err := s.d.SignInWithDeviceCode(ctx, req.Profile, usecase.DeviceCodeOptions{
		AddScopes: req.AddScopes,
		OnCode: func(dc usecase.DeviceCode) {
			req.OnDeviceCode(deviceCode{
				UserCode:                dc.UserCode,
				VerificationURI:         dc.VerificationURI,
				VerificationURIComplete: dc.VerificationURIComplete,
				Message:                 dc.Message,
				ExpiresAt:               dc.ExpiresAt,
			})
		},
	})
	if err != nil {
		return account{}, mapErr(err)
	}
	return accountOf(v), nil
}

func (s deskService) Token(ctx context.Context, key string, scopes []string, force bool) (token, error) {
	res, err := s.d.Token(ctx, key, scopes, force)
	if err != nil {
		return token{}, mapErr(err)
	}
	return tokenOf(res), nil
}

// tokenOf converts identity's result.
func tokenOf(res identity.Result) token {
	return token{
		AccessToken: res.AccessToken,
		TokenType:   res.TokenType,
		ExpiresOn:   res.ExpiresOn,
		Scopes:      res.Scopes,
		Account: account{
			Key:       usecase.AccountKey(res.Account),
			Username:  res.Account.Username,
			Name:      res.Account.Name,
			Tenant:    tenantOf(res.Account),
			Authority: res.Account.Environment,
		},
	}
}

// tenantOf is what az calls the tenant: the realm, except that an account signed in at
// a common authority by MSAL Python (Azure CLI) has the realm "organizations" or
// "common", which is no tenant; its home tenant is.
func tenantOf(a identity.Account) string {
	switch strings.ToLower(a.Realm) {
	case "", "common", "organizations", "consumers":
		if _, utid, ok := strings.Cut(a.HomeAccountID, "."); ok {
			return utid
		}
	}
	return a.Realm
}

func (s deskService) SignOut(ctx context.Context, key string) error {
	return mapErr(s.d.SignOut(ctx, key))
}

func (s deskService) SetProfileSecret(ctx context.Context, profile, secret string) error {
	return mapErr(s.d.SetProfileSecret(ctx, profile, secret))
}

func accountOf(v usecase.AccountView) account {
	status, _ := v.Status.MarshalText()
	return account{
		Key:       v.Key,
		Username:  v.Username,
		Name:      v.DisplayName,
		Tenant:    v.TenantOrIssuer,
		Authority: v.Account.Environment,
		Profile:   v.Profile,
		Status:    string(status),
	}
}

// mappedError keeps usecase's message and chain, and adds the CLI sentinel that
// decides the exit code.
type mappedError struct{ err, kind error }

func (e *mappedError) Error() string   { return e.err.Error() }
func (e *mappedError) Unwrap() []error { return []error{e.err, e.kind} }

// mapErr tags usecase's sentinels with the CLI's.
func mapErr(err error) error {
	var kind error
	var need *usecase.SignInNeededError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &need):
		return &signInNeeded{err: err, profile: need.Account.Profile, username: need.Account.Username, scopes: need.Scopes, claims: need.Claims}
	case errors.Is(err, usecase.ErrAmbiguousAccount):
		kind = errAmbiguousAccount
	case errors.Is(err, usecase.ErrNoAccount):
		kind = errNoSuchAccount
	case errors.Is(err, usecase.ErrNoProfile):
		kind = errNoSuchProfile
	default:
		return err
	}
	return &mappedError{err: err, kind: kind}
}

// unavailable is the service when no Desk could be built: every call fails with why.
type unavailable struct{ err error }

func (u unavailable) Accounts(context.Context) ([]account, error) { return nil, u.err }
func (u unavailable) FindAccount(context.Context, string, string) (account, error) {
	return account{}, u.err
}
func (u unavailable) Profiles(context.Context) ([]profileRow, error)         { return nil, u.err }
func (u unavailable) SetProfileSecret(context.Context, string, string) error { return u.err }
func (u unavailable) SignIn(context.Context, loginRequest) (account, error) {
	return account{}, u.err
}
func (u unavailable) SignInWithDeviceCode(context.Context, loginRequest) (account, error) {
	return account{}, u.err
}
func (u unavailable) Token(context.Context, string, []string, bool) (token, error) {
	return token{}, u.err
}
func (u unavailable) SignOut(context.Context, string) error { return u.err }
