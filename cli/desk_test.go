package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
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
