package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

func demoAccounts() []usecase.AccountView {
	return []usecase.AccountView{
		{Key: "a-h", DisplayName: "Alice", Username: "alice@example.com", TenantOrIssuer: "tid", Profile: "Entra", Status: usecase.StatusValid},
		{Key: "b-h", DisplayName: "Bob", Username: "bob@example.com", TenantOrIssuer: "tid", Profile: "Entra", Status: usecase.StatusNeedsSignIn},
	}
}

func newFakeUI(t *testing.T, f *fakeDesk, opts Options) *UI {
	t.Helper()
	a := test.NewTempApp(t)
	if f.scopes == nil {
		f.scopes = map[string][]usecase.Scope{"a-h": {{Name: "api://one/.default"}}, "b-h": {{Name: "api://two/.default"}}}
	}
	return startTestUI(t, a, f, opts)
}

// startTestUI builds and starts a UI whose UI-goroutine work is queued for the test's
// goroutine (settle and pumpUntil run it), as the real driver runs it on one thread.
func startTestUI(t *testing.T, a fyne.App, d Desk, opts Options) *UI {
	t.Helper()
	u := New(a, d, opts)
	queue := make(chan func(), 4096)
	u.do = func(f func()) { queue <- f }
	u.queue = queue
	u.Start()
	u.settle()
	t.Cleanup(func() {
		u.cancel()
		u.settle()
		u.Close()
	})
	return u
}

// settle runs queued UI work until no background job is left and nothing is queued.
func (u *UI) settle() {
	for {
		select {
		case f := <-u.queue:
			f()
			continue
		default:
		}
		// A job enqueues its UI work before it ends, so nothing running and nothing
		// queued, in that order, means settled.
		if u.active.Load() == 0 && len(u.queue) == 0 {
			return
		}
		select {
		case f := <-u.queue:
			f()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// pumpUntil runs queued UI work until cond holds or the timeout passes.
func (u *UI) pumpUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.After(timeout)
	for !cond() {
		select {
		case f := <-u.queue:
			f()
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			return cond()
		}
	}
	return true
}

func TestListAndFilter(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{})
	if got := u.list.list.Length(); got != 2 {
		t.Fatalf("list shows %d rows, want 2", got)
	}
	if u.list.empty.Visible() {
		t.Error("empty-state text shown with accounts")
	}
	test.Type(u.list.filter, "BOB")
	if len(u.list.shown) != 1 || u.list.shown[0].Key != "b-h" {
		t.Errorf("filter BOB shows %v", u.list.shown)
	}
	u.list.filter.SetText("nobody")
	if !u.list.empty.Visible() || !strings.Contains(u.list.empty.Text, "No account matches") {
		t.Errorf("no-match text = %q (visible %v)", u.list.empty.Text, u.list.empty.Visible())
	}
}

func TestEmptyState(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{}, Options{})
	if !u.list.empty.Visible() || u.list.empty.Text != emptyText {
		t.Errorf("empty state = %q visible %v", u.list.empty.Text, u.list.empty.Visible())
	}
	// The text must read as sentences: a wrapping label given only its minimum width
	// (as a centring container does) breaks after every letter.
	u.win.Resize(fyne.NewSize(1000, 640))
	list, empty := u.list.content.Size().Width, u.list.empty.Size().Width
	if empty < list/2 {
		t.Errorf("empty-state text is %.0f px wide in a %.0f px list: it wraps into a narrow column", empty, list)
	}
}

func TestCopyAndClipboardClear(t *testing.T) {
	// Long enough that a loaded machine still reads the token before the clear fires.
	const clear = 400 * time.Millisecond
	u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{ClipboardClear: clear})
	u.list.list.Select(0)
	if u.detail.key != "a-h" {
		t.Fatalf("detail shows %q", u.detail.key)
	}
	u.copySelected() // Ctrl+C
	u.settle()
	cb := u.app.Clipboard()
	if got := cb.Content(); got != "fake-token-a-h-api://one/.default" {
		t.Fatalf("clipboard = %q", got)
	}
	if u.detail.inspected != "api://one/.default" {
		t.Errorf("inspector shows %q", u.detail.inspected)
	}
	// Something else copied later must survive the clear of the token.
	if !u.pumpUntil(2*time.Second, func() bool { return cb.Content() == "" }) {
		t.Fatal("token still on the clipboard after ClipboardClear")
	}
	u.copySelected()
	u.settle()
	cb.SetContent("user text")
	u.pumpUntil(clear+200*time.Millisecond, func() bool { return false })
	if cb.Content() != "user text" {
		t.Errorf("clipboard cleared something the user copied: %q", cb.Content())
	}
}

