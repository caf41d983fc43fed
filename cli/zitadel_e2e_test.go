package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/app"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

// TestEndToEndZitadel: the CLI against the second real provider, zitadel's example OP:
// login through its path redirect URI, the names its userinfo gives, its 5-minute
// token from the cache, and a scope added later fixed by the login command token names.
func TestEndToEndZitadel(t *testing.T) {
	z := testenv.Zitadel(t)
	testenv.RequireKeyring(t)
	ctx := e2eContext(t)
	home := t.TempDir()
	err := storage.SaveConfig(home, &storage.Config{Profiles: []profile.Profile{{
		Name: "zitadel", Issuer: z.Issuer, ClientID: z.ClientID, RedirectURI: z.RedirectURI,
		SignInScopes: []string{"email"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.OpenCacheStore(home, storage.SystemKeyring(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := usecase.New(usecase.Deps{
		Config: app.StorageConfig(home),
		Cache:  identity.NewTokenCache(identity.WithCacheHook(store)),
		Opener: func(ctx context.Context, authURL string) error {
			return z.LoginAndDeliver(ctx, authURL, testenv.ZitadelUser)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := inProcess(ctx, desk, "login")
	want(t, r, ExitOK, "login at zitadel")
	key := strings.TrimSpace(r.stdout)
	if !strings.Contains(r.stderr, "Signed in as "+testenv.ZitadelUser) {
		t.Errorf("login did not name the user from userinfo:\n%s", r.stderr)
	}
	r = inProcess(ctx, desk, "accounts")
	if !strings.Contains(r.stdout, testenv.ZitadelUser) || !strings.Contains(r.stdout, testenv.ZitadelUserName) {
		t.Errorf("accounts lacks the userinfo names:\n%s", r.stdout)
	}
	t1 := inProcess(ctx, desk, "token", "--scope", "email", "--account", testenv.ZitadelUser)
	t2 := inProcess(ctx, desk, "token", "--scope", "email", "--account", testenv.ZitadelUser)
	want(t, t2, ExitOK, "token by the userinfo username")
	if t1.stdout != t2.stdout {
		t.Error("the second call did not return zitadel's cached 5-minute token")
	}
	r = inProcess(ctx, desk, "token", "--scope", "phone", "--account", key)
	want(t, r, ExitInteractionRequired, "token for a scope not consented")
	fix := "tokendesk login --profile zitadel --login-hint " + testenv.ZitadelUser + " --scope phone"
	if !strings.Contains(r.stderr, fix) {
		t.Fatalf("token did not name %q:\n%s", fix, r.stderr)
	}
	r = inProcess(ctx, desk, strings.Fields(fix)[1:]...)
	want(t, r, ExitOK, "login --scope phone")
	r = inProcess(ctx, desk, "token", "--scope", "phone", "--account", key)
	want(t, r, ExitOK, "token for the scope consented now")
}
