package usecase

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

var (
	alice = identity.Account{HomeAccountID: "uid-a.tid", Environment: "login.example", Realm: "tid", Username: "alice@example.com", Name: "Alice"}
	bob   = identity.Account{HomeAccountID: "uid-b.tid", Environment: "login.example", Realm: "tid", Username: "bob@example.com", Name: "Bob"}
	bob2  = identity.Account{HomeAccountID: "uid-b2.tid2", Environment: "login.example", Realm: "tid2", Username: "BOB@example.com", Name: "Bob (guest)"}
)

var entra = profile.Profile{Name: "Entra", Authority: "https://login.example/organizations", ClientID: "cid",
	FavouriteScopes: []string{"https://graph.example/.default"}}

func TestAccountsStatusAndOrder(t *testing.T) {
	now := time.Now()
	fc := &fakeClient{accounts: []identity.Account{bob, alice, bob2}}
	d := newFakeDesk(NewMemoryConfig(entra), fc, map[string]tokenState{
		AccountKey(alice): {latestExpiry: now.Add(time.Hour), hasRefresh: true},
		AccountKey(bob):   {latestExpiry: now.Add(-time.Hour), hasRefresh: true},
	})
	got, err := d.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name   string
		status Status
	}{{"Alice", StatusValid}, {"Bob", StatusExpiredRefreshable}, {"Bob (guest)", StatusNeedsSignIn}}
	if len(got) != len(want) {
		t.Fatalf("got %d accounts, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].DisplayName != w.name || got[i].Status != w.status {
			t.Errorf("account %d = %s/%v, want %s/%v", i, got[i].DisplayName, got[i].Status, w.name, w.status)
		}
		if got[i].Profile != "Entra" || got[i].TenantOrIssuer == "" {
			t.Errorf("account %d: profile %q tenant %q", i, got[i].Profile, got[i].TenantOrIssuer)
		}
	}
}

func TestFindAccount(t *testing.T) {
	fc := &fakeClient{accounts: []identity.Account{alice, bob, bob2}}
	d := newFakeDesk(NewMemoryConfig(entra), fc, nil)
	ctx := context.Background()
	tests := []struct {
		query, profile string
		want           string
		err            error
	}{
		{query: AccountKey(alice), want: "Alice"},
		{query: strings.ToUpper(AccountKey(alice)), want: "Alice"},
		{query: "ALICE@example.com", want: "Alice"},
		{query: "bob@example.com", err: ErrAmbiguousAccount},
		{query: AccountKey(bob2), want: "Bob (guest)"},
		{query: "carol@example.com", err: ErrNoAccount},
		{query: "", err: ErrAmbiguousAccount},
		{query: "alice@example.com", profile: "Other", err: ErrNoAccount},
	}
	for _, tt := range tests {
		got, err := d.FindAccount(ctx, tt.query, tt.profile)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("FindAccount(%q, %q) err = %v, want %v", tt.query, tt.profile, err, tt.err)
			}
			continue
		}
		if err != nil || got.DisplayName != tt.want {
			t.Errorf("FindAccount(%q) = %q, %v; want %q", tt.query, got.DisplayName, err, tt.want)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	ctx := context.Background()
	fc := &fakeClient{accounts: []identity.Account{alice}, tokens: map[string]identity.Result{
		AccountKey(alice): {AccessToken: "fake-at", ExpiresOn: time.Now().Add(time.Hour)},
	}}
	d := newFakeDesk(NewMemoryConfig(entra), fc, nil)
	if _, err := d.Token(ctx, "alice@example.com", nil, false); !errors.Is(err, ErrNoScope) {
		t.Errorf("no scopes: %v", err)
	}
	if _, err := d.Token(ctx, "", []string{"s"}, false); !errors.Is(err, ErrNoAccount) {
		t.Errorf("empty account: %v", err)
	}
	res, err := d.Token(ctx, "alice@example.com", []string{"a b", "a"}, true)
	if err != nil || res.AccessToken != "fake-at" || strings.Join(res.Scopes, " ") != "a b" || fc.lastOpts != 1 {
		t.Errorf("token: %v scopes %v opts %d", err, res.Scopes, fc.lastOpts)
	}
	fc.err = &identity.Error{Code: "invalid_grant", Description: "expired", CorrelationID: "corr-1"}
	_, err = d.Token(ctx, AccountKey(alice), []string{"s"}, false)
	var ie *identity.Error
	if !errors.Is(err, identity.ErrInteractionRequired) || !errors.As(err, &ie) || ie.CorrelationID != "corr-1" {
		t.Errorf("refresh failure should match ErrInteractionRequired and keep the server error: %v", err)
	}
}