func TestInteractionRequiredOffersSignIn(t *testing.T) {
	f := &fakeDesk{accounts: demoAccounts(), tokenErr: &identity.Error{Code: "invalid_grant", Description: "AADSTS70043: expired", CorrelationID: "corr-42"}}
	u := newFakeUI(t, f, Options{})
	u.list.list.Select(1)
	u.copySelected()
	u.settle()
	if u.lastDialog == nil {
		t.Fatal("no error dialog")
	}
	details := errorDetails(f.tokenErr)
	for _, want := range []string{"invalid_grant", "AADSTS70043", "corr-42"} {
		if !strings.Contains(details, want) {
			t.Errorf("details lack %q:\n%s", want, details)
		}
	}
	again := findButton(u.win.Canvas().Overlays().Top(), "Sign in again")
	if again == nil {
		t.Fatal("no \"Sign in again\" button")
	}
	test.Tap(again)
	u.settle()
	if u.signInDlg == nil || u.signInDlg.hint.Text != "bob@example.com" || u.signInDlg.profile.Selected != "Entra" {
		t.Fatalf("sign-in dialog not opened for bob: %+v", u.signInDlg)
	}
	if plain := errors.New("boom"); strings.Contains(errorDetails(plain), "Correlation") {
		t.Error("plain error shows a correlation id line")
	}
}

func TestSignOutConfirm(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{})
	u.list.list.Select(0)
	u.win.Canvas().(interface{ OnTypedKey() func(*fyne.KeyEvent) }).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDelete})
	if u.lastConfirm == nil {
		t.Fatal("Delete did not ask for confirmation")
	}
	test.Tap(findButton(u.win.Canvas().Overlays().Top(), "Sign out"))
	u.settle()
	if n := len(u.list.all); n != 1 || u.list.all[0].Key != "b-h" {
		t.Errorf("after sign out: %v", u.list.all)
	}
	if u.detail.key != "" {
		t.Errorf("detail still shows %q", u.detail.key)
	}
}

func TestSignInDialog(t *testing.T) {
	f := &fakeDesk{signedIn: usecase.AccountView{Key: "c-h", DisplayName: "Carol", Username: "carol@example.com", Profile: "Local"}}
	u := newFakeUI(t, f, Options{})
	u.showSignIn("", "")
	u.settle()
	s := u.signInDlg
	if s.profile.Selected != "Entra" || len(s.profile.Options) != 3 || s.profile.Options[2] != addProfileItem {
		t.Fatalf("profiles %v selected %q", s.profile.Options, s.profile.Selected)
	}
	s.profile.SetSelected("Local")
	test.Type(s.hint, "carol@example.com")
	test.Tap(s.signIn)
	u.settle()
	if s.authURL == "" {
		t.Error("sign-in link not kept for \"Copy sign-in link\"")
	}
	if len(u.list.all) != 1 || u.list.all[0].Key != "c-h" || u.detail.key != "c-h" {
		t.Errorf("new account not listed and selected: %v, detail %q", u.list.all, u.detail.key)
	}
}

func TestSignInBrowserUnavailableOffersDeviceCode(t *testing.T) {
	f := &fakeDesk{signErr: errors.Join(identity.ErrBrowserUnavailable)}
	u := newFakeUI(t, f, Options{})
	u.showSignIn("Entra", "")
	u.settle()
	s := u.signInDlg
	test.Tap(s.signIn)
	u.settle()
	if !strings.Contains(s.status.Text, "device code") || s.device.Importance != widget.HighImportance {
		t.Fatalf("status %q", s.status.Text)
	}
	test.Tap(s.device)
	u.pumpUntil(2*time.Second, s.code.Visible)
	if !strings.Contains(s.code.Text, "WXYZ-1234") {
		t.Fatalf("device code not shown: %q", s.code.Text)
	}
	test.Tap(s.cancel) // cancels the waiting device flow
	u.settle()
	if !strings.Contains(s.status.Text, "cancelled") {
		t.Errorf("after cancel: %q", s.status.Text)
	}
}

