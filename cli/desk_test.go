package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/usecase"
)

// TestExitCodes: usecase's and identity's errors, wrapped as they reach a command, map
// onto the documented exit codes without any translation in between.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{fmt.Errorf("%w: %q", usecase.ErrNoAccount, "x"), ExitNotFound},
		{fmt.Errorf("%w: %q", usecase.ErrNoProfile, "p"), ExitNotFound},
		{fmt.Errorf("%w: %q matches a, b", usecase.ErrAmbiguousAccount, "u"), ExitUsage},
		{fmt.Errorf("usecase: token for x: %w", identity.ErrInteractionRequired), ExitInteractionRequired},
		{fmt.Errorf("usecase: token for x: %w", &identity.Error{Code: "invalid_grant"}), ExitInteractionRequired},
		{fmt.Errorf("usecase: token for x: %w", &identity.Error{Code: "invalid_client", StatusCode: 401}), ExitError},
		{errors.New("storage: lock timeout"), ExitError},
		{fmt.Errorf("%w: nobody", usecase.ErrNoCredential), ExitError},
		{&usecase.SignInNeededError{Scopes: []string{"s"}, Err: errors.New("identity: invalid_scope")}, ExitInteractionRequired},
		{fmt.Errorf("token for x: %w", fmt.Errorf("%w: %q", usecase.ErrNoAccount, "x")), ExitNotFound},
	}
	for _, tc := range tests {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestRunWithoutDesk(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, strings.NewReader(""), &out, &errb, nil); code != ExitOK {
		t.Errorf("version without a desk: exit %d", code)
	}
	out.Reset()
	if code := Run(context.Background(), []string{"accounts"}, strings.NewReader(""), &out, &errb, nil); code != ExitError {
		t.Errorf("accounts without a desk: exit %d, want %d", code, ExitError)
	}
	if !strings.Contains(errb.String(), "not set up") || out.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
}

func TestRunUnavailableSaysWhy(t *testing.T) {
	var out, errb bytes.Buffer
	setupErr := errors.New("storage: no OS keyring (Secret Service) reachable")
	code := RunUnavailable(context.Background(), []string{"token", "--scope", "s"}, strings.NewReader(""), &out, &errb, setupErr)
	if code != ExitError || out.Len() != 0 || !strings.Contains(errb.String(), "no OS keyring") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := RunUnavailable(context.Background(), []string{"help"}, strings.NewReader(""), &out, &errb, setupErr); code != ExitOK || !strings.Contains(out.String(), "usage") {
		t.Errorf("help without a desk: exit %d", code)
	}
}

// TestProfilesShowsBothScopeKinds: a profile with only default_scopes (asked for at
// sign-in) shows them, not "-"; favourite scopes get their own column.
func TestProfilesShowsBothScopeKinds(t *testing.T) {
	desk, err := usecase.New(usecase.Deps{
		Config: usecase.NewMemoryConfig(
			profile.Profile{Name: "signin-only", Issuer: "https://id.example", ClientID: "c1", SignInScopes: []string{"api://x/read"}},
			profile.Profile{Name: "favs-only", Issuer: "https://id2.example", ClientID: "c2", FavouriteScopes: []string{"api://y/write"}},
		),
		Cache: identity.NewTokenCache(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"profiles"}, strings.NewReader(""), &out, &errb, desk); code != ExitOK {
		t.Fatalf("profiles: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[0], "DEFAULT SCOPES") || !strings.Contains(lines[0], "FAVOURITE SCOPES") {
		t.Errorf("header %q", lines[0])
	}
	want := map[string][2]string{"signin-only": {"api://x/read", "-"}, "favs-only": {"-", "api://y/write"}}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		w, ok := want[strings.TrimSuffix(f[0], " (default)")]
		if !ok {
			continue
		}
		if got := [2]string{f[len(f)-2], f[len(f)-1]}; got != w {
			t.Errorf("%s: scopes columns %v, want %v", f[0], got, w)
		}
	}
}

// TestIssuedDescribesTheTokensAccount: the output shapes name the account the token
// was issued to (az's tenant is its home tenant when it signed in at "organizations",
// as Azure CLI's accounts do), else the account it was asked for.
func TestIssuedDescribesTheTokensAccount(t *testing.T) {
	asked := usecase.AccountView{Key: "asked-key", Username: "asked@example.com", TenantOrIssuer: "https://id.example"}
	got := issued(identity.Result{AccessToken: "fake-at"}, asked)
	if got.Key != "asked-key" || got.Username != "asked@example.com" || got.Tenant != "https://id.example" {
		t.Errorf("without an account in the result: %+v", got)
	}
	res := identity.Result{AccessToken: "fake-at", Account: identity.Account{HomeAccountID: "uid.utid", Environment: "login.example",
		Realm: "organizations", Username: "u@example.com"}}
	got = issued(res, asked)
	if got.Key != usecase.AccountKey(res.Account) || got.Username != "u@example.com" || got.Tenant != "utid" {
		t.Errorf("with the result's account: %+v", got)
	}
	res.Account.Realm = "tenant-1"
	if got := issued(res, asked); got.Tenant != "tenant-1" {
		t.Errorf("tenant %q, want the realm", got.Tenant)
	}
}
