package usecase

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// TestRecordUserinfoAdversaries: userinfo names are taken only from a well-formed
// answer about the signed-in subject, over https or loopback; anything else leaves the
// account as it was and never fails the sign-in.
func TestRecordUserinfoAdversaries(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string // "" = this server's /userinfo
		status   int
		body     string
		idSub    string
		want     AccountName
		asked    bool // whether the token must have reached userinfo
	}{
		{"names", "", 200, `{"sub":"id1","preferred_username":"u@x","name":"U X"}`, "id1", AccountName{Username: "u@x", Name: "U X"}, true},
		{"email when no username", "", 200, `{"sub":"id1","email":"e@x"}`, "id1", AccountName{Username: "e@x"}, true},
		{"another subject", "", 200, `{"sub":"id2","preferred_username":"mallory"}`, "id1", AccountName{}, true},
		{"no subject", "", 200, `{"preferred_username":"mallory"}`, "id1", AccountName{}, true},
		{"server error", "", 500, `{"sub":"id1","name":"x"}`, "id1", AccountName{}, true},
		{"garbage", "", 200, `<html>`, "id1", AccountName{}, true},
		{"no names", "", 200, `{"sub":"id1"}`, "id1", AccountName{}, true},
		{"plain http off loopback", "http://userinfo.example/ui", 200, ``, "id1", AccountName{}, false},
		{"no endpoint", "-", 200, ``, "id1", AccountName{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/.well-known/openid-configuration":
					ep := tt.endpoint
					switch ep {
					case "":
						ep = "http://" + r.Host + "/userinfo"
					case "-":
						ep = ""
					}
					fmt.Fprintf(w, `{"issuer":"http://%s","userinfo_endpoint":%q}`, r.Host, ep)
				case "/userinfo":
					if r.Header.Get("Authorization") == "Bearer at-1" {
						asked.Store(true)
					}
					w.WriteHeader(tt.status)
					fmt.Fprint(w, tt.body)
				}
			}))
			defer srv.Close()
			cfg := NewMemoryConfig()
			d, err := New(Deps{Config: cfg, Cache: identity.NewTokenCache(), HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			p := profile.Profile{Name: "P", Issuer: srv.URL + "/", ClientID: "c"}
			res := identity.Result{AccessToken: "at-1", IDTokenClaims: identity.NewClaims(map[string]any{"sub": tt.idSub}),
				Account: identity.Account{HomeAccountID: "id1", Environment: strings.TrimPrefix(srv.URL, "http://"), LocalAccountID: "id1"}}
			got, ok := d.recordUserinfo(context.Background(), p, res)
			got.HomeAccountID, got.Environment = "", ""
			if got != tt.want || ok != (tt.want != AccountName{}) {
				t.Errorf("recorded %+v (%v), want %+v", got, ok, tt.want)
			}
			if asked.Load() != tt.asked {
				t.Errorf("token sent to userinfo: %v, want %v", asked.Load(), tt.asked)
			}
			s, _ := cfg.Load(context.Background())
			if (len(s.Names) == 1) != ok {
				t.Errorf("names kept: %+v", s.Names)
			}
			// With names in the ID token, userinfo is not asked at all.
			asked.Store(false)
			res.Account.Username, res.Account.Name = "idt@x", "From ID token"
			if _, ok := d.recordUserinfo(context.Background(), p, res); ok || asked.Load() {
				t.Error("userinfo asked although the ID token named the account")
			}
		})
	}
}
