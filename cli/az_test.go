package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

func (f *fakeDesk) TokenInTenant(ctx context.Context, key string, scopes []string, tenant string) (identity.Result, error) {
	f.lastTenant = tenant
	return f.Token(ctx, key, scopes, false)
}

func TestAzGetAccessToken(t *testing.T) {
	onlyAlice := func(f *fakeDesk) { f.accounts = []usecase.AccountView{alice, bob} } // bob is in profile lab
	for _, tc := range []struct {
		name       string
		args       []string
		vars       map[string]string
		setup      func(*fakeDesk)
		wantCode   int
		wantScopes []string
		wantTenant string
		stdoutHas  string
		stderrHas  []string
	}{
		{name: "python azure-identity", args: []string{"account", "get-access-token", "--output", "json", "--resource", "https://graph.microsoft.com"},
			setup: onlyAlice, wantScopes: []string{"https://graph.microsoft.com/.default"}, stdoutHas: `"accessToken": "fake-at-alice"`},
		{name: "trailing slash resource", args: []string{"account", "get-access-token", "-o", "json", "--resource", "https://management.core.windows.net/"},
			setup: onlyAlice, wantScopes: []string{"https://management.core.windows.net/.default"}},
		{name: "scope and tenant", args: []string{"account", "get-access-token", "--scope", "api://x/.default", "--tenant", "other-tenant"},
			setup: onlyAlice, wantScopes: []string{"api://x/.default"}, wantTenant: "other-tenant", stdoutHas: `"tenant": "other-tenant"`},
		{name: "resource type", args: []string{"account", "get-access-token", "--resource-type", "ms-graph"}, setup: onlyAlice,
			wantScopes: []string{"https://graph.microsoft.com/.default"}},
		{name: "unknown resource type", args: []string{"account", "get-access-token", "--resource-type", "nope"}, wantCode: ExitUsage},
		{name: "default scope is ARM", args: []string{"account", "get-access-token"}, setup: onlyAlice,
			wantScopes: []string{"https://management.core.windows.net//.default"}},
		{name: "query accessToken tsv", args: []string{"account", "get-access-token", "--query", "accessToken", "-o", "tsv"}, setup: onlyAlice,
			wantScopes: []string{"https://management.core.windows.net//.default"}, stdoutHas: "fake-at-alice\n"},
		{name: "account from env", args: []string{"account", "get-access-token", "--resource", "r"}, vars: map[string]string{"TOKENDESK_AZ_ACCOUNT": "alice-key"},
			wantScopes: []string{"r/.default"}},
		{name: "several accounts", args: []string{"account", "get-access-token", "--resource", "r"},
			setup: func(f *fakeDesk) {
				f.accounts = []usecase.AccountView{alice, {Key: "zed-key", Username: "zed@example.com", Profile: "entra"}}
			},
			wantCode: ExitUsage, stderrHas: []string{"alice-key", "zed-key", "TOKENDESK_AZ_ACCOUNT"}},
		{name: "nobody signed in", args: []string{"account", "get-access-token", "--resource", "r"},
			setup:    func(f *fakeDesk) { f.accounts = nil },
			wantCode: ExitNotFound, stderrHas: []string{"Please run 'az login'", "tokendesk login"}},
		{name: "sign-in required", args: []string{"account", "get-access-token", "--resource", "r"},
			setup: func(f *fakeDesk) {
				onlyAlice(f)
				f.err = map[string]error{"Token": identity.ErrInteractionRequired}
			},
			wantCode: ExitInteractionRequired, stderrHas: []string{"Please run 'az login'", "tokendesk login"}},
		{name: "provider down: no az login text", args: []string{"account", "get-access-token", "--resource", "r"},
			setup: func(f *fakeDesk) {
				onlyAlice(f)
				f.err = map[string]error{"Token": errFakeProvider}
			},
			wantCode: ExitError, stderrHas: []string{"temporarily_unavailable"}},
		{name: "other az command", args: []string{"login"}, wantCode: ExitUsage, stderrHas: []string{"only for \"az account get-access-token\""}},
		{name: "resource and scope", args: []string{"account", "get-access-token", "--resource", "r", "--scope", "s"}, wantCode: ExitUsage},
		{name: "yaml output", args: []string{"account", "get-access-token", "-o", "yaml"}, wantCode: ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if tc.setup != nil {
				tc.setup(f)
			}
			code, stdout, stderr := invoke(f, tc.vars, append([]string{"az"}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if tc.wantScopes != nil && strings.Join(f.lastTok.scopes, " ") != strings.Join(tc.wantScopes, " ") {
				t.Errorf("scopes %v, want %v", f.lastTok.scopes, tc.wantScopes)
			}
			if f.lastTenant != tc.wantTenant {
				t.Errorf("tenant %q, want %q", f.lastTenant, tc.wantTenant)
			}
			if !strings.Contains(stdout, tc.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdoutHas, stdout)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if strings.Contains(stderr, "az login") && !strings.Contains(strings.Join(tc.stderrHas, "|"), "az login") {
				t.Errorf("stderr says az login where only a sign-in would not help:\n%s", stderr)
			}
			if code == ExitOK && strings.HasPrefix(stdout, "{") {
				var az map[string]any
				if err := json.Unmarshal([]byte(stdout), &az); err != nil {
					t.Fatal(err)
				}
				exp, err := time.ParseInLocation(azTimeLayout, az["expiresOn"].(string), time.Local)
				if err != nil || exp.Unix() != fakeExpiry.Unix() || int64(az["expires_on"].(float64)) != fakeExpiry.Unix() {
					t.Errorf("expiry %v / %v: %v", az["expiresOn"], az["expires_on"], err)
				}
			}
		})
	}
}

func TestIsAzName(t *testing.T) {
	for name, want := range map[string]bool{"az": true, "/usr/local/bin/az": true, "az.exe": true, "AZ.CMD": true, "tokendesk": false, "azure": false} {
		if got := IsAzName(name); got != want {
			t.Errorf("IsAzName(%q) = %v", name, got)
		}
	}
}
