package storage

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tokendesk/tokendesk/profile"
)

// loadFixture loads testdata/config/<name> through LoadConfig, as a user's file.
func loadFixture(t *testing.T, name string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return LoadConfig(dir)
}

func TestLoadConfigRejectsBadFiles(t *testing.T) {
	tests := []struct {
		file      string
		line, col int    // of the first problem; col 0 = don't check
		field     string // of the first problem
		msg       string // substring of the first problem
	}{
		{"missing_client_id.json", 3, 0, "profiles[0].client_id", "missing client id"},
		{"bad_url.json", 6, 7, "profiles[0].issuer", "not an absolute URL"},
		{"http_issuer.json", 6, 0, "profiles[0].issuer", "must use https"},
		{"duplicate_names.json", 5, 0, "profiles[2].name", `duplicate profile name "work" (also profiles[0])`},
		{"both_authority_issuer.json", 7, 0, "profiles[0].issuer", "not both"},
		{"neither_authority_issuer.json", 3, 0, "profiles[0]", "set authority"},
		{"syntax_error.json", 6, 5, "", "JSON syntax"},
		{"unknown_field.json", 6, 7, "profiles[0].clientid", `unknown field "clientid" (did you mean "client_id"?)`},
		{"client_secret_field.json", 7, 0, "profiles[0].client_secret", "OS keyring"},
		{"wrong_type.json", 7, 7, "profiles[0].port", "expected a whole number, found JSON string"},
		{"bad_redirect.json", 7, 0, "profiles[0].redirect_uri", "must be the loopback URL registered at the provider, such as http://localhost, http://127.0.0.1:8400 or http://localhost/auth/callback"},
		{"unlistenable_redirect.json", 7, 0, "profiles[0].redirect_uri", "must be the loopback URL registered"},
		{"port_mismatch.json", 7, 0, "profiles[0].redirect_uri", "disagrees with port 8500"},
		{"bad_clipboard.json", 3, 3, "clipboard_clear_seconds", "between 0 (never clear) and 86400"},
		{"duplicate_key.json", 4, 3, "clipboard_clear_seconds", "appears twice"},
		{"trailing_data.json", 2, 1, "", "JSON syntax"},
		{"empty.json", 1, 1, "", "file is empty"},
		{"duplicate_account.json", 5, 0, "account_favourites[1]", "duplicate account"},
		{"bad_scope.json", 7, 0, "profiles[0].default_scopes[1]", "without spaces"},
		{"not_object.json", 1, 0, "", "expected an object"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := loadFixture(t, tt.file)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got config %+v, err %v; want a *ConfigError", c, err)
			}
			p := ce.Problems[0]
			if p.Line != tt.line || (tt.col != 0 && p.Column != tt.col) || p.Field != tt.field || !strings.Contains(p.Message, tt.msg) {
				t.Fatalf("first problem %+v\nwant line %d col %d field %q message containing %q", p, tt.line, tt.col, tt.field, tt.msg)
			}
			// The error text carries file:line:col so editors can jump to it.
			if want := ConfigFileName + ":" + p.String(); !strings.Contains(err.Error(), want) {
				t.Errorf("error text %q lacks %q", err.Error(), want)
			}
			if strings.Contains(err.Error(), "do-not-put-me-here") {
				t.Error("error text repeats a secret from the file")
			}
		})
	}
}

func TestLoadConfigValid(t *testing.T) {
	c, err := loadFixture(t, "valid.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Profiles) != 2 || c.ClipboardClearSeconds != 30 || c.AllowPlaintextCache {
		t.Fatalf("%+v", c)
	}
	p, ok := c.Profile("Local provider")
	if !ok || p.Issuer != "http://127.0.0.1:3000" || !p.SecretInKeyring {
		t.Fatalf("Local provider = %+v, %v", p, ok)
	}
	if got := c.FavouriteScopes("uid.utid", "LOGIN.microsoftonline.com"); !reflect.DeepEqual(got, []string{"https://vault.azure.net/.default"}) {
		t.Fatalf("favourites %v", got)
	}

	m, err := loadFixture(t, "minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	if m.ClipboardClearSeconds != DefaultClipboardClearSeconds {
		t.Errorf("absent clipboard_clear_seconds = %d, want the default", m.ClipboardClearSeconds)
	}
	if ps := m.EffectiveProfiles(); len(ps) != 1 || ps[0].Name != profile.DefaultName {
		t.Errorf("no profiles should mean the default profile, got %+v", ps)
	}
	if _, ok := m.Profile(profile.DefaultName); !ok {
		t.Error("Profile does not find the default profile of an empty config")
	}
	// Callers rebuild Profiles while consulting the old list; they must not alias.
	ps := c.EffectiveProfiles()
	c.Profiles = c.Profiles[:0]
	c.Profiles = append(c.Profiles, profile.Profile{Name: "overwritten"})
	if ps[0].Name != "Contoso" {
		t.Errorf("EffectiveProfiles aliases Profiles: %q", ps[0].Name)
	}
}

