package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/usecase"
)

// labels renders a model level as "label" per item ("-" for separators, "(off)" for
// disabled items, "▸" before a submenu's first level).
func labels(nodes []trayNode) []string {
	var out []string
	for _, n := range nodes {
		switch {
		case n.Separator:
			out = append(out, "-")
		case n.Disabled:
			out = append(out, n.Label+" (off)")
		default:
			out = append(out, n.Label)
		}
	}
	return out
}

func TestTrayModel(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	alice := usecase.AccountView{Key: "a-h", DisplayName: "Alice", Username: "alice@example.com", Status: usecase.StatusValid, ExpiresOn: now.Add(time.Hour)}
	bob := usecase.AccountView{Key: "b-h", DisplayName: "Bob", Username: "bob@example.com", Status: usecase.StatusExpiredRefreshable}
	carol := usecase.AccountView{Key: "c-h", DisplayName: "carol@example.com", Username: "carol@example.com", Status: usecase.StatusNeedsSignIn}
	scopes := map[string][]usecase.Scope{
		"a-h": {{Name: "https://graph.microsoft.com/.default"}, {Name: "https://vault.azure.net/.default", Favourite: true}},
		"b-h": {{Name: "api://custom/.default"}},
	}
	tail := []string{"-", "Open Tokendesk", "Quit"}
	tests := []struct {
		name string
		st   trayState
		top  []string
	}{
		{"loading", trayState{Loading: true}, append([]string{"Loading… (off)"}, tail...)},
		{"keyring locked", trayState{Loading: true, Problem: "Keyring locked"}, append([]string{"Keyring locked (off)"}, tail...)},
		{"no accounts", trayState{}, append([]string{"No accounts yet: sign in from the window (off)"}, tail...)},
		{"status in each label, pinned favourite on top", trayState{Accounts: []usecase.AccountView{alice, bob, carol}, Scopes: scopes},
			append([]string{
				"Copy Key Vault token (alice@example.com)", "-",
				"Alice (alice@example.com) — signed in",
				"Bob (bob@example.com) — token expired, renews on copy",
				"carol@example.com — needs sign-in",
			}, tail...)},
		{"recent copies after the pinned, gone ones dropped", trayState{Accounts: []usecase.AccountView{alice, bob}, Scopes: scopes,
			Recent: []recentCopy{{"b-h", "api://custom/.default"}, {"x-h", "s"}, {"a-h", "https://vault.azure.net/.default"}, {"a-h", "https://graph.microsoft.com/.default"}}},
			append([]string{
				"Copy Key Vault token (alice@example.com)",
				"Copy api://custom/.default token (bob@example.com)",
				"Copy Microsoft Graph token (alice@example.com)", "-",
				"Alice (alice@example.com) — signed in",
				"Bob (bob@example.com) — token expired, renews on copy",
			}, tail...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := trayModel(tt.st)
			if got := strings.Join(labels(m), "|"); got != strings.Join(tt.top, "|") {
				t.Errorf("top level\n got %q\nwant %q", labels(m), tt.top)
			}
		})
	}

	// A scope item copies directly: no one-item submenu under it.
	m := trayModel(trayState{Accounts: []usecase.AccountView{alice, bob, carol}, Scopes: scopes})
	acc := m[2]
	if got := labels(acc.Children); strings.Join(got, "|") != "Copy Microsoft Graph token|Copy Key Vault token" {
		t.Errorf("Alice's submenu %q", got)
	}
	for _, sc := range acc.Children {
		if len(sc.Children) != 0 || sc.Action.kind != trayCopy || sc.Action.key != "a-h" {
			t.Errorf("scope item %+v does not copy directly", sc)
		}
	}
	if c := m[4].Children; len(c) != 1 || !c[0].Disabled {
		t.Errorf("an account without scopes: %+v", c)
	}
}