// findButton finds the button labelled text under o.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	for _, c := range test.LaidOutObjects(o) {
		if b, ok := c.(*widget.Button); ok && b.Text == text && b.Visible() {
			return b
		}
	}
	return nil
}

func TestShortcuts(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{ClipboardClear: -1})
	c := u.win.Canvas()
	sc := c.(fyne.Shortcutable)
	ctrl := func(k fyne.KeyName) fyne.Shortcut {
		return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
	}

	sc.TypedShortcut(ctrl(fyne.KeyF))
	if c.Focused() != u.list.filter {
		t.Errorf("Ctrl+F focused %v, want the filter", c.Focused())
	}
	c.Unfocus()

	u.list.list.Select(1)
	sc.TypedShortcut(&fyne.ShortcutCopy{})
	u.settle()
	if got := u.app.Clipboard().Content(); got != "fake-token-b-h-api://two/.default" {
		t.Errorf("Ctrl+C copied %q", got)
	}

	sc.TypedShortcut(ctrl(fyne.KeyN))
	u.settle()
	if u.signInDlg == nil {
		t.Error("Ctrl+N did not open the sign-in dialog")
	}
}

// keyringFailure is a start-up failure as internal/app hands it over: storage's text,
// classified as a keyring problem.
var keyringFailure = &usecase.StorageError{Kind: usecase.ErrKeyringUnavailable, Err: errors.New("storage: no OS keyring")}

func TestStartupError(t *testing.T) {
	a := test.NewTempApp(t)
	w := StartupError(a, keyringFailure)
	w.Show()
	copyBtn := findButton(w.Content(), "Copy details")
	if copyBtn == nil || findButton(w.Content(), "Quit") == nil {
		t.Fatal("the start-up error window lacks its buttons")
	}
	test.Tap(copyBtn)
	if got := a.Clipboard().Content(); !strings.Contains(got, "no OS keyring") || !strings.Contains(got, "gnome-keyring") {
		t.Errorf("copied details = %q", got)
	}
}

// The main window, shown while the cache is read, becomes the error window when the
// read fails.
func TestShowStartupErrorReusesTheMainWindow(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{}, Options{})
	u.Window().Show()
	if findButton(u.Window().Content(), "Sign in…") == nil {
		t.Fatal("the main window has no Sign in button to begin with")
	}
	u.ShowStartupError(keyringFailure)
	if got := u.Window().Title(); got != "Tokendesk cannot start" {
		t.Errorf("title = %q", got)
	}
	if findButton(u.Window().Content(), "Copy details") == nil || findButton(u.Window().Content(), "Sign in…") != nil {
		t.Error("the main window does not show the start-up error instead of the account list")
	}
	if u.ctx.Err() == nil {
		t.Error("background work still allowed after the start-up error")
	}
	u.mu.Lock()
	problem := u.trayProblem
	u.mu.Unlock()
	if problem != trayKeyringProblem {
		t.Errorf("tray problem %q, want %q", problem, trayKeyringProblem)
	}
}

