package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/usecase"
)

// ImportMSALCache of the fake "imports" alice when the data says "alice", and fails
// on "garbage" as usecase does on a malformed cache.
func (f *fakeDesk) ImportMSALCache(ctx context.Context, data []byte) (usecase.ImportResult, error) {
	if err := f.fail("ImportMSALCache"); err != nil {
		return usecase.ImportResult{}, err
	}
	f.imported = append(f.imported, string(data))
	switch strings.TrimSpace(string(data)) {
	case "garbage":
		return usecase.ImportResult{}, errors.New("identity: token cache is not valid: the cache is not a JSON object (at byte 0)")
	case "alice":
		return usecase.ImportResult{Accounts: []usecase.AccountView{alice}, Added: 4}, nil
	case "other-client":
		return usecase.ImportResult{SkippedClients: map[string]int{"c9": 3}}, nil
	}
	return usecase.ImportResult{}, nil
}

func (f *fakeDesk) ExportMSALCache(ctx context.Context, key string) ([]byte, error) {
	if err := f.fail("ExportMSALCache"); err != nil {
		return nil, err
	}
	f.exported = key
	return []byte(`{"fake-cache-of":"` + key + `"}`), nil
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	aliceFile := write("alice.json", "alice")
	azDir := filepath.Join(dir, "az")
	os.Mkdir(azDir, 0o700)
	if err := os.WriteFile(filepath.Join(azDir, "msal_token_cache.json"), []byte("alice"), 0o600); err != nil {
		t.Fatal(err)
	}
	winDir := filepath.Join(dir, "win")
	os.Mkdir(winDir, 0o700)
	os.WriteFile(filepath.Join(winDir, "msal_token_cache.bin"), []byte{1, 2, 3}, 0o600)
	tests := []struct {
		name      string
		args      []string
		vars      map[string]string
		wantCode  int
		stdout    string
		stderrHas []string
	}{
		{"file", []string{"import", "--msal-cache", aliceFile}, nil, ExitOK, "alice-key\n", []string{`Imported alice@example.com into profile "entra"`}},
		{"azure cli dir", []string{"import", "--azure-cli"}, map[string]string{"AZURE_CONFIG_DIR": azDir}, ExitOK, "alice-key\n", nil},
		{"azure cli home", []string{"import", "--azure-cli"}, map[string]string{"HOME": dir}, ExitNotFound, "",
			[]string{filepath.Join(dir, ".azure", "msal_token_cache.json"), "az login"}},
		{"azure cli encrypted", []string{"import", "--azure-cli"}, map[string]string{"AZURE_CONFIG_DIR": winDir}, ExitNotFound, "",
			[]string{"msal_token_cache.bin", "encrypted", "tokendesk login"}},
		{"neither", []string{"import"}, nil, ExitUsage, "", []string{"exactly one"}},
		{"both", []string{"import", "--azure-cli", "--msal-cache", aliceFile}, nil, ExitUsage, "", []string{"exactly one"}},
		{"missing file", []string{"import", "--msal-cache", filepath.Join(dir, "nope.json")}, nil, ExitNotFound, "", []string{"nope.json does not exist"}},
		{"a directory", []string{"import", "--msal-cache", dir}, nil, ExitError, "", []string{"is a directory"}},
		{"garbage", []string{"import", "--msal-cache", write("g.json", "garbage")}, nil, ExitError, "", []string{"g.json", "not valid"}},
		{"other client only", []string{"import", "--msal-cache", write("o.json", "other-client")}, nil, ExitNotFound, "",
			[]string{"Skipped 3 tokens of client id c9", `"client_id": "c9"`, "no account"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			code, stdout, stderr := invoke(f, tc.vars, tc.args...)
			if code != tc.wantCode || stdout != tc.stdout {
				t.Errorf("exit %d stdout %q, want %d %q; stderr:\n%s", code, stdout, tc.wantCode, tc.stdout, stderr)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "export.json")
	f := newFake()
	code, stdout, stderr := invoke(f, nil, "export", "--msal-cache", out, "--account", "bob@example.com")
	if code != ExitOK || stdout != "" || f.exported != "bob-key" {
		t.Fatalf("export: exit %d, stdout %q, exported %q; stderr:\n%s", code, stdout, f.exported, stderr)
	}
	if !strings.Contains(stderr, "UNENCRYPTED") || !strings.Contains(stderr, out) {
		t.Errorf("no unencrypted warning on stderr:\n%s", stderr)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v, mode %v", err, st.Mode())
	}

	// An existing file is another tool's cache, maybe live: refused without --force.
	if err := os.Chmod(out, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = invoke(f, nil, "export", "--msal-cache", out)
	if code != ExitUsage || !strings.Contains(stderr, "--force") {
		t.Errorf("export over an existing file: exit %d\n%s", code, stderr)
	}
	code, _, stderr = invoke(f, nil, "export", "--msal-cache", out, "--force")
	body, _ := os.ReadFile(out)
	st, _ = os.Stat(out)
	if code != ExitOK || f.exported != "" || string(body) != `{"fake-cache-of":""}` || st.Mode().Perm() != 0o600 {
		t.Errorf("export --force: exit %d, exported %q, body %q, mode %v\n%s", code, f.exported, body, st.Mode(), stderr)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	for _, args := range [][]string{{"export"}, {"export", "--msal-cache", dir, "--force"}} {
		if code, _, _ := invoke(newFake(), nil, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want usage", args, code)
		}
	}
	if code, _, _ := invoke(newFake(), nil, "export", "--msal-cache", filepath.Join(dir, "x"), "--account", "mallory"); code != ExitNotFound {
		t.Errorf("export of an unknown account: exit %d", code)
	}
	if code, _, _ := invoke(newFake(), nil, "export", "--msal-cache", filepath.Join(dir, "no-such-dir", "x")); code != ExitError {
		t.Errorf("export into a missing directory: exit %d", code)
	}
}

// An export over a symlink replaces the link, never writes through it: the link may
// point at another tool's file, or at one others can read.
func TestExportReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep me"), 0o644)
	link := filepath.Join(dir, "export.json")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := invoke(newFake(), nil, "export", "--msal-cache", link, "--force"); code != ExitOK {
		t.Fatalf("export: %d\n%s", code, stderr)
	}
	st, err := os.Lstat(link)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("export path: %v, mode %v", err, st.Mode())
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the export wrote through the symlink: %q", b)
	}
}
