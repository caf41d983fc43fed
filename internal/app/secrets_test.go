package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

// TestProviderInstalledAppSecret: a profile whose client must send a secret cannot
// sign in until the secret is set; SetProfileSecret keeps it in the real keyring (not
// the configuration), after which sign-in and refresh work; clearing it removes both
// the keyring entry and the profile's flag.
func TestProviderInstalledAppSecret(t *testing.T) {
	testenv.RequireKeyring(t)
	p := testenv.Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := "installed-" + time.Now().Format("150405.000000000")
	t.Cleanup(func() { _ = keyring.Delete(storage.KeyringService, "profile-secret:"+name) })
	cfg := usecase.NewMemoryConfig(profile.Profile{Name: name, Issuer: p.Issuer, ClientID: p.InstalledClientID,
		RedirectURI: "http://127.0.0.1/", FavouriteScopes: []string{testScope}, SecretInKeyring: true})
	d, err := usecase.New(usecase.Deps{Config: cfg, Cache: identity.NewTokenCache(),
		Secrets: KeyringSecrets(storage.SystemKeyring(storage.DefaultKeyringTimeout))})
	if err != nil {
		t.Fatal(err)
	}

	opener, _ := p.Opener("ivan")
	if _, err := d.SignIn(ctx, name, usecase.SignInOptions{Opener: opener}); !errors.Is(err, usecase.ErrProfileInvalid) {
		t.Fatalf("sign-in with the secret missing: want ErrProfileInvalid, got %v", err)
	}

	if err := d.SetProfileSecret(ctx, name, p.ClientSecret); err != nil {
		t.Fatal(err)
	}
	if got, err := keyring.Get(storage.KeyringService, "profile-secret:"+name); err != nil || got != p.ClientSecret {
		t.Fatalf("the secret is not in the keyring (%v)", err)
	}
	s, err := cfg.Load(ctx)
	if err != nil || len(s.Profiles) != 1 || !s.Profiles[0].SecretInKeyring {
		t.Fatalf("profile not marked as needing its secret: %+v, %v", s.Profiles, err)
	}

	opener, browserErr := p.Opener("ivan")
	v, err := d.SignIn(ctx, name, usecase.SignInOptions{Opener: opener})
	if err != nil {
		t.Fatalf("sign-in with the secret: %v (browser: %v)", err, <-browserErr)
	}
	if _, err := d.Token(ctx, v.Key, []string{testScope}, true); err != nil {
		t.Fatalf("refresh with the secret: %v", err)
	}

	if err := d.SetProfileSecret(ctx, name, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Get(storage.KeyringService, "profile-secret:"+name); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("clearing the secret left it in the keyring (%v)", err)
	}
	if s, _ := cfg.Load(ctx); s.Profiles[0].SecretInKeyring {
		t.Fatal("clearing the secret left the profile marked as needing one")
	}
}
