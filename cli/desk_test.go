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

func TestMapErrExitCodes(t *testing.T) {
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
	}
	for _, tc := range tests {
		err := mapErr(tc.err)
		if got := exitCode(err); got != tc.want {
			t.Errorf("exitCode(mapErr(%v)) = %d, want %d", tc.err, got, tc.want)
		}
		if tc.err != nil && err.Error() != tc.err.Error() {
			t.Errorf("mapErr changed the message: %q", err)
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("mapErr(%v) lost the original error", tc.err)
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
