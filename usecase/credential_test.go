package usecase

import (
	"errors"
	"testing"
)

func TestCredentialHostFor(t *testing.T) {
	configured := []CredentialHost{
		{Host: "git.example.com:8443", Scope: "api://git/.default"},
		{Host: "*.Example.org", Scope: "api://org/.default"},
		{Host: "dev.azure.com", Scope: "api://override/.default"},
	}
	for _, tc := range []struct {
		host, want string
	}{
		{"git.example.com:8443", "api://git/.default"},
		{"GIT.example.com:8443", "api://git/.default"},
		{"git.example.com", ""},
		{"a.example.org", "api://org/.default"},
		{"b.a.example.org", "api://org/.default"},
		{"example.org", ""},
		{"evilexample.org", ""},
		{"dev.azure.com", "api://override/.default"},
		{"contoso.visualstudio.com", AzureDevOpsScope},
		{"visualstudio.com", ""},
		{"visualstudio.com.evil.example", ""},
		{"github.com", ""},
		{"", ""},
	} {
		h, ok := credentialHostFor(configured, tc.host)
		if ok != (tc.want != "") || h.Scope != tc.want {
			t.Errorf("credentialHostFor(%q) = %q, %v; want %q", tc.host, h.Scope, ok, tc.want)
		}
	}
	if h, ok := credentialHostFor(nil, "dev.azure.com"); !ok || h.Scope != AzureDevOpsScope {
		t.Errorf("built-in dev.azure.com: %+v %v", h, ok)
	}
}

func TestChooseGitAccount(t *testing.T) {
	alice := AccountView{Key: "a-key", Username: "alice@contoso.com", Profile: "P"}
	bob := AccountView{Key: "b-key", Username: "bob@contoso.com", Profile: "P"}
	other := AccountView{Key: "o-key", Username: "olga@contoso.com", Profile: "Q"}
	for _, tc := range []struct {
		name     string
		all      []AccountView
		h        CredentialHost
		username string
		want     string
		wantErr  error
	}{
		{"only account", []AccountView{alice, other}, CredentialHost{}, "", "a-key", nil},
		{"git username is an org, not an account", []AccountView{alice}, CredentialHost{}, "contoso", "a-key", nil},
		{"git username picks", []AccountView{alice, bob}, CredentialHost{}, "BOB@contoso.com", "b-key", nil},
		{"configured account", []AccountView{alice, bob}, CredentialHost{Account: "a-key"}, "bob@contoso.com", "a-key", nil},
		{"several", []AccountView{alice, bob}, CredentialHost{}, "contoso", "", ErrNoCredential},
		{"none in profile", []AccountView{other}, CredentialHost{}, "", "", ErrNoCredential},
		{"configured account missing", []AccountView{alice}, CredentialHost{Account: "zed"}, "", "", ErrNoAccount},
	} {
		a, err := chooseGitAccount(tc.all, tc.h, "P", tc.username)
		if a.Key != tc.want || (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
			t.Errorf("%s: got %q, %v", tc.name, a.Key, err)
		}
	}
}