// TestTrayModelIDs: the same account and scope keep their id whatever else changes,
// ids are unique, positive int32 and clear of systray's own counter.
func TestTrayModelIDs(t *testing.T) {
	accs := make([]usecase.AccountView, 40)
	scopes := map[string][]usecase.Scope{}
	for i := range accs {
		accs[i] = usecase.AccountView{Key: fmt.Sprintf("k%02d", i), DisplayName: fmt.Sprintf("user %02d", i)}
		scopes[accs[i].Key] = []usecase.Scope{{Name: "https://graph.microsoft.com/.default"}, {Name: "s2", Favourite: i%7 == 0}}
	}
	ids := func(st trayState) map[string]uint32 {
		out := map[string]uint32{}
		seen := map[uint32]bool{}
		var walk func(prefix string, nodes []trayNode)
		walk = func(prefix string, nodes []trayNode) {
			for _, n := range nodes {
				if seen[n.ID] {
					t.Fatalf("id %d used twice", n.ID)
				}
				seen[n.ID] = true
				if n.ID < 1<<20 || n.ID > 1<<31-1 {
					t.Fatalf("id %d out of range", n.ID)
				}
				k := prefix + "/" + n.Label
				if n.Separator {
					k = fmt.Sprint(prefix, "/sep", n.ID)
				}
				out[k] = n.ID
				walk(k, n.Children)
			}
		}
		walk("", trayModel(st))
		return out
	}
	before := ids(trayState{Accounts: accs[:30], Scopes: scopes})
	if again := ids(trayState{Accounts: accs[:30], Scopes: scopes}); fmt.Sprint(again) != fmt.Sprint(before) {
		t.Error("the same state gave different ids")
	}
	// One account signed out (the first), another added: every other item keeps its id.
	after := ids(trayState{Accounts: append(append([]usecase.AccountView{}, accs[1:30]...), accs[35]), Scopes: scopes})
	kept := 0
	for k, id := range before {
		if strings.Contains(k, "user 00") || strings.Contains(k, "more accounts") {
			continue
		}
		if a, ok := after[k]; ok {
			kept++
			if a != id {
				t.Errorf("%s: id %d became %d", k, id, a)
			}
		}
	}
	if kept < 50 {
		t.Errorf("only %d items compared", kept)
	}
}

func TestScopeLabel(t *testing.T) {
	for scope, want := range map[string]string{
		"https://graph.microsoft.com/.default":                "Microsoft Graph",
		"https://graph.microsoft.com/User.Read":               "Microsoft Graph User.Read",
		"https://management.azure.com/.default":               "Azure Resource Manager",
		"https://management.core.windows.net//.default":       "Azure Resource Manager",
		"https://vault.azure.net/.default":                    "Key Vault",
		"https://storage.azure.com/user_impersonation":        "Storage user_impersonation",
		"499b84ac-1321-427f-aa17-267ca6975798/.default":       "Azure DevOps",
		"https://app.vssps.visualstudio.com/.default":         "Azure DevOps",
		"https://GRAPH.microsoft.com/.default":                "Microsoft Graph",
		"api://11111111-2222-3333-4444-555555555555/.default": "api://11111111-2222-3333-4444-555555555555/.default",
		"https://graph.microsoft.com.evil.example/.default":   "https://graph.microsoft.com.evil.example/.default",
		"openid": "openid",
		"https://example.com/graph.microsoft.com/.default":      "https://example.com/graph.microsoft.com/.default",
		"https://contoso.sharepoint.com/AllSites.Read":          "https://contoso.sharepoint.com/AllSites.Read",
		"https://management.azure.com/subscriptions/x/.default": "Azure Resource Manager subscriptions/x/.default",
	} {
		if got := ScopeLabel(scope); got != want {
			t.Errorf("ScopeLabel(%q) = %q, want %q", scope, got, want)
		}
	}
}

func TestTrayTooltip(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.Local)
	accs := []usecase.AccountView{
		{DisplayName: "A", Username: "a@x", ExpiresOn: now.Add(50 * time.Minute)},
		{DisplayName: "B", Username: "b@x", ExpiresOn: now.Add(-time.Minute)}, // expired: not the soonest
		{DisplayName: "C", Username: "c@x", ExpiresOn: now.Add(20 * time.Minute)},
	}
	for _, tt := range []struct {
		st   trayState
		want string
	}{
		{trayState{Loading: true}, "Tokendesk: loading…"},
		{trayState{Now: now}, "Tokendesk: no accounts"},
		{trayState{Accounts: accs, Now: now}, "Tokendesk: 3 accounts, soonest expiry 10:20 (c@x)"},
		{trayState{Accounts: accs[1:2], Now: now}, "Tokendesk: 1 account, no unexpired token cached"},
	} {
		if got := trayTooltip(tt.st); got != tt.want {
			t.Errorf("tooltip %q, want %q", got, tt.want)
		}
	}
}

