package app

import (
	"context"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testScope = "api://tokendesk/read"

func localProfile(p *testenv.OIDCProvider) profile.Profile {
	return profile.Profile{Name: "Local", Issuer: p.Issuer, ClientID: p.PublicClientID,
		RedirectURI: "http://127.0.0.1/", FavouriteScopes: []string{testScope}}
}

// TestProviderPersistentCache signs in through one Desk over the encrypted storage
// cache (key in the real keyring) and config.json, then reads the account and a cached
// token through a second Desk, as the CLI does while the window is open.
func TestProviderPersistentCache(t *testing.T) {
	testenv.RequireKeyring(t)
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	open := func() *usecase.Desk {
		st, err := OpenDir(dir, storage.SystemKeyring(3*time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Probe(ctx); err != nil {
			t.Fatal(err)
		}
		return st.Desk
	}
	window := open()
	if err := window.AddProfile(ctx, localProfile(p)); err != nil {
		t.Fatal(err)
	}
	opener, browserErr := p.Opener("carol")
	v, err := window.SignIn(ctx, "Local", usecase.SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("SignIn: %v (browser: %v)", err, <-browserErr)
	}
	if err := window.AddScope(ctx, v.Key, "api://tokendesk/write"); err != nil {
		t.Fatal(err)
	}

	cli := open()
	accs, err := cli.Accounts(ctx)
	if err != nil || len(accs) != 1 || accs[0].Key != v.Key || accs[0].Status != usecase.StatusValid {
		t.Fatalf("second process sees %+v, %v", accs, err)
	}
	scopes, err := cli.Scopes(ctx, "carol@example.test")
	if err != nil || len(scopes) != 2 || !scopes[1].Favourite || scopes[1].Name != "api://tokendesk/write" {
		t.Fatalf("favourites from config.json: %+v, %v", scopes, err)
	}
	res, err := cli.Token(ctx, v.Key, []string{testScope}, false)
	if err != nil || res.Source != identity.SourceCache {
		t.Fatalf("token from the persisted cache: source %v, %v", res.Source, err)
	}
	if err := cli.SignOut(ctx, v.Key); err != nil {
		t.Fatal(err)
	}
	if accs, _ := window.Accounts(ctx); len(accs) != 0 {
		t.Errorf("the first Desk still sees %d accounts after the second signed out", len(accs))
	}
	cfg, err := storage.LoadConfig(dir)
	if err != nil || len(cfg.AccountFavourites) != 0 {
		t.Errorf("config after sign out: %+v, %v", cfg.AccountFavourites, err)
	}
}
