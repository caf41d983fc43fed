package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

func TestRunExitCodesAndStreams(t *testing.T) {
	withDisplay := map[string]string{"DISPLAY": ":0"}
	tests := []struct {
		name       string
		args       []string
		vars       map[string]string
		setup      func(f *fakeDesk)
		wantCode   int
		wantStdout string   // exact, when not empty
		stdoutHas  []string // substrings of stdout
		stderrHas  []string // substrings of stderr
	}{
		{name: "no args", args: nil, wantCode: ExitUsage, stderrHas: []string{"usage: tokendesk COMMAND"}},
		{name: "--help", args: []string{"--help"}, wantCode: ExitOK, stdoutHas: []string{"usage: tokendesk COMMAND", "exit codes"}},
		{name: "unknown command", args: []string{"tokne"}, wantCode: ExitUsage, stderrHas: []string{`unknown command "tokne"`}},
		{name: "version", args: []string{"version"}, wantCode: ExitOK, stdoutHas: []string{"tokendesk "}},
		{name: "--version", args: []string{"--version"}, wantCode: ExitOK, stdoutHas: []string{"tokendesk "}},
		{name: "help token", args: []string{"help", "token"}, wantCode: ExitOK, stdoutHas: []string{"-scope", "-output", "exec-credential"}},
		{name: "help unknown", args: []string{"help", "nope"}, wantCode: ExitUsage},
		{name: "token -h", args: []string{"token", "-h"}, wantCode: ExitOK, stdoutHas: []string{"-force-refresh"}},

		{name: "accounts table", args: []string{"accounts"}, wantCode: ExitOK,
			stdoutHas: []string{"ACCOUNT", "USERNAME", "alice-key", "alice@example.com", "bob-key", "tenant-a", "http://127.0.0.1:9"}},
		{name: "accounts empty", args: []string{"accounts"}, setup: func(f *fakeDesk) { f.accounts = nil },
			wantCode: ExitOK, wantStdout: "", stderrHas: []string{"tokendesk login"}},
		{name: "accounts --json empty", args: []string{"accounts", "--json"}, setup: func(f *fakeDesk) { f.accounts = nil },
			wantCode: ExitOK, wantStdout: "[]\n"},
		{name: "accounts --profile unknown", args: []string{"accounts", "--profile", "nope"}, wantCode: ExitNotFound,
			stderrHas: []string{`no such profile "nope"`, "entra, lab"}},
		{name: "accounts extra arg", args: []string{"accounts", "x"}, wantCode: ExitUsage},
		{name: "accounts partial listing", args: []string{"accounts"}, setup: func(f *fakeDesk) {
			f.err, f.partial = map[string]error{"Accounts": errors.New("profile \"lab\": discovery failed")}, true
		},
			wantCode: ExitError, stdoutHas: []string{"alice-key"}, stderrHas: []string{"discovery failed"}},
		{name: "accounts storage error", args: []string{"accounts"}, setup: func(f *fakeDesk) {
			f.err = map[string]error{"Accounts": errors.New("storage: keyring timed out")}
		}, wantCode: ExitError, stderrHas: []string{"keyring timed out"}},

		{name: "token missing scope", args: []string{"token", "--account", "bob-key"}, wantCode: ExitUsage, stderrHas: []string{"--scope is required"}},
		{name: "token unknown flag", args: []string{"token", "--scop", "x"}, wantCode: ExitUsage, stderrHas: []string{"-scop"}},
		{name: "token bad output", args: []string{"token", "--scope", "s", "--account", "bob-key", "--output", "yaml"}, wantCode: ExitUsage},
		{name: "token positional", args: []string{"token", "s"}, wantCode: ExitUsage},
		{name: "token by key", args: []string{"token", "--scope", "s", "--account", "alice-key"}, wantCode: ExitOK, wantStdout: "fake-at-alice\n"},
		{name: "token flags after nothing", args: []string{"token", "--account=bob-key", "--scope=s"}, wantCode: ExitOK, wantStdout: "fake-at-bob\n"},
		{name: "token by unique username", args: []string{"token", "--scope", "s", "--account", "BOB@example.com"}, wantCode: ExitOK, wantStdout: "fake-at-bob\n"},
		{name: "token ambiguous username", args: []string{"token", "--scope", "s", "--account", "alice@example.com"}, wantCode: ExitUsage,
			stderrHas: []string{"alice-key", "alice-other", "--account"}},
		{name: "token username narrowed by profile", args: []string{"token", "--scope", "s", "--account", "alice@example.com", "--profile", "lab"},
			wantCode: ExitOK, wantStdout: "fake-at-alice2\n"},
		{name: "token several accounts no --account", args: []string{"token", "--scope", "s"}, wantCode: ExitUsage,
			stderrHas: []string{"--account", "alice-key", "alice-other", "bob-key"}},
		{name: "token only account of profile", args: []string{"token", "--scope", "s", "--profile", "entra"}, wantCode: ExitOK, wantStdout: "fake-at-alice\n"},
		{name: "token the only account", args: []string{"token", "--scope", "s"}, setup: func(f *fakeDesk) { f.accounts = []usecase.AccountView{bob} },
			wantCode: ExitOK, wantStdout: "fake-at-bob\n"},
		{name: "token no accounts", args: []string{"token", "--scope", "s"}, setup: func(f *fakeDesk) { f.accounts = nil },
			wantCode: ExitNotFound, stderrHas: []string{"no such account", "tokendesk login"}},
		{name: "token unknown account", args: []string{"token", "--scope", "s", "--account", "mallory"}, wantCode: ExitNotFound,
			stderrHas: []string{`no such account: "mallory"`}},
		{name: "token unknown profile", args: []string{"token", "--scope", "s", "--profile", "nope"}, wantCode: ExitNotFound},
		{name: "token interaction required", args: []string{"token", "--scope", "s", "--account", "bob-key"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"Token": fmt.Errorf("usecase: %w", identity.ErrInteractionRequired)}
			},
			wantCode: ExitInteractionRequired, wantStdout: "", stderrHas: []string{"bob@example.com", "tokendesk login"}},
		{name: "token refresh refused", args: []string{"token", "--scope", "s", "--account", "bob-key"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"Token": &identity.Error{StatusCode: 400, Code: "invalid_grant", Description: "grant request is invalid", CorrelationID: "corr-1"}}
			},
			wantCode: ExitInteractionRequired, stderrHas: []string{"invalid_grant", "corr-1", "tokendesk login --profile lab --login-hint bob@example.com --scope s"}},
		{name: "token timed out", args: []string{"token", "--scope", "s", "--account", "bob-key"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"Token": &identity.Error{Err: fmt.Errorf("POST http://127.0.0.1:9/token: %w: 127.0.0.1:9 did not answer completely in time", identity.ErrTimeout)}}
			},
			wantCode: ExitError, wantStdout: "", stderrHas: []string{"127.0.0.1:9", "--timeout"}},
		{name: "token unknown CA", args: []string{"token", "--scope", "s", "--account", "bob-key"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"Token": &identity.Error{Err: fmt.Errorf("POST https://corp.example/token: %w", x509.UnknownAuthorityError{})}}
			},
			wantCode: ExitError, stderrHas: []string{"corp.example", `"ca_bundle"`}},
		{name: "token --timeout must be positive", args: []string{"token", "--scope", "s", "--timeout", "0s"}, wantCode: ExitUsage},
		{name: "token scope not consented", args: []string{"token", "--scope", "api://x/new", "--account", "bob-key"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"Token": &usecase.SignInNeededError{Account: bob, Scopes: []string{"api://x/new"},
					Err: errors.New("identity: invalid_scope")}}
			},
			wantCode: ExitInteractionRequired, stderrHas: []string{"invalid_scope", "run: tokendesk login --profile lab --login-hint bob@example.com --scope api://x/new"}},
		{name: "token claims challenge", args: []string{"token", "--scope", "api://x/new", "--account", "bob-key"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"Token": &usecase.SignInNeededError{Account: bob, Scopes: []string{"api://x/new"},
					Claims: `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`, Err: errors.New("identity: interaction_required")}}
			},
			wantCode: ExitInteractionRequired, stderrHas: []string{`--scope api://x/new --claims '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'`}},
		{name: "login --account without --scope", args: []string{"login", "--account", "bob-key"}, wantCode: ExitUsage},
		{name: "token provider error", args: []string{"token", "--scope", "s", "--account", "bob-key"},
			setup:    func(f *fakeDesk) { f.err = map[string]error{"Token": errFakeProvider} },
			wantCode: ExitError, wantStdout: "", stderrHas: []string{"temporarily_unavailable"}},
		{name: "token error never echoes a token", args: []string{"token", "--scope", "s", "--account", "bob-key"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"Token": errors.New("bad response eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")}
			},
			wantCode: ExitError, stderrHas: []string{"[redacted]"}},
		{name: "exec-credential bad exec info", args: []string{"token", "--scope", "s", "--account", "bob-key", "--output", "exec-credential"},
			vars: map[string]string{"KUBERNETES_EXEC_INFO": "{"}, wantCode: ExitUsage},
		{name: "exec-credential unsupported version", args: []string{"token", "--scope", "s", "--account", "bob-key", "--output", "exec-credential"},
			vars:     map[string]string{"KUBERNETES_EXEC_INFO": `{"apiVersion":"client.authentication.k8s.io/v1alpha1","kind":"ExecCredential"}`},
			wantCode: ExitUsage, stderrHas: []string{"v1alpha1"}},

		{name: "logout by key", args: []string{"logout", "bob-key"}, wantCode: ExitOK, wantStdout: "", stderrHas: []string{"Signed out bob@example.com"}},
		{name: "logout flag after arg", args: []string{"logout", "bob-key", "--nope"}, wantCode: ExitUsage},
		{name: "logout no arg", args: []string{"logout"}, wantCode: ExitUsage},
		{name: "logout two args", args: []string{"logout", "a", "b"}, wantCode: ExitUsage},
		{name: "logout unknown", args: []string{"logout", "mallory"}, wantCode: ExitNotFound},
		{name: "logout ambiguous", args: []string{"logout", "alice@example.com"}, wantCode: ExitUsage, stderrHas: []string{"alice-other"}},

		{name: "login device code", args: []string{"login", "--device-code"}, vars: withDisplay, wantCode: ExitOK, wantStdout: "carol-key\n",
			stderrHas: []string{"http://127.0.0.1:9/device", "WXYZ-1234", "Signed in as carol@example.com"}},
		{name: "login without display uses device code", args: []string{"login"}, wantCode: ExitOK, wantStdout: "carol-key\n",
			stderrHas: []string{"WXYZ-1234"}},
		{name: "login browser", args: []string{"login", "--login-hint", "carol@example.com"}, vars: withDisplay, wantCode: ExitOK,
			wantStdout: "carol-key\n", stderrHas: []string{"http://127.0.0.1:1/authorize"}},
		{name: "login browser unavailable falls back", args: []string{"login"}, vars: withDisplay,
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"SignIn": fmt.Errorf("open: %w", identity.ErrBrowserUnavailable)}
			},
			wantCode: ExitOK, wantStdout: "carol-key\n", stderrHas: []string{"No browser", "WXYZ-1234"}},
		{name: "login unknown profile", args: []string{"login", "--profile", "nope"}, wantCode: ExitNotFound},
		{name: "login refused", args: []string{"login", "--device-code"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"SignInWithDeviceCode": &identity.Error{Code: "expired_token"}}
			},
			wantCode: ExitError, wantStdout: "", stderrHas: []string{"expired_token"}},

		{name: "profiles", args: []string{"profiles"}, wantCode: ExitOK, stdoutHas: []string{"entra (default)", "lab", "c2"}},
		{name: "profiles default named so", args: []string{"profiles"}, setup: func(f *fakeDesk) { f.profiles[0].Name = "Microsoft Entra (default)" },
			wantCode: ExitOK, stdoutHas: []string{"Microsoft Entra (default)  "}},
		{name: "login cancelled", args: []string{"login", "--device-code"},
			setup: func(f *fakeDesk) {
				f.err = map[string]error{"SignInWithDeviceCode": fmt.Errorf("device flow: %w", context.Canceled)}
			},
			wantCode: ExitError, stderrHas: []string{"tokendesk login: cancelled"}},
		{name: "profiles json", args: []string{"profiles", "--json"}, wantCode: ExitOK, stdoutHas: []string{`"clientId": "c1"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if tc.setup != nil {
				tc.setup(f)
			}
			code, stdout, stderr := invoke(f, tc.vars, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if tc.wantStdout != "" || len(tc.stdoutHas) == 0 {
				if stdout != tc.wantStdout {
					t.Errorf("stdout %q, want %q", stdout, tc.wantStdout)
				}
			}
			for _, s := range tc.stdoutHas {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if strings.Contains(stderr, "fake-at-") || strings.Contains(stderr, "c2lnbmF0dXJl") {
				t.Errorf("stderr holds a token:\n%s", stderr)
			}
			if code != ExitOK && strings.Contains(stdout, "fake-at-") {
				t.Errorf("a failed command printed a token on stdout")
			}
		})
	}
}

// TestLoginScopeSignsInAgain: login --scope signs the account in again in its profile,
// with its username as the login hint, asking for the new scopes on top.
func TestLoginScopeSignsInAgain(t *testing.T) {
	display := map[string]string{"DISPLAY": ":0"}
	tests := []struct {
		name        string
		args        []string
		accounts    []usecase.AccountView
		wantCode    int
		wantHint    string
		wantProfile string
	}{
		{"the only account", []string{"login", "--scope", "api://x/new", "--scope", "api://x/other"}, []usecase.AccountView{bob}, ExitOK, "bob@example.com", "lab"},
		{"named account", []string{"login", "--scope", "api://x/new api://x/other", "--account", "bob-key"}, nil, ExitOK, "bob@example.com", "lab"},
		{"no account yet", []string{"login", "--scope", "api://x/new", "--scope", "api://x/other"}, []usecase.AccountView{}, ExitOK, "", ""},
		{"claims carried", []string{"login", "--scope", "api://x/new", "--scope", "api://x/other", "--claims", `{"id_token":{"acrs":null}}`}, []usecase.AccountView{bob}, ExitOK, "bob@example.com", "lab"},
		{"explicit hint wins", []string{"login", "--scope", "api://x/new", "--scope", "api://x/other", "--login-hint", "zed@example.com"}, nil, ExitOK, "zed@example.com", ""},
		{"several accounts", []string{"login", "--scope", "api://x/new"}, nil, ExitUsage, "", ""},
		{"unknown account", []string{"login", "--scope", "api://x/new", "--account", "nobody"}, nil, ExitNotFound, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if tc.accounts != nil {
				f.accounts = tc.accounts
			}
			code, _, stderr := invoke(f, display, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d: %s", code, tc.wantCode, stderr)
			}
			if code != ExitOK {
				return
			}
			got := f.lastSign
			if strings.Contains(strings.Join(tc.args, " "), "--claims") != (got.Claims != "") {
				t.Errorf("claims %q", got.Claims)
			}
			if got.LoginHint != tc.wantHint || got.Profile != tc.wantProfile || !reflect.DeepEqual(got.AddScopes, []string{"api://x/new", "api://x/other"}) {
				t.Errorf("sign-in request: hint %q profile %q scopes %v", got.LoginHint, got.Profile, got.AddScopes)
			}
		})
	}
}

func TestTokenRequestFlags(t *testing.T) {
	f := newFake()
	code, _, stderr := invoke(f, nil, "token", "--account", "bob-key", "--scope", "openid  offline_access", "--scope", "api://x/.default", "--scope", "openid", "--force-refresh")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{"openid", "offline_access", "api://x/.default"}
	if !reflect.DeepEqual(f.lastTok.scopes, want) {
		t.Errorf("scopes %q, want %q", f.lastTok.scopes, want)
	}
	if !f.lastTok.forceRefresh {
		t.Error("--force-refresh was not passed on")
	}
	if f.lastTok.key != "bob-key" {
		t.Errorf("account %q, want bob-key", f.lastTok.key)
	}

	f = newFake()
	if code, _, _ := invoke(f, nil, "token", "--account", "bob-key", "--scope", "s"); code != ExitOK || f.lastTok.forceRefresh {
		t.Errorf("exit %d, ForceRefresh %v without the flag", code, f.lastTok.forceRefresh)
	}
	f = newFake()
	invoke(f, map[string]string{"DISPLAY": ":1"}, "login", "--login-hint", "u@example.com", "--profile", "lab")
	if f.lastSign.LoginHint != "u@example.com" || f.lastSign.Profile != "lab" {
		t.Errorf("login request %+v", f.lastSign)
	}
}

func TestUsageErrorsCallNothing(t *testing.T) {
	for _, args := range [][]string{
		{"token"},
		{"token", "--scope", "s", "--output", "xml"},
		{"token", "--bogus"},
		{"login", "extra"},
		{"logout"},
	} {
		f := newFake()
		if code, _, _ := invoke(f, nil, args...); code != ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, ExitUsage)
		}
		if f.called("Token") || f.called("SignIn") || f.called("SignInWithDeviceCode") || f.called("SignOut") {
			t.Errorf("%q: a usage error still called %v", args, f.calls)
		}
	}
}

func TestAccountsJSON(t *testing.T) {
	code, stdout, _ := invoke(newFake(), nil, "accounts", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(got) != 3 {
		t.Fatalf("%d accounts, want 3", len(got))
	}
	if got[0]["key"] != "alice-key" || got[0]["username"] != "alice@example.com" || got[0]["tenant"] != "tenant-a" || got[0]["profile"] != "entra" {
		t.Errorf("first account %v", got[0])
	}
	if _, ok := got[2]["tenant"]; ok {
		t.Errorf("empty tenant should be omitted: %v", got[2])
	}
}

func TestOutputShapes(t *testing.T) {
	// A zone east of UTC, so a missing Local()/UTC() conversion shows.
	loc := time.FixedZone("test", 5*3600+30*60)
	exp := time.Date(2031, 3, 4, 5, 6, 7, 890123000, loc)
	tok := token{AccessToken: "fake-at", TokenType: "Bearer", ExpiresOn: exp, Scopes: []string{"a", "b"},
		Key: "k", Username: "u@example.com", Tenant: "t-1"}

	t.Run("token", func(t *testing.T) {
		got := render(t, outputToken, "", tok)
		if got != "fake-at\n" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("json", func(t *testing.T) {
		var m map[string]any
		decodeJSON(t, render(t, outputJSON, "", tok), &m)
		want := map[string]any{"accessToken": "fake-at", "tokenType": "Bearer", "expiresOn": "2031-03-03T23:36:07Z",
			"scopes": []any{"a", "b"}, "account": "k", "username": "u@example.com", "tenant": "t-1"}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("got %v\nwant %v", m, want)
		}
	})
	t.Run("az", func(t *testing.T) {
		var m map[string]any
		decodeJSON(t, render(t, outputAz, "", tok), &m)
		want := map[string]any{
			"accessToken": "fake-at",
			"expiresOn":   exp.Local().Format("2006-01-02 15:04:05.000000"),
			"expires_on":  float64(exp.Unix()),
			"tenant":      "t-1",
			"tokenType":   "Bearer",
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("got %v\nwant %v", m, want)
		}
		if _, err := time.ParseInLocation("2006-01-02 15:04:05.000000", m["expiresOn"].(string), time.Local); err != nil {
			t.Errorf("expiresOn %q is not az's layout: %v", m["expiresOn"], err)
		}
	})
	for _, v := range []string{execCredentialV1, execCredentialV1beta1} {
		t.Run("exec-credential "+v, func(t *testing.T) {
			validateExecCredential(t, []byte(render(t, outputExecCredential, v, tok)), v, "fake-at", exp)
		})
	}
}

func TestExecCredentialUnknownExpiry(t *testing.T) {
	out := render(t, outputExecCredential, execCredentialV1, token{AccessToken: "fake-at"})
	var m struct{ Status map[string]any }
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Status["expirationTimestamp"]; ok || m.Status["token"] != "fake-at" {
		t.Errorf("status %v: an unknown expiry must be left out, not the zero time", m.Status)
	}
}

func TestExecCredentialVersionFromKubectl(t *testing.T) {
	tests := []struct {
		info    string
		want    string
		wantErr bool
	}{
		{"", execCredentialV1, false},
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`, execCredentialV1, false},
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}`, execCredentialV1beta1, false},
		{`{"kind":"ExecCredential","spec":{}}`, execCredentialV1, false},
		{`{"apiVersion":"client.authentication.k8s.io/v1alpha1"}`, "", true},
		{`not json`, "", true},
	}
	for _, tc := range tests {
		got, err := execCredentialVersion(tc.info)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("execCredentialVersion(%q) = %q, %v; want %q, error %v", tc.info, got, err, tc.want, tc.wantErr)
		}
	}
	// Through the command: kubectl's v1beta1 request gets a v1beta1 answer.
	code, stdout, stderr := invoke(newFake(), map[string]string{
		"KUBERNETES_EXEC_INFO": `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`,
	}, "token", "--scope", "s", "--account", "bob-key", "--output", "exec-credential")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	validateExecCredential(t, []byte(stdout), execCredentialV1beta1, "fake-at-bob", fakeExpiry)
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no secrets here", "no secrets here"},
		{"got eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. back", "got [redacted] back"},
		{"invalid_grant: grant request is invalid (correlation id 0b7e-11)", "invalid_grant: grant request is invalid (correlation id 0b7e-11)"},
		{"rt " + strings.Repeat("A", 90), "rt [redacted]"},
		{`Get "http://127.0.0.1:1/?code=r2nqSR3Q_xy-1&state=s1&iss=x": timeout`, `Get "http://127.0.0.1:1/?code=[redacted]&state=s1&iss=x": timeout`},
		{"form refresh_token=abc&client_id=c", "form refresh_token=[redacted]&client_id=c"},
		{"user_code=ABCD-EFGH shown to the user", "user_code=ABCD-EFGH shown to the user"},
	}
	for _, tc := range tests {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func render(t *testing.T, output, execVersion string, tok token) string {
	t.Helper()
	var out strings.Builder
	if err := writeToken(&env{stdout: &out}, output, execVersion, tok); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

// validateExecCredential checks data against the client.authentication.k8s.io
// ExecCredential schema as kubectl reads a plugin's answer: apiVersion and kind set,
// status.token non-empty, status.expirationTimestamp an RFC 3339 time (metav1.Time,
// second precision, UTC), and no field kubectl does not know.
func validateExecCredential(t *testing.T, data []byte, wantVersion, wantToken string, wantExpiry time.Time) {
	t.Helper()
	var cred struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       *struct {
			Interactive bool `json:"interactive"`
		} `json:"spec,omitempty"`
		Status *struct {
			ExpirationTimestamp   *string `json:"expirationTimestamp"`
			Token                 string  `json:"token"`
			ClientCertificateData string  `json:"clientCertificateData"`
			ClientKeyData         string  `json:"clientKeyData"`
		} `json:"status"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cred); err != nil {
		t.Fatalf("not an ExecCredential: %v\n%s", err, data)
	}
	if cred.APIVersion != wantVersion {
		t.Errorf("apiVersion %q, want %q", cred.APIVersion, wantVersion)
	}
	if cred.Kind != "ExecCredential" {
		t.Errorf("kind %q, want ExecCredential", cred.Kind)
	}
	if cred.Status == nil {
		t.Fatal("status missing")
	}
	if cred.Status.Token != wantToken {
		t.Error("status.token is not the access token")
	}
	if cred.Status.ClientCertificateData != "" || cred.Status.ClientKeyData != "" {
		t.Error("a token credential must not carry client certificate data")
	}
	if cred.Status.ExpirationTimestamp == nil {
		t.Fatal("status.expirationTimestamp missing")
	}
	ts := *cred.Status.ExpirationTimestamp
	got, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		t.Fatalf("expirationTimestamp %q is not RFC 3339: %v", ts, err)
	}
	if !strings.HasSuffix(ts, "Z") {
		t.Errorf("expirationTimestamp %q is not UTC", ts)
	}
	if !got.Equal(wantExpiry.Truncate(time.Second)) {
		t.Errorf("expirationTimestamp %v, want %v", got, wantExpiry.Truncate(time.Second))
	}
}
