package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentialHostsConfig(t *testing.T) {
	for _, tc := range []struct {
		name, json, wantErr string
	}{
		{"ok", `{"credential_hosts": [{"host": "git.example.com:8443", "scope": "api://git/.default", "account": "me@example.com"}]}`, ""},
		{"wildcard", `{"credential_hosts": [{"host": "*.example.com", "scope": "s", "profile": "Microsoft Entra (default)"}]}`, ""},
		{"no scope", `{"credential_hosts": [{"host": "git.example.com"}]}`, "credential_hosts[0].scope"},
		{"url not host", `{"credential_hosts": [{"host": "https://git.example.com/", "scope": "s"}]}`, "credential_hosts[0].host"},
		{"unknown profile", `{"credential_hosts": [{"host": "h", "scope": "s", "profile": "nope"}]}`, `no profile is named "nope"`},
		{"typo", `{"credential_hosts": [{"host": "h", "scope": "s", "acount": "x"}]}`, `did you mean "account"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(tc.json), 0o600)
			c, err := LoadConfig(dir)
			if tc.wantErr == "" {
				if err != nil || len(c.CredentialHosts) != 1 {
					t.Fatalf("LoadConfig: %v", err)
				}
				if err := SaveConfig(dir, c); err != nil {
					t.Fatalf("SaveConfig: %v", err)
				}
				back, err := LoadConfig(dir)
				if err != nil || back.CredentialHosts[0] != c.CredentialHosts[0] {
					t.Fatalf("round trip: %+v %v", back, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("LoadConfig error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
