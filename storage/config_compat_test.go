package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tokendesk/tokendesk/profile"
)

// TestLoadsPreviousReleaseConfig: testdata/config/previous_release.json is a
// config.json as SaveConfig wrote it before storage, usecase and the CLI shared one
// profile.Profile (commit ff269f9), with every field set. It must load into the same
// values, and saving it again must write the very same bytes: a renamed Go field that
// lost its JSON tag would fail here, not in a user's home directory.
func TestLoadsPreviousReleaseConfig(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "config", "previous_release.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadFixture(t, "previous_release.json")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Profiles: []profile.Profile{
			{Name: "Contoso", Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555",
				RedirectURI: "http://localhost:8400", Port: 8400, SignInScopes: []string{"openid", "User.Read"}, FavouriteScopes: []string{"https://graph.microsoft.com/.default"}},
			{Name: "Local provider", Issuer: "http://127.0.0.1:3000", ClientID: "tokendesk-confidential", RedirectURI: "http://localhost/auth/callback", SecretInKeyring: true},
			{Name: "Minimal", Issuer: "https://id.example.com", ClientID: "minimal"},
		},
		AccountFavourites:     []AccountFavourites{{HomeAccountID: "uid.utid", Environment: "login.microsoftonline.com", Scopes: []string{"https://vault.azure.net/.default"}}},
		AccountNames:          []AccountName{{HomeAccountID: "sub-1", Environment: "127.0.0.1:3000", Username: "alice@example.com", Name: "Alice"}},
		RefusedRefresh:        []AccountRef{{HomeAccountID: "uid.utid", Environment: "login.microsoftonline.com"}},
		CredentialHosts:       []CredentialHost{{Host: "git.example.com", Scope: "api://git/.default", Profile: "Contoso", Account: "alice@example.com"}},
		ClipboardClearSeconds: 45,
		AllowPlaintextCache:   true,
		CABundle:              "/etc/ssl/corp-ca.pem",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("loaded\n%+v\nwant\n%+v", c, want)
	}
	dir := t.TempDir()
	if err := SaveConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(filepath.Join(dir, ConfigFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, old) {
		t.Errorf("saving it again changed the file:\n%s\nwas\n%s", again, old)
	}
}