// TestTrayClickCopies: clicking a tray item by id copies that account's token for that
// scope, and the pair joins the top of the menu.
func TestTrayClickCopies(t *testing.T) {
	f := &fakeDesk{accounts: demoAccounts()}
	u := newFakeUI(t, f, Options{ClipboardClear: -1})
	m := trayModel(u.trayStateNow())
	var id uint32
	for _, n := range m {
		if n.Label == "Bob (bob@example.com) — needs sign-in" {
			id = n.Children[0].ID
		}
	}
	if id == 0 {
		t.Fatalf("no Bob in %q", labels(m))
	}
	u.trayClick(id)
	u.settle()
	if got := u.app.Clipboard().Content(); got != "fake-token-b-h-api://two/.default" {
		t.Errorf("clipboard %q", got)
	}
	if top := trayModel(u.trayStateNow())[0]; top.Label != "Copy api://two/.default token (bob@example.com)" || top.Action.key != "b-h" {
		t.Errorf("after the copy the top item is %q", top.Label)
	}
	u.trayClick(12345) // an id from no menu: nothing happens
	u.settle()
}

// TestTrayCopyAccountGone: another process signed the account out; a copy from the
// (stale) menu says so in words, never the internal key, and the menu drops it.
func TestTrayCopyAccountGone(t *testing.T) {
	f := &fakeDesk{accounts: demoAccounts()}
	u := newFakeUI(t, f, Options{ClipboardClear: -1})
	m := trayModel(u.trayStateNow())
	aliceCopy := m[0].Children[0].ID
	// The other process: the account is gone from the store, and this one has already
	// reloaded (the watch), but the panel still shows the old menu and the user clicks.
	f.mu.Lock()
	f.accounts = f.accounts[1:]
	f.tokenErr = fmt.Errorf("%w: %q", usecase.ErrNoAccount, "a-h")
	f.mu.Unlock()
	u.Reload()
	u.settle()
	if got := labels(trayModel(u.trayStateNow())); got[0] != "Bob (bob@example.com) — needs sign-in" {
		t.Fatalf("menu after the reload: %q", got)
	}
	u.trayClick(aliceCopy)
	u.settle()
	var text []string
	for _, o := range test.LaidOutObjects(u.win.Canvas().Overlays().Top()) {
		if l, ok := o.(*widget.Label); ok {
			text = append(text, l.Text)
		}
	}
	msg := strings.Join(text, " ")
	if !strings.Contains(msg, "alice@example.com is no longer signed in") || strings.Contains(msg, "a-h") {
		t.Errorf("dialog says %q", msg)
	}
	if got := labels(trayModel(u.trayStateNow())); got[0] != "Bob (bob@example.com) — needs sign-in" {
		t.Errorf("menu after the failed copy: %q", got)
	}
}

// TestWatchReloads: a change reported by Options.Watch (another process signed an
// account out) reaches the list, the detail pane and the tray, with no window event.
func TestWatchReloads(t *testing.T) {
	f := &fakeDesk{accounts: demoAccounts()}
	var onChange func()
	u := newFakeUI(t, f, Options{Watch: func(ctx context.Context, f func()) error { onChange = f; return nil }})
	if onChange == nil {
		t.Fatal("Start did not start the watch")
	}
	u.list.list.Select(0)
	if u.detail.key != "a-h" {
		t.Fatalf("detail shows %q", u.detail.key)
	}
	f.mu.Lock()
	f.accounts = f.accounts[1:] // signed out elsewhere: no notification in this process
	f.mu.Unlock()
	onChange()
	u.settle()
	if len(u.list.all) != 1 || u.list.all[0].Key != "b-h" {
		t.Errorf("list after the watch reported a change: %+v", u.list.all)
	}
	if u.detail.key == "a-h" {
		t.Error("the detail pane still shows the account signed out elsewhere")
	}
	if got := labels(trayModel(u.trayStateNow())); got[0] != "Bob (bob@example.com) — needs sign-in" {
		t.Errorf("tray after the watch reported a change: %q", got)
	}
}
