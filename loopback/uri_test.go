package loopback

import (
	"strings"
	"testing"
)

func TestIsHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.0.0.2", true}, // loopback, though no Listener binds it
		{"127.255.255.254", true},
		{"::1", true},
		{"[::1]", true},
		{"::ffff:127.0.0.1", true}, // an IPv4-mapped loopback address is still loopback
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"128.0.0.1", false},
		{"10.0.0.1", false},
		{"localhost.", false}, // a rooted name goes through the resolver
		{"localhost.example.com", false},
		{"127.0.0.1.nip.io", false},
		{"evil-localhost", false},
		{"::1%lo", false},
		{"[::1", false},
		{"2130706433", false}, // 127.0.0.1 as an integer: browsers may resolve it, we do not
	}
	for _, tt := range tests {
		if got := IsHost(tt.host); got != tt.want {
			t.Errorf("IsHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestCheckRedirectURI(t *testing.T) {
	tests := []struct {
		uri  string
		want string // "" means accepted; else a fragment of the error
	}{
		{"http://localhost", ""},
		{"http://localhost/", ""},
		{"http://LOCALHOST:1/x/y", ""},
		{"http://127.0.0.1:8400", ""},
		{"http://127.0.0.1:65535/cb", ""},
		{"http://[::1]/cb", ""},
		{"http://localhost/auth/callback", ""},
		{"https://localhost/auth/callback", "uses https"},
		{"ftp://localhost/", "is not http://"},
		{"localhost:8400", "is not http://"},
		{"/auth/callback", "is not http://"},
		{"", "is not http://"},
		{"http:localhost", "malformed"},
		{"http://user@localhost/", "user info"},
		{"http://user:pw@127.0.0.1/", "user info"},
		{"http://localhost/?x=1", "query"},
		{"http://localhost/?", "query"},
		{"http://localhost/#f", "fragment"},
		{"http://127.0.0.2/", "is not on 127.0.0.1"},
		{"http://example.com/", "is not on 127.0.0.1"},
		{"http://localhost.example.com/", "is not on 127.0.0.1"},
		{"http://0.0.0.0/", "is not on 127.0.0.1"},
		{"http:///cb", "is not on 127.0.0.1"},
		{"http://localhost:0/", "bad port"},
		{"http://localhost:99999/", "bad port"},
		{"http://localhost:-1/", "not a URL"},
		{"http://[::1/", "not a URL"},
		{"http://local host/", "not a URL"},
	}
	for _, tt := range tests {
		err := CheckRedirectURI(tt.uri)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckRedirectURI(%q) = %v, want nil", tt.uri, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckRedirectURI(%q) = %v, want an error with %q", tt.uri, err, tt.want)
		case err != nil && !strings.Contains(err.Error(), tt.uri):
			t.Errorf("CheckRedirectURI(%q) = %v: the error does not name the URI", tt.uri, err)
		}
	}
}
