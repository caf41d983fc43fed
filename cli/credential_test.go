package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// GitCredential of the fake answers dev.azure.com with alice's token.
func (f *fakeDesk) GitCredential(ctx context.Context, host, username string) (usecase.GitCredential, error) {
	if err := f.fail("GitCredential"); err != nil {
		return usecase.GitCredential{}, err
	}
	f.gitHost, f.gitUser = host, username
	switch host {
	case "dev.azure.com", "127.0.0.1:8080":
		return usecase.GitCredential{Username: "alice@example.com", Password: "fake-at-alice", ExpiresOn: fakeExpiry}, nil
	case "ambiguous.example":
		return usecase.GitCredential{}, fmt.Errorf("%w: profile \"entra\" has several accounts", usecase.ErrNoCredential)
	}
	return usecase.GitCredential{}, fmt.Errorf("%w: %s is not a credential host", usecase.ErrNoCredential, host)
}

func (f *fakeDesk) ForgetAccessToken(ctx context.Context, token string) (bool, error) {
	if err := f.fail("ForgetAccessToken"); err != nil {
		return false, err
	}
	f.forgotten = append(f.forgotten, token)
	return true, nil
}

func TestCredentialHelper(t *testing.T) {
	for _, tc := range []struct {
		name, action, stdin string
		setup               func(*fakeDesk)
		wantCode            int
		wantStdout          string
		stderrHas           string
		wantForgot          string
	}{
		{name: "get", action: "get", stdin: "protocol=https\nhost=dev.azure.com\nusername=contoso\nwwwauth[]=Basic realm=\"x\"\n\n",
			wantStdout: fmt.Sprintf("username=alice@example.com\npassword=fake-at-alice\npassword_expiry_utc=%d\n", fakeExpiry.Unix())},
		{name: "get without blank line", action: "get", stdin: "protocol=https\nhost=dev.azure.com",
			wantStdout: "username=alice@example.com\npassword=fake-at-alice\npassword_expiry_utc=1893553445\n"},
		{name: "unmapped host: nothing at all", action: "get", stdin: "protocol=https\nhost=github.com\n\n"},
		{name: "our host, no answer: a reason on stderr", action: "get", stdin: "protocol=https\nhost=ambiguous.example\n\n", stderrHas: "several accounts"},
		{name: "plain http to another machine: nothing", action: "get", stdin: "protocol=http\nhost=dev.azure.com\n\n"},
		{name: "plain http to loopback", action: "get", stdin: "protocol=http\nhost=127.0.0.1:8080\n\n", wantStdout: "username=alice@example.com\npassword=fake-at-alice\npassword_expiry_utc=1893553445\n"},
		{name: "ssh: nothing", action: "get", stdin: "protocol=ssh\nhost=dev.azure.com\n\n"},
		{name: "sign-in required", action: "get", stdin: "protocol=https\nhost=dev.azure.com\n\n",
			setup:    func(f *fakeDesk) { f.err = map[string]error{"GitCredential": identity.ErrInteractionRequired} },
			wantCode: ExitInteractionRequired, stderrHas: "tokendesk login"},
		{name: "garbage", action: "get", stdin: "hello\n", wantCode: ExitUsage},
		{name: "store", action: "store", stdin: "protocol=https\nhost=dev.azure.com\nusername=u\npassword=p\n\n"},
		{name: "erase", action: "erase", stdin: "protocol=https\nhost=dev.azure.com\nusername=u\npassword=refused-token\n\n", wantForgot: "refused-token"},
		{name: "erase without password", action: "erase", stdin: "protocol=https\nhost=dev.azure.com\n\n"},
		{name: "future action", action: "capability", stdin: "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if tc.setup != nil {
				tc.setup(f)
			}
			code, stdout, stderr := invokeStdin(f, tc.stdin, "credential", tc.action)
			if code != tc.wantCode || stdout != tc.wantStdout {
				t.Errorf("exit %d stdout %q; want %d %q; stderr:\n%s", code, stdout, tc.wantCode, tc.wantStdout, stderr)
			}
			if tc.stderrHas != "" && !strings.Contains(stderr, tc.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderrHas, stderr)
			}
			if tc.stderrHas == "" && tc.wantCode == 0 && stderr != "" {
				t.Errorf("unexpected stderr:\n%s", stderr)
			}
			if strings.Join(f.forgotten, ",") != tc.wantForgot {
				t.Errorf("forgot %v, want %q", f.forgotten, tc.wantForgot)
			}
			if strings.Contains(stderr, "fake-at-") {
				t.Error("a token on stderr")
			}
		})
	}
}

// invokeStdin is invoke with stdin.
func invokeStdin(desk Desk, stdin string, args ...string) (int, string, string) {
	var out, errb strings.Builder
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, desk: desk}
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}
