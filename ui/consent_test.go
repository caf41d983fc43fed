package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// TestSignInAgainForScopeCopiesToken: a token only a sign-in can get offers "Sign in
// again for this scope", which signs in for that scope and copies the token.
func TestSignInAgainForScopeCopiesToken(t *testing.T) {
	accs := demoAccounts()
	f := &fakeDesk{accounts: accs, tokenErr: &usecase.SignInNeededError{Account: accs[1], Scopes: []string{"api://two/.default"},
		Err: &identity.Error{Code: "invalid_scope", Description: "refresh token missing requested scope"}}}
	u := newFakeUI(t, f, Options{})
	u.list.list.Select(1)
	u.copySelected()
	u.settle()
	again := findButton(u.win.Canvas().Overlays().Top(), "Sign in again for this scope")
	if again == nil {
		t.Fatal("no \"Sign in again for this scope\" button")
	}
	test.Tap(again)
	u.settle()
	if got := u.app.Clipboard().Content(); got != "fake-token-b-h-api://two/.default-consented" {
		t.Fatalf("clipboard after the sign-in: %q", got)
	}
	if len(f.reSigned) != 1 || f.reSigned[0] != "b-h api://two/.default" {
		t.Errorf("SignInForScopes calls: %v", f.reSigned)
	}
	if u.detail.copiedNote == nil || !strings.HasPrefix(u.detail.copiedNote.Text, "Copied — clears in") {
		t.Errorf("no inline confirmation after the sign-in copied the token")
	}
}

// TestCopyConfirmsInline: a copy says so next to the button, with the seconds until the
// clipboard is cleared, whether or not a notification daemon shows anything.
func TestCopyConfirmsInline(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{Now: clock})
	u.list.list.Select(0)
	test.Tap(findButton(u.win.Content(), "Copy token"))
	u.settle()
	if u.detail.copiedNote == nil || u.detail.copiedNote.Text != "Copied — clears in 60 s" {
		t.Fatalf("inline confirmation %v", u.detail.copiedNote)
	}
	now = now.Add(45 * time.Second)
	u.detail.tick()
	if u.detail.copiedNote.Text != "Copied — clears in 15 s" {
		t.Errorf("after 45 s: %q", u.detail.copiedNote.Text)
	}
	now = now.Add(16 * time.Second)
	u.detail.tick()
	if u.detail.copiedNote.Text != "" {
		t.Errorf("after the clipboard was cleared: %q", u.detail.copiedNote.Text)
	}
}

// TestErrorTexts: one sentence for a person, then details without package prefixes,
// and nothing said twice.
func TestErrorTexts(t *testing.T) {
	bob := demoAccounts()[1]
	tests := []struct {
		err      error
		sentence string
	}{
		{&usecase.SignInNeededError{Account: bob, Scopes: []string{"api://x/read"}, Err: &identity.Error{Code: "invalid_grant"}},
			"Bob must sign in again to get a token for api://x/read."},
		{fmt.Errorf("%w: the client id is empty", usecase.ErrProfileInvalid), "The profile is not valid."},
		{fmt.Errorf("could not get a token for Bob (s): %w", &identity.Error{StatusCode: 503, Code: "temporarily_unavailable"}),
			"The provider had a problem; try again in a moment."},
		{fmt.Errorf("could not get a token for Bob (s): %w", &identity.Error{StatusCode: 401, Code: "invalid_client", CorrelationID: "c-9"}),
			"The provider refused the request (invalid_client)."},
		{errors.New("storage: keyring locked"), "Keyring locked."},
	}
	for _, tt := range tests {
		if got := errorSentence(tt.err); got != tt.sentence {
			t.Errorf("errorSentence(%v) = %q, want %q", tt.err, got, tt.sentence)
		}
		d := errorDetails(tt.err)
		if packagePrefix.MatchString(d) {
			t.Errorf("details keep a package prefix: %q", d)
		}
		if strings.Count(tt.sentence+"\n"+d, "Bob") > 1 {
			t.Errorf("sentence and details repeat themselves: %q / %q", tt.sentence, d)
		}
	}
}

func TestAnnotateTimes(t *testing.T) {
	now := time.Date(2026, 11, 28, 7, 0, 0, 0, time.UTC)
	exp, iat := now.Add(59*time.Minute+40*time.Second), now.Add(-3*time.Minute)
	claims := fmt.Sprintf("{\n  \"aud\": \"x\",\n  \"exp\": %d,\n  \"iat\": %d,\n  \"nested\": {\n    \"exp\": 5\n  },\n  \"sub\": \"1\"\n}", exp.Unix(), iat.Unix())
	got := annotateTimes(claims, now)
	for _, want := range []string{
		fmt.Sprintf(`"exp": %d,   ← %s (in 59 min)`, exp.Unix(), exp.Local().Format("2006-01-02 15:04:05 MST")),
		fmt.Sprintf(`"iat": %d,   ← %s (3 min ago)`, iat.Unix(), iat.Local().Format("2006-01-02 15:04:05 MST")),
		"    \"exp\": 5\n", // only the top-level claims are NumericDates we know
	} {
		if !strings.Contains(got, want) {
			t.Errorf("annotated claims lack %q:\n%s", want, got)
		}
	}
}

// TestSignInRemembersProfile: the dialog preselects the profile of the last sign-in,
// not the default one.
func TestSignInRemembersProfile(t *testing.T) {
	f := &fakeDesk{accounts: demoAccounts(), signedIn: usecase.AccountView{Key: "c-h", DisplayName: "Carol", Username: "carol@example.com", Profile: "Local"}}
	u := newFakeUI(t, f, Options{})
	u.showSignIn("", "")
	u.settle()
	if got := u.signInDlg.profile.Selected; got != "Entra" {
		t.Fatalf("first time the dialog preselects %q, want the default", got)
	}
	u.signInDlg.profile.SetSelected("Local")
	test.Tap(u.signInDlg.signIn)
	u.settle()
	u.showSignIn("", "")
	u.settle()
	if got := u.signInDlg.profile.Selected; got != "Local" {
		t.Errorf("after signing in with Local the dialog preselects %q", got)
	}
}

// TestDeviceCodeClearsOnCancel: a cancelled device-code sign-in takes its code off.
func TestDeviceCodeClearsOnCancel(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{})
	u.showSignIn("Entra", "")
	u.settle()
	s := u.signInDlg
	test.Tap(s.device)
	if !u.pumpUntil(5*time.Second, func() bool { return s.code.Visible() && strings.Contains(s.code.Text, "WXYZ-1234") }) {
		t.Fatal("no device code shown")
	}
	test.Tap(s.cancel)
	u.settle()
	if s.code.Visible() || s.code.Text != "" || s.authURL != "" || !s.copyURL.Disabled() {
		t.Errorf("after cancel: code visible %v %q, link %q", s.code.Visible(), s.code.Text, s.authURL)
	}
}

func TestRefusedStatusShown(t *testing.T) {
	a := usecase.AccountView{DisplayName: "Dora", Username: "dora@example.com", Status: usecase.StatusRefreshRefused}
	if got := AccountLabel(a); got != "Dora (dora@example.com) — refresh token refused, sign in again" {
		t.Errorf("tray label %q", got)
	}
	u := newFakeUI(t, &fakeDesk{accounts: []usecase.AccountView{a}}, Options{})
	if len(u.list.all) != 1 || u.list.all[0].Status.String() != "refresh token refused" {
		t.Errorf("list %+v", u.list.all)
	}
}
