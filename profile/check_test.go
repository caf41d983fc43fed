package profile

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCheckRedirectURI(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"", true},
		{"http://localhost", true},
		{"http://localhost/", true},
		{"http://127.0.0.1:8400", true},
		{"http://[::1]/cb", true},
		{"http://localhost/auth/callback", true}, // zitadel registers a path
		{"http://LOCALHOST:1/x/y", true},
		{"https://localhost/auth/callback", false},
		{"http://127.0.0.2/", false}, // loopback, but the listener binds only these three
		{"http://example.com/", false},
		{"http://localhost/?x=1", false},
		{"http://localhost/#f", false},
		{"http://user@localhost/", false},
		{"http://localhost:0/", false},
		{"http://localhost:99999/", false},
		{"localhost:8400", false},
		{"/auth/callback", false},
	}
	for _, tt := range tests {
		err := CheckRedirectURI(tt.uri)
		if (err == nil) != tt.ok {
			t.Errorf("CheckRedirectURI(%q) = %v, want ok %v", tt.uri, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "http://localhost/auth/callback") {
			t.Errorf("CheckRedirectURI(%q) does not name what providers register: %v", tt.uri, err)
		}
	}
}

func TestCheck(t *testing.T) {
	ok := Profile{Name: "lab", Issuer: "https://id.example.com", ClientID: "c"}
	tests := []struct {
		name   string
		change func(*Profile)
		want   []string // Problem.String() substrings, in order; nil = valid
	}{
		{"valid oidc", func(*Profile) {}, nil},
		{"valid default", func(p *Profile) { *p = Default() }, nil},
		{"valid loopback http issuer", func(p *Profile) { p.Issuer = "http://127.0.0.1:3000" }, nil},
		{"valid redirect and port", func(p *Profile) { p.RedirectURI, p.Port = "http://127.0.0.1:8400/cb", 8400 }, nil},
		{"empty name", func(p *Profile) { p.Name = " " }, []string{"name: a profile needs a name"}},
		{"padded name", func(p *Profile) { p.Name = "lab " }, []string{"name: must not start or end with spaces"}},
		{"both", func(p *Profile) { p.Authority = "https://login.microsoftonline.com/common" }, []string{"issuer: set either authority"}},
		{"neither", func(p *Profile) { p.Issuer = "" }, []string{"set authority (Microsoft Entra"}},
		{"http issuer off loopback", func(p *Profile) { p.Issuer = "http://id.example.com" }, []string{"issuer: "}},
		{"authority without tenant", func(p *Profile) { p.Issuer, p.Authority = "", "https://login.microsoftonline.com" }, []string{"authority: "}},
		{"no client id", func(p *Profile) { p.ClientID = "" }, []string{"client_id: missing client id"}},
		{"spaced client id", func(p *Profile) { p.ClientID = "a b" }, []string{"client_id: must not contain spaces"}},
		{"bad port", func(p *Profile) { p.Port = 70000 }, []string{"port: must be between 0"}},
		{"remote redirect", func(p *Profile) { p.RedirectURI = "https://example.com/cb" }, []string{"redirect_uri: redirect URI \"https://example.com/cb\" uses https"}},
		{"port disagrees", func(p *Profile) { p.RedirectURI, p.Port = "http://localhost:8400", 8500 }, []string{"redirect_uri: port 8400"}},
		{"bad scopes", func(p *Profile) {
			p.SignInScopes = []string{"openid", "a b"}
			p.FavouriteScopes = []string{`"x"`}
		}, []string{"default_scopes[1]: a scope is one word", "favourite_scopes[0]: "}},
		{"several at once", func(p *Profile) { p.Name, p.ClientID, p.Port = "", "", -1 },
			[]string{"name: ", "client_id: ", "port: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.change(&p)
			got := Check(p)
			if len(got) != len(tt.want) {
				t.Fatalf("Check = %v, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if s := got[i].String(); !strings.Contains(s, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, s, w)
				}
			}
		})
	}
}

// TestJSONNames: the field names are config.json's, which every release must keep.
func TestJSONNames(t *testing.T) {
	p := Profile{Name: "n", Authority: "a", Issuer: "i", ClientID: "c", RedirectURI: "r", Port: 1,
		SignInScopes: []string{"s"}, FavouriteScopes: []string{"f"}, SecretInKeyring: true}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	want := []string{"authority", "client_id", "default_scopes", "favourite_scopes", "issuer", "name", "port", "redirect_uri", "secret_in_keyring"}
	if !sameSet(keys, want) {
		t.Errorf("JSON keys %v, want %v", keys, want)
	}
}

func sameSet(a, b []string) bool {
	m := map[string]bool{}
	for _, s := range a {
		m[s] = true
	}
	want := map[string]bool{}
	for _, s := range b {
		want[s] = true
	}
	return reflect.DeepEqual(m, want)
}

func TestCloneSharesNothing(t *testing.T) {
	p := Profile{SignInScopes: []string{"a"}, FavouriteScopes: []string{"b"}}
	c := p.Clone()
	c.SignInScopes[0], c.FavouriteScopes[0] = "x", "y"
	if p.SignInScopes[0] != "a" || p.FavouriteScopes[0] != "b" {
		t.Errorf("Clone shares slices: %+v", p)
	}
}
