package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/tokendesk/tokendesk/internal/app"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const realScope = "api://tokendesk/read"

// realDesk opens the profile directory dir the way main does: config.json, the
// encrypted cache with its key in the real keyring, the use cases.
func realDesk(t *testing.T, dir string) *usecase.Desk {
	t.Helper()
	st, err := app.OpenDir(dir, storage.SystemKeyring(3*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Desk
}

// scripted is an Opener that signs username in at p, as a user in a browser would.
func scripted(t *testing.T, p *testenv.OIDCProvider, username string) usecase.Opener {
	return func(ctx context.Context, authURL string) error {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := p.LoginAndDeliver(ctx, authURL, username); err != nil {
				t.Errorf("scripted browser: %v", err)
			}
		}()
		return nil
	}
}

// seededProfile signs users in at the real provider into a fresh profile directory,
// as an earlier run of Tokendesk would have.
func seededProfile(t *testing.T, p *testenv.OIDCProvider, users ...string) string {
	t.Helper()
	testenv.RequireKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	d := realDesk(t, dir)
	err := d.AddProfile(ctx, profile.Profile{Name: "Local", Issuer: p.Issuer, ClientID: p.PublicClientID,
		RedirectURI: "http://127.0.0.1/", FavouriteScopes: []string{realScope}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := d.SignIn(ctx, "Local", usecase.SignInOptions{Opener: scripted(t, p, u)}); err != nil {
			t.Fatalf("seeding %s: %v", u, err)
		}
	}
	return dir
}

func TestRealListCopySignOut(t *testing.T) {
	p := testenv.Provider(t)
	dir := seededProfile(t, p, "alice", "bob")
	desk := realDesk(t, dir) // a new process's view of the same profile
	a := test.NewTempApp(t)
	u := startTestUI(t, a, desk, Options{ClipboardClear: -1})

	if len(u.list.all) != 2 || u.list.all[0].Username != "alice@example.test" || u.list.all[1].Username != "bob@example.test" {
		t.Fatalf("list shows %+v", u.list.all)
	}
	if u.list.list.Length() != 2 || u.list.empty.Visible() {
		t.Fatalf("list widget: %d rows, empty state visible %v", u.list.list.Length(), u.list.empty.Visible())
	}

	// The tray offers the same accounts, each with the profile's scope.
	m := u.trayMenu()
	if got := m.Items[0].Label + "|" + m.Items[1].Label; got != "Alice (alice@example.test) — signed in|Bob (bob@example.test) — signed in" {
		t.Errorf("tray accounts %q", got)
	}
	if sc := m.Items[0].ChildMenu.Items; len(sc) != 1 || sc[0].Label != "Copy "+realScope+" token" {
		t.Errorf("tray scopes of Alice: %+v", sc)
	}

	// Copy: the clipboard holds exactly the token the use case hands out for the scope.
	u.list.list.Select(0)
	copyBtn := findButton(u.win.Content(), "Copy token")
	if copyBtn == nil {
		t.Fatal("no Copy token button in the detail pane")
	}
	want, err := desk.Token(context.Background(), u.list.all[0].Key, []string{realScope}, false)
	if err != nil {
		t.Fatal(err)
	}
	test.AssertNotificationSent(t, fyne.NewNotification("Token copied",
		fmt.Sprintf("Access token for %s (alice@example.test), expires %s.", realScope, want.ExpiresOn.Local().Format("15:04"))),
		func() {
			test.Tap(copyBtn)
			u.settle()
		})
	if got := a.Clipboard().Content(); got == "" || got != want.AccessToken {
		t.Fatalf("clipboard holds a different token than the cache's (%d vs %d bytes)", len(got), len(want.AccessToken))
	}

	// Sign out Alice through the confirmation dialog.
	test.Tap(findButton(u.win.Content(), "Sign out…"))
	test.Tap(findButton(u.win.Canvas().Overlays().Top(), "Sign out"))
	u.settle()
	if len(u.list.all) != 1 || u.list.all[0].Username != "bob@example.test" {
		t.Fatalf("after sign out the list shows %+v", u.list.all)
	}
	if accs, _ := realDesk(t, dir).Accounts(context.Background()); len(accs) != 1 {
		t.Errorf("sign out did not reach the stored cache: %d accounts", len(accs))
	}
	if m := u.trayMenu(); m.Items[0].Label != "Bob (bob@example.test) — signed in" {
		t.Errorf("tray not rebuilt after sign out: %q", m.Items[0].Label)
	}
}

func TestRealSignInDialog(t *testing.T) {
	p := testenv.Provider(t)
	dir := seededProfile(t, p)
	a := test.NewTempApp(t)
	u := startTestUI(t, a, realDesk(t, dir), Options{Opener: scripted(t, p, "frank")})
	if !u.list.empty.Visible() {
		t.Fatal("an empty profile shows no empty state")
	}

	u.showSignIn("", "")
	u.settle()
	s := u.signInDlg
	s.profile.SetSelected("Local")
	test.Type(s.hint, "frank")
	test.Tap(s.signIn)
	u.settle()
	if s.authURL == "" || !strings.HasPrefix(s.authURL, p.Issuer) {
		t.Errorf("sign-in link for Copy sign-in link = %q", s.authURL)
	}
	if len(u.list.all) != 1 || u.list.all[0].Username != "frank@example.test" || u.list.all[0].Status != usecase.StatusValid {
		t.Fatalf("after sign-in the list shows %+v (status %q)", u.list.all, s.status.Text)
	}
	if u.detail.key != u.list.all[0].Key {
		t.Errorf("the new account is not selected")
	}
}

// TestRealNoBrowserFallsBackToDeviceCode: the opener cannot show the page (no display,
// SSH), so the dialog offers the device flow; the user approves the code at the real
// provider and the account appears.
func TestRealNoBrowserFallsBackToDeviceCode(t *testing.T) {
	if testing.Short() {
		t.Skip("the device flow polls every 5 s")
	}
	p := testenv.Provider(t)
	dir := seededProfile(t, p)
	a := test.NewTempApp(t)
	noBrowser := func(ctx context.Context, authURL string) error { return errors.New("no display") }
	u := startTestUI(t, a, realDesk(t, dir), Options{Opener: noBrowser})

	u.showSignIn("Local", "")
	u.settle()
	s := u.signInDlg
	test.Tap(s.signIn)
	u.settle()
	if !strings.Contains(s.status.Text, "device code") || s.authURL == "" {
		t.Fatalf("after a failed browser: status %q, link %q", s.status.Text, s.authURL)
	}
	test.Tap(s.device)
	u.pumpUntil(10*time.Second, func() bool { return s.code.Text != "" })
	code := s.code.Text
	userCode, _, ok := strings.Cut(strings.TrimPrefix(code, "Code: "), "\n")
	if !ok || userCode == "" {
		t.Fatalf("device code not shown: %q", code)
	}
	if err := p.ApproveDeviceCode(context.Background(), userCode, "grace"); err != nil {
		t.Fatal(err)
	}
	u.settle()
	if len(u.list.all) != 1 || u.list.all[0].Username != "grace@example.test" {
		t.Fatalf("after the device flow the list shows %+v (status %q)", u.list.all, s.status.Text)
	}
}

func TestRealAddProfileDialog(t *testing.T) {
	p := testenv.Provider(t)
	testenv.RequireKeyring(t)
	a := test.NewTempApp(t)
	u := startTestUI(t, a, realDesk(t, t.TempDir()), Options{})
	u.showSignIn("", "")
	u.settle()
	u.signInDlg.profile.SetSelected(addProfileItem)
	f := u.addProfile
	if f == nil {
		t.Fatal("choosing \"Add profile…\" opened no dialog")
	}
	test.Type(f.name, "Local")
	test.Type(f.issuer, p.Issuer+"/wrong")
	test.Type(f.client, p.PublicClientID)
	test.Tap(f.save)
	u.settle()
	if !strings.Contains(strings.ToLower(f.status.Text), "invalid profile") || strings.Contains(f.status.Text, "usecase:") {
		t.Fatalf("a wrong issuer was not refused in words: %q", f.status.Text)
	}
	f.issuer.SetText(p.Issuer)
	test.Type(f.redirect, "https://localhost/auth/callback")
	if f.redirect.Validate() == nil {
		t.Error("the form accepts an https redirect URI")
	}
	test.Tap(f.save)
	u.settle()
	if !strings.Contains(f.status.Text, "http://localhost/auth/callback") || u.signInDlg.profile.Selected == "Local" {
		t.Fatalf("an https redirect URI was not refused with the registered forms named: %q", f.status.Text)
	}
	f.redirect.SetText("http://127.0.0.1/")
	test.Tap(f.save)
	u.settle()
	if got := u.signInDlg.profile.Selected; got != "Local" {
		t.Errorf("after adding, the picker selects %q (status %q)", got, f.status.Text)
	}
}

// TestRealSignInForegroundLauncher: the window's sign-in through the system browser
// whose launcher stays in the foreground until the redirect was answered.
func TestRealSignInForegroundLauncher(t *testing.T) {
	p := testenv.Provider(t)
	dir := seededProfile(t, p)
	l := p.NewForegroundLauncher(t, "judy")
	t.Setenv("PATH", l.PathEnv())
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		t.Setenv("DISPLAY", ":0") // only looked at: a browser is deemed openable
	}
	a := test.NewTempApp(t)
	u := startTestUI(t, a, realDesk(t, dir), Options{}) // no Opener: the system browser
	u.showSignIn("Local", "")
	u.pumpUntil(5*time.Second, func() bool { return u.signInDlg.profile.Selected == "Local" })
	test.Tap(u.signInDlg.signIn)
	if !u.pumpUntil(30*time.Second, func() bool { return len(u.list.all) == 1 }) {
		t.Fatalf("no account after 30 s: status %q", u.signInDlg.status.Text)
	}
	if err := <-l.Logins(); err != nil {
		t.Fatalf("scripted browser: %v", err)
	}
	if u.list.all[0].Username != "judy@example.test" {
		t.Fatalf("list shows %+v", u.list.all)
	}
}

// TestRealScopeAddedLater: a scope added after sign-in is refused by the provider
// (invalid_scope); one "Sign in again for this scope" click signs in for it and copies
// the token.
func TestRealScopeAddedLater(t *testing.T) {
	p := testenv.Provider(t)
	dir := seededProfile(t, p, "mona")
	desk := realDesk(t, dir)
	a := test.NewTempApp(t)
	u := startTestUI(t, a, desk, Options{ClipboardClear: -1, Opener: scripted(t, p, "mona")})
	const later = "api://tokendesk/ui-added-later"
	key := u.list.all[0].Key
	if err := desk.AddScope(context.Background(), key, later); err != nil {
		t.Fatal(err)
	}
	u.settle()
	u.list.list.Select(0)
	u.detail.selScope = later
	u.copySelected()
	u.settle()
	again := findButton(u.win.Canvas().Overlays().Top(), "Sign in again for this scope")
	if again == nil {
		t.Fatalf("no \"Sign in again for this scope\" for a scope not consented")
	}
	test.Tap(again)
	if !u.pumpUntil(30*time.Second, func() bool { return a.Clipboard().Content() != "" }) {
		t.Fatal("no token copied after signing in again")
	}
	want, err := desk.Token(context.Background(), key, []string{later}, false)
	if err != nil || a.Clipboard().Content() != want.AccessToken {
		t.Fatalf("copied token is not the cached one for %s (%v)", later, err)
	}
}

// TestRealZitadelScopeAddedLater: on the second real provider (zitadel's example OP),
// the account shows the names its userinfo gives, and a scope added later ends in a
// copied token after one "Sign in again for this scope" click.
func TestRealZitadelScopeAddedLater(t *testing.T) {
	z := testenv.Zitadel(t)
	testenv.RequireKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	desk := realDesk(t, dir)
	err := desk.AddProfile(ctx, profile.Profile{Name: "Zitadel", Issuer: z.Issuer, ClientID: z.ClientID,
		RedirectURI: z.RedirectURI, FavouriteScopes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	zitadel := func(ctx context.Context, authURL string) error {
		return z.LoginAndDeliver(ctx, authURL, testenv.ZitadelUser)
	}
	if _, err := desk.SignIn(ctx, "Zitadel", usecase.SignInOptions{Opener: zitadel}); err != nil {
		t.Fatal(err)
	}
	a := test.NewTempApp(t)
	u := startTestUI(t, a, realDesk(t, dir), Options{ClipboardClear: -1, Opener: zitadel})
	if len(u.list.all) != 1 || u.list.all[0].DisplayName != testenv.ZitadelUserName || u.list.all[0].Username != testenv.ZitadelUser {
		t.Fatalf("list shows %+v, want the names from userinfo", u.list.all)
	}
	key := u.list.all[0].Key
	if err := desk.AddScope(ctx, key, "phone"); err != nil {
		t.Fatal(err)
	}
	u.settle()
	u.list.list.Select(0)
	u.detail.selScope = "phone"
	u.copySelected()
	u.settle()
	again := findButton(u.win.Canvas().Overlays().Top(), "Sign in again for this scope")
	if again == nil {
		t.Fatal("no \"Sign in again for this scope\" for a scope zitadel's refresh token lacks")
	}
	test.Tap(again)
	if !u.pumpUntil(30*time.Second, func() bool { return a.Clipboard().Content() != "" }) {
		t.Fatal("no token copied after signing in again")
	}
	want, err := desk.Token(ctx, key, []string{"phone"}, false)
	if err != nil || a.Clipboard().Content() != want.AccessToken {
		t.Fatalf("copied token is not the cached one for phone (%v)", err)
	}
}