func TestLoadConfigMissingFileIsDefault(t *testing.T) {
	c, err := LoadConfig(filepath.Join(t.TempDir(), "not-there"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, DefaultConfig()) {
		t.Fatalf("%+v", c)
	}
	p := c.Profiles[0]
	if p.ClientID != "04b07795-8ddb-461a-bbee-02f9e1bf7b46" ||
		p.Authority != "https://login.microsoftonline.com/organizations" ||
		p.RedirectURI != "http://localhost" ||
		!reflect.DeepEqual(p.FavouriteScopes, []string{"https://graph.microsoft.com/.default", "https://management.azure.com/.default"}) {
		t.Fatalf("default profile %+v", p)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("default config does not validate: %v", err)
	}
}

func TestSaveConfigRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	c := DefaultConfig()
	c.Profiles = append(c.Profiles, profile.Profile{Name: "Local", Issuer: "http://[::1]:3000", ClientID: "x", Port: 8400, SecretInKeyring: true})
	c.SetFavouriteScopes("u.t", "login.microsoftonline.com", []string{"a", "b"})
	c.SetFavouriteScopes("u.t", "login.microsoftonline.com", []string{"c"})
	c.SetFavouriteScopes("gone", "x", []string{"d"})
	c.SetFavouriteScopes("gone", "x", nil)
	c.AllowPlaintextCache = true
	if err := SaveConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	if len(got.AccountFavourites) != 1 || got.AccountFavourites[0].Scopes[0] != "c" {
		t.Fatalf("favourites %+v", got.AccountFavourites)
	}
	fi, err := os.Stat(filepath.Join(dir, ConfigFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file mode %v (%v)", fi.Mode().Perm(), err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ConfigFileName))
	if !strings.Contains(string(raw), "\n  \"profiles\": [") {
		t.Errorf("config is not indented for humans:\n%s", raw)
	}

	bad := DefaultConfig()
	bad.Profiles[0].ClientID = ""
	err = SaveConfig(dir, bad)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Problems[0].Field != "profiles[0].client_id" {
		t.Fatalf("saving an invalid config: %v", err)
	}
	if again, _ := LoadConfig(dir); !reflect.DeepEqual(again, c) {
		t.Fatal("a refused save changed the file")
	}
}

func TestLoadConfigTooLarge(t *testing.T) {
	dir := t.TempDir()
	big := `{"profiles": [], "x": "` + strings.Repeat("a", maxConfigSize) + `"}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(EnvHome, "/tmp/td-home")
	if d, err := DefaultDir(); err != nil || d != "/tmp/td-home" {
		t.Fatalf("with %s: %q, %v", EnvHome, d, err)
	}
	t.Setenv(EnvHome, "")
	t.Setenv("XDG_CONFIG_HOME", "/tmp/xdg-config")
	t.Setenv("HOME", "/tmp/home")
	want := filepath.Join("/tmp/xdg-config", "tokendesk")
	if d, err := DefaultDir(); err != nil || d != want {
		t.Fatalf("default: %q, %v; want %q", d, err, want)
	}
}

// FuzzLoadConfig checks that no file makes the config parser panic, and that whatever
// it accepts is valid and survives a save and reload unchanged.
func FuzzLoadConfig(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "config"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", "config", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(ConfigFileName, data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error is not a *ConfigError with problems: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		dir := t.TempDir()
		if err := SaveConfig(dir, c); err != nil {
			t.Fatalf("accepted config does not save: %v", err)
		}
		again, err := LoadConfig(dir)
		if err != nil {
			t.Fatalf("saved config does not load: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(c)) {
			t.Fatalf("save/load changed the config:\n%+v\n%+v", c, again)
		}
	})
}

// normalize maps empty slices to nil: JSON cannot tell them apart after omitempty.
func normalize(c *Config) *Config {
	n := *c
	if len(n.Profiles) == 0 {
		n.Profiles = nil
	}
	n.Profiles = append([]profile.Profile(nil), n.Profiles...)
	for i := range n.Profiles {
		if len(n.Profiles[i].SignInScopes) == 0 {
			n.Profiles[i].SignInScopes = nil
		}
		if len(n.Profiles[i].FavouriteScopes) == 0 {
			n.Profiles[i].FavouriteScopes = nil
		}
	}
	if len(n.AccountFavourites) == 0 {
		n.AccountFavourites = nil
	}
	n.AccountFavourites = append([]AccountFavourites(nil), n.AccountFavourites...)
	for i := range n.AccountFavourites {
		if len(n.AccountFavourites[i].Scopes) == 0 {
			n.AccountFavourites[i].Scopes = nil
		}
	}
	return &n
}