func TestScopesFavourites(t *testing.T) {
	ctx := context.Background()
	cfg := NewMemoryConfig(entra)
	fc := &fakeClient{accounts: []identity.Account{alice}}
	d := newFakeDesk(cfg, fc, nil)
	var notified int
	defer d.Subscribe(func() { notified++ })()
	k := AccountKey(alice)
	if err := d.AddScope(ctx, k, "api://x/read"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddScope(ctx, k, "api://x/read"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddScope(ctx, k, "two scopes"); err == nil {
		t.Error("a scope with a space was accepted")
	}
	got, err := d.Scopes(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	want := []Scope{{Name: "https://graph.example/.default"}, {Name: "api://x/read", Favourite: true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Scopes = %v, want %v", got, want)
	}
	if err := d.RemoveScope(ctx, k, entra.FavouriteScopes[0]); !errors.Is(err, ErrDefaultScope) {
		t.Errorf("removing a default: %v", err)
	}
	if err := d.RemoveScope(ctx, k, "api://x/read"); err != nil {
		t.Fatal(err)
	}
	s, _ := cfg.Load(ctx)
	if len(s.Favourites) != 0 {
		t.Errorf("favourites left: %v", s.Favourites)
	}
	if notified != 2 {
		t.Errorf("subscribers notified %d times, want 2 (add, remove)", notified)
	}
}

func TestSignOutForgetsFavourites(t *testing.T) {
	ctx := context.Background()
	cfg := NewMemoryConfig(entra)
	fc := &fakeClient{accounts: []identity.Account{alice, bob}}
	d := newFakeDesk(cfg, fc, nil)
	if err := d.AddScope(ctx, AccountKey(alice), "x"); err != nil {
		t.Fatal(err)
	}
	if err := d.SignOut(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if len(fc.removed) != 1 || fc.removed[0] != AccountKey(alice) {
		t.Errorf("removed %v", fc.removed)
	}
	accs, _ := d.Accounts(ctx)
	if len(accs) != 1 || accs[0].Username != "bob@example.com" {
		t.Errorf("accounts after sign out: %v", accs)
	}
	if s, _ := cfg.Load(ctx); len(s.Favourites) != 0 {
		t.Errorf("favourites kept: %v", s.Favourites)
	}
}

func TestSignInFake(t *testing.T) {
	ctx := context.Background()
	fc := &fakeClient{}
	d := newFakeDesk(NewMemoryConfig(entra), fc, nil)
	var gotURL string
	v, err := d.SignIn(ctx, "", SignInOptions{LoginHint: "new@example.com", OnAuthURL: func(u string) { gotURL = u }})
	if err != nil || v.Username != "new@example.com" || v.Profile != "Entra" || gotURL == "" {
		t.Fatalf("SignIn = %+v, %v (url %q)", v, err, gotURL)
	}
	if _, err := d.SignIn(ctx, "nope", SignInOptions{}); !errors.Is(err, ErrNoProfile) {
		t.Errorf("unknown profile: %v", err)
	}
	var code DeviceCode
	v, err = d.SignInWithDeviceCode(ctx, "entra", DeviceCodeOptions{OnCode: func(c DeviceCode) { code = c }})
	if err != nil || code.UserCode == "" || v.Username != "device@example.com" {
		t.Errorf("device code: %+v %v %+v", v, err, code)
	}
}

func TestSignInScopes(t *testing.T) {
	oidc := profile.Profile{Issuer: "http://127.0.0.1:1", FavouriteScopes: []string{"openid", "api:read", "offline_access"}}
	tests := []struct {
		p     profile.Profile
		asked []string
		want  string
	}{
		{entra, nil, ""},
		{entra, []string{"a b"}, "a b"},
		{oidc, nil, "api:read"},
		{oidc, []string{"profile"}, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(signInScopes(tt.p, tt.asked), " "); got != tt.want {
			t.Errorf("signInScopes(%v, %v) = %q, want %q", tt.p.FavouriteScopes, tt.asked, got, tt.want)
		}
	}
}

func TestAddProfileValidation(t *testing.T) {
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"` + issuer + `/good","authorization_endpoint":"` + issuer + `/good/auth","token_endpoint":"` + issuer + `/good/token"}`))
		case "/liar/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"https://elsewhere","authorization_endpoint":"x","token_endpoint":"y"}`))
		case "/html/.well-known/openid-configuration":
			w.Write([]byte(`<html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	issuer = srv.URL
	ctx := context.Background()
	cfg := NewMemoryConfig(entra)
	d := newFakeDesk(cfg, &fakeClient{}, nil)
	tests := []struct {
		name string
		p    profile.Profile
		ok   bool
	}{
		{"good", profile.Profile{Name: "Local", Issuer: srv.URL + "/good", ClientID: "c"}, true},
		{"duplicate", profile.Profile{Name: "local", Issuer: srv.URL + "/good", ClientID: "c"}, false},
		{"no client", profile.Profile{Name: "A", Issuer: srv.URL + "/good"}, false},
		{"no name", profile.Profile{Issuer: srv.URL + "/good", ClientID: "c"}, false},
		{"both", profile.Profile{Name: "B", Issuer: srv.URL + "/good", Authority: srv.URL, ClientID: "c"}, false},
		{"plain http remote", profile.Profile{Name: "C", Issuer: "http://example.com", ClientID: "c"}, false},
		{"issuer mismatch", profile.Profile{Name: "D", Issuer: srv.URL + "/liar", ClientID: "c"}, false},
		{"not json", profile.Profile{Name: "E", Issuer: srv.URL + "/html", ClientID: "c"}, false},
		{"404", profile.Profile{Name: "F", Issuer: srv.URL + "/none", ClientID: "c"}, false},
		{"bad redirect", profile.Profile{Name: "G", Issuer: srv.URL + "/good", ClientID: "c", RedirectURI: "https://example.com/"}, false},
	}
	for _, tt := range tests {
		err := d.AddProfile(ctx, tt.p)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrProfileInvalid)) {
			t.Errorf("%s: AddProfile err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	ps, _ := d.Profiles(ctx)
	if len(ps) != 2 || ps[1].Name != "Local" {
		t.Fatalf("profiles = %v", ps)
	}
	if err := d.RemoveProfile(ctx, "LOCAL"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveProfile(ctx, "Local"); !errors.Is(err, ErrNoProfile) {
		t.Errorf("second remove: %v", err)
	}
}
