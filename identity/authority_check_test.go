package identity

import (
	"strings"
	"testing"
)

func TestCheckAuthority(t *testing.T) {
	tests := []struct {
		raw  string
		oidc bool
		want string // "" means accepted; else a fragment of the error
	}{
		{"https://login.microsoftonline.com/organizations", false, ""},
		{"https://login.microsoftonline.com/contoso.onmicrosoft.com/", false, ""},
		{"https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin", false, ""},
		{"https://contoso.ciamlogin.com", false, ""},
		{"https://adfs.contoso.com/adfs", false, ""},
		{"http://127.0.0.1:8443/tenant", false, ""},
		{"https://accounts.example.com", true, ""},
		{"https://accounts.example.com/realms/x/", true, ""},
		{"http://localhost:9000", true, ""},
		{"http://[::1]:9000/oidc", true, ""},
		{"https://login.microsoftonline.com", false, "needs a tenant"},
		{"https://contoso.b2clogin.com/contoso.onmicrosoft.com", false, "tenant and a policy"},
		{"login.microsoftonline.com/common", false, "not an absolute URL"},
		{"/common", true, "not an absolute URL"},
		{"", true, "not an absolute URL"},
		{"https://", true, "not an absolute URL"},
		{" https://accounts.example.com", true, "not an absolute URL"},
		{"https://accounts.example.com?x=1", true, "query"},
		{"https://accounts.example.com/?", true, "query"},
		{"https://accounts.example.com#top", true, "fragment"},
		{"https://me:pw@accounts.example.com", true, "user info"},
		{"http://accounts.example.com", true, "must use https"},
		{"http://localhost.example.com", true, "must use https"},
		{"http://127.0.0.1.nip.io/t", false, "must use https"},
		{"ftp://accounts.example.com", true, "must use https"},
	}
	for _, tt := range tests {
		err := CheckAuthority(tt.raw, tt.oidc)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckAuthority(%q, %v) = %v, want nil", tt.raw, tt.oidc, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckAuthority(%q, %v) = %v, want an error with %q", tt.raw, tt.oidc, err, tt.want)
		}
		if tt.want == "" {
			// What the check accepts, the client options accept.
			opt := WithAuthority(tt.raw)
			if tt.oidc {
				opt = WithOIDCAuthority(tt.raw)
			}
			if _, err := NewPublicClient("c", opt); err != nil {
				t.Errorf("CheckAuthority accepts %q but NewPublicClient refuses it: %v", tt.raw, err)
			}
		}
	}
}