// TestStartupFix: each kind of start-up failure gets its own advice, found through
// the classification (wrapped further, as callers may), and its text stays storage's.
func TestStartupFix(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		fix, tray string
	}{
		{"keyring", keyringFailure, "gnome-keyring-daemon --unlock", trayKeyringProblem},
		{"keyring, wrapped", fmt.Errorf("probe: %w", keyringFailure), "allow_plaintext_cache", trayKeyringProblem},
		{"busy", &usecase.StorageError{Kind: usecase.ErrStorageBusy, Err: errors.New("storage: locked")}, "Another Tokendesk process", trayStartupProblem},
		{"config", &usecase.StorageError{Kind: usecase.ErrConfigInvalid, Err: errors.New("config.json:3:5: profiles[0].client_id: missing")}, "Fix the fields named above", trayStartupProblem},
		{"unclassified", errors.New("mkdir /x: permission denied"), "is writable", trayStartupProblem},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := startupFix(tc.err); !strings.Contains(got, tc.fix) {
				t.Errorf("startupFix = %q, want it to contain %q", got, tc.fix)
			}
			u := newFakeUI(t, &fakeDesk{}, Options{})
			u.Window().Show()
			u.ShowStartupError(tc.err)
			u.mu.Lock()
			problem := u.trayProblem
			u.mu.Unlock()
			if problem != tc.tray {
				t.Errorf("tray problem %q, want %q", problem, tc.tray)
			}
			copyBtn := findButton(u.Window().Content(), "Copy details")
			if copyBtn == nil {
				t.Fatal("no Copy details button")
			}
			test.Tap(copyBtn)
			if got := u.app.Clipboard().Content(); !strings.HasPrefix(got, tc.err.Error()+"\n\n") || !strings.Contains(got, tc.fix) {
				t.Errorf("copied details %q: want the error's own text, then the advice", got)
			}
		})
	}
}

// Start-up work waiting for the first frame still runs when the window is never
// painted (the test driver paints nothing, like a window started minimised).
func TestAfterFirstFrameWithoutPaint(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{}, Options{})
	old := firstFrameTimeout
	firstFrameTimeout = 10 * time.Millisecond
	t.Cleanup(func() { firstFrameTimeout = old })
	ran := make(chan struct{})
	u.AfterFirstFrame(func() { close(ran) }) // a second run would panic: close of closed channel
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFirstFrame never ran its function without a paint")
	}
	time.Sleep(50 * time.Millisecond)
}

// A burst of reloads (the Desk's notifications, the window coming to the foreground)
// while one is running folds into one rerun instead of a full cache read each.
func TestReloadsDoNotPileUp(t *testing.T) {
	f := &fakeDesk{accounts: demoAccounts()}
	u := newFakeUI(t, f, Options{})
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	before := f.accountCalls
	f.mu.Unlock()
	for range 5 {
		u.Reload()
	}
	f.mu.Lock()
	f.accounts = f.accounts[:1] // a change the running reload may have missed
	f.mu.Unlock()
	close(gate)
	u.settle()
	f.mu.Lock()
	calls := f.accountCalls - before
	f.mu.Unlock()
	if calls != 2 {
		t.Errorf("5 reloads during a running one read the accounts %d times, want 2 (the running one and one rerun)", calls)
	}
	if n := u.list.list.Length(); n != 1 {
		t.Errorf("list shows %d accounts after the reloads, want the latest state (1)", n)
	}
}

func TestExpiryText(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 0, 0, 0, time.Local)
	tests := []struct {
		exp  time.Time
		want string
	}{
		{time.Time{}, "No access token cached yet."},
		{now.Add(61*time.Minute + 500*time.Millisecond), "Token expires in 1h1m0s (at 11:01:00)."},
		{now.Add(-90 * time.Second), "Token expired 1m30s ago (at 09:58:30)."},
	}
	for _, tt := range tests {
		if got := expiryText("Token", tt.exp, now); got != tt.want {
			t.Errorf("expiryText(%v) = %q, want %q", tt.exp, got, tt.want)
		}
	}
}

func TestAddAndRemoveScope(t *testing.T) {
	u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{})
	u.list.list.Select(0)
	test.Type(u.detail.newScope, "api://extra/read")
	test.Tap(findButton(u.detail.content, "Add"))
	u.settle()
	if n := len(u.detail.scopes); n != 2 || u.detail.scopes[1].Name != "api://extra/read" || u.detail.newScope.Text != "" {
		t.Fatalf("after Add: %+v (entry %q)", u.detail.scopes, u.detail.newScope.Text)
	}
	var remove *widget.Button
	for _, o := range test.LaidOutObjects(u.detail.scopeBox) {
		if b, ok := o.(*widget.Button); ok && b.Text == "" && b.Icon != nil {
			remove = b // only favourites have the icon-only remove button
		}
	}
	if remove == nil {
		t.Fatal("the favourite has no remove button")
	}
	test.Tap(remove)
	u.settle()
	if n := len(u.detail.scopes); n != 1 {
		t.Errorf("after remove: %+v", u.detail.scopes)
	}
}
