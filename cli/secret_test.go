package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestProfilesSetSecret: the secret comes from stdin's first line (never argv), reaches
// the Desk untouched, is never echoed, and mistakes are usage errors.
func TestProfilesSetSecret(t *testing.T) {
	const secret = "s3cr3t-value-not-for-logs"
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantKept *string // nil: nothing recorded
	}{
		{"from stdin", []string{"profiles", "set-secret", "entra"}, secret + "\n", ExitOK, ptr(secret)},
		{"CRLF and no trailing newline", []string{"profiles", "set-secret", "entra"}, secret + "\r\n", ExitOK, ptr(secret)},
		{"only the first line", []string{"profiles", "set-secret", "entra"}, secret + "\nsecond\n", ExitOK, ptr(secret)},
		{"clear", []string{"profiles", "set-secret", "--clear", "entra"}, "", ExitOK, ptr("")},
		{"empty stdin", []string{"profiles", "set-secret", "entra"}, "", ExitUsage, nil},
		{"no name", []string{"profiles", "set-secret"}, secret, ExitUsage, nil},
		{"two names", []string{"profiles", "set-secret", "a", "b"}, secret, ExitUsage, nil},
		{"unknown profile", []string{"profiles", "set-secret", "nope"}, secret, ExitNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			var out, errb bytes.Buffer
			e := &env{stdin: strings.NewReader(tt.stdin), stdout: &out, stderr: &errb,
				getenv: func(string) string { return "" }, desk: f}
			code := run(context.Background(), tt.args, e)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.wantCode, errb.String())
			}
			kept, ok := f.secrets[f.profiles[0].Name]
			if tt.wantKept == nil && ok {
				t.Fatalf("a secret was kept on a failed call")
			}
			if tt.wantKept != nil && (!ok || kept != *tt.wantKept) {
				t.Fatalf("kept secret differs from stdin's first line (kept %v)", ok)
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Fatal("the secret was echoed")
			}
		})
	}
}

func ptr(s string) *string { return &s }
