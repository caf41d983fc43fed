package ui

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/tokendesk/tokendesk/usecase"
)

// TrayMaxAccounts caps the accounts listed in the tray: a menu is the quick path for
// the few accounts in daily use, and a menu of 1,000 entries is neither usable nor
// cheap to send over D-Bus. The rest are a click away in the window.
const TrayMaxAccounts = 25

// trayMaxFavourites caps the one-click "Copy … token" items at the top of the menu.
const trayMaxFavourites = 8

// trayMaxGone sizes the memory of copy items removed from the menu (see refreshTray).
const trayMaxGone = 64

// trayMaxRecent is how many recently copied (account, scope) pairs the top of the
// menu remembers, most recent first.
const trayMaxRecent = 5

// trayActionKind is what clicking a tray item does.
type trayActionKind int

const (
	trayNoAction trayActionKind = iota
	trayCopy
	trayOpen
	trayQuit
)

// trayAction is a tray item's click: copying the token of scope for the account with
// key, opening the window, or quitting.
type trayAction struct {
	kind       trayActionKind
	key, scope string
	who        string // the account's name, for messages once it is gone
}

// trayNode is one item of the tray menu model. IDs are stable: the same account and
// scope keep their ID across reloads, so a panel holding an older layout still clicks
// the item it showed, and a reload that changes nothing changes no ID.
type trayNode struct {
	ID        uint32
	Label     string
	Disabled  bool
	Separator bool
	Children  []trayNode
	Action    trayAction
}

// recentCopy is one (account, scope) the user copied a token for.
type recentCopy struct{ key, scope string }

// trayState is everything the tray menu shows.
type trayState struct {
	// Loading: the first read of the cache has not finished.
	Loading bool
	// Problem, when set, is shown as a disabled item instead of the accounts (the
	// keyring is locked, the cache cannot be opened).
	Problem  string
	Accounts []usecase.AccountView
	Scopes   map[string][]usecase.Scope
	// Recent are the pairs copied lately, most recent first.
	Recent []recentCopy
	Now    time.Time
}

// trayIDs hands out stable item ids: a hash of what the item stands for, probed past
// collisions. Ids stay within dbusmenu's positive int32 range and above 1<<20, clear
// of the small ids systray's own item API counts up from.
type trayIDs map[uint32]bool

func (used trayIDs) id(parts ...string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(strings.Join(parts, "\x00")))
	id := 1<<20 + h.Sum32()%(1<<30)
	for used[id] {
		id++
	}
	used[id] = true
	return id
}

// trayModel builds the tray menu: the favourites (each pinned or recently copied
// account and scope, one click to copy), then each account with its status, opening
// a submenu whose scope items copy directly, then "Open Tokendesk" and "Quit", which
// are always there. It is a pure function of st so tests compare it with the accounts.
func trayModel(st trayState) []trayNode {
	ids := trayIDs{}
	var items []trayNode
	switch {
	case st.Problem != "":
		items = append(items, trayNode{ID: ids.id("problem"), Label: st.Problem, Disabled: true})
	case st.Loading:
		items = append(items, trayNode{ID: ids.id("loading"), Label: "Loading…", Disabled: true})
	case len(st.Accounts) == 0:
		items = append(items, trayNode{ID: ids.id("none"), Label: "No accounts yet: sign in from the window", Disabled: true})
	default:
		items = append(items, accountItems(st, ids)...)
	}
	items = append(items,
		trayNode{ID: ids.id("separator", "end"), Separator: true},
		trayNode{ID: ids.id("open"), Label: "Open Tokendesk", Action: trayAction{kind: trayOpen}},
		trayNode{ID: ids.id("quit"), Label: "Quit", Action: trayAction{kind: trayQuit}},
	)
	return items
}

// accountItems are the favourites and the accounts of trayModel.
func accountItems(st trayState, ids trayIDs) []trayNode {
	byKey := make(map[string]usecase.AccountView, len(st.Accounts))
	for _, a := range st.Accounts {
		byKey[a.Key] = a
	}
	var favs []trayNode
	seen := map[recentCopy]bool{}
	addFav := func(key, scope string) {
		a, ok := byKey[key]
		if !ok || seen[recentCopy{key, scope}] || len(favs) == trayMaxFavourites {
			return
		}
		seen[recentCopy{key, scope}] = true
		favs = append(favs, trayNode{
			ID:     ids.id("favourite", key, scope),
			Label:  fmt.Sprintf("Copy %s token (%s)", ScopeLabel(scope), shortName(a)),
			Action: trayAction{kind: trayCopy, key: key, scope: scope, who: shortName(a)},
		})
	}
	// Pinned first, in account order, so they keep their place; then the recent ones.
	for _, a := range st.Accounts {
		for _, sc := range st.Scopes[a.Key] {
			if sc.Favourite {
				addFav(a.Key, sc.Name)
			}
		}
	}
	for _, r := range st.Recent {
		offered := false
		for _, sc := range st.Scopes[r.key] {
			offered = offered || sc.Name == r.scope
		}
		if offered {
			addFav(r.key, r.scope)
		}
	}
	var items []trayNode
	if len(favs) > 0 {
		items = append(favs, trayNode{ID: ids.id("separator", "favourites"), Separator: true})
	}

	accounts, more := st.Accounts, 0
	if len(accounts) > TrayMaxAccounts {
		more = len(accounts) - TrayMaxAccounts
		accounts = accounts[:TrayMaxAccounts]
	}
	for _, a := range accounts {
		var sub []trayNode
		for _, sc := range st.Scopes[a.Key] {
			sub = append(sub, trayNode{
				ID:     ids.id("scope", a.Key, sc.Name),
				Label:  "Copy " + ScopeLabel(sc.Name) + " token",
				Action: trayAction{kind: trayCopy, key: a.Key, scope: sc.Name, who: shortName(a)},
			})
		}
		if len(sub) == 0 {
			sub = append(sub, trayNode{ID: ids.id("noscope", a.Key), Label: "No scopes: add one in the window", Disabled: true})
		}
		items = append(items, trayNode{ID: ids.id("account", a.Key), Label: AccountLabel(a), Children: sub})
	}
	if more > 0 {
		items = append(items, trayNode{ID: ids.id("more"), Label: fmt.Sprintf("%d more accounts in the window…", more),
			Action: trayAction{kind: trayOpen}})
	}
	return items
}

// AccountLabel is an account as the tray lists it: name, username and status, so an
// account that needs the user stands out from one that copies silently.
func AccountLabel(a usecase.AccountView) string {
	label := a.DisplayName
	if a.Username != "" && a.Username != a.DisplayName {
		label = fmt.Sprintf("%s (%s)", a.DisplayName, a.Username)
	}
	switch a.Status {
	case usecase.StatusValid:
		return label + " — signed in"
	case usecase.StatusExpiredRefreshable:
		return label + " — token expired, renews on copy"
	case usecase.StatusRefreshRefused:
		return label + " — refresh token refused, sign in again"
	default:
		return label + " — needs sign-in"
	}
}

// shortName is the account's username, or its display name when it has none.
func shortName(a usecase.AccountView) string {
	if a.Username != "" {
		return a.Username
	}
	return a.DisplayName
}

// knownAPIs name the resources of well-known Microsoft APIs, by the scope's host (or,
// for Azure DevOps, its application id).
var knownAPIs = map[string]string{
	"graph.microsoft.com":                  "Microsoft Graph",
	"management.azure.com":                 "Azure Resource Manager",
	"management.core.windows.net":          "Azure Resource Manager",
	"vault.azure.net":                      "Key Vault",
	"storage.azure.com":                    "Storage",
	"app.vssps.visualstudio.com":           "Azure DevOps",
	"499b84ac-1321-427f-aa17-267ca6975798": "Azure DevOps",
}

// ScopeLabel names a scope for a menu: a known API's name (with the permission when
// the scope asks for one rather than ".default"), the scope itself otherwise.
func ScopeLabel(scope string) string {
	host, perm := scope, ""
	if u, err := url.Parse(scope); err == nil && u.Host != "" {
		host, perm = u.Host, strings.Trim(u.Path, "/")
	} else if h, p, ok := strings.Cut(scope, "/"); ok {
		host, perm = h, p
	}
	name, ok := knownAPIs[strings.ToLower(host)]
	if !ok {
		return scope
	}
	if perm == "" || perm == ".default" {
		return name
	}
	return name + " " + perm
}

// trayTooltip names the accounts count and the soonest expiry of a cached token.
func trayTooltip(st trayState) string {
	switch {
	case st.Problem != "":
		return "Tokendesk: " + st.Problem
	case st.Loading:
		return "Tokendesk: loading…"
	case len(st.Accounts) == 0:
		return "Tokendesk: no accounts"
	}
	n := fmt.Sprintf("%d accounts", len(st.Accounts))
	if len(st.Accounts) == 1 {
		n = "1 account"
	}
	var soonest *usecase.AccountView
	for i, a := range st.Accounts {
		if a.ExpiresOn.After(st.Now) && (soonest == nil || a.ExpiresOn.Before(soonest.ExpiresOn)) {
			soonest = &st.Accounts[i]
		}
	}
	if soonest == nil {
		return "Tokendesk: " + n + ", no unexpired token cached"
	}
	return fmt.Sprintf("Tokendesk: %s, soonest expiry %s (%s)", n, soonest.ExpiresOn.Local().Format("15:04"), shortName(*soonest))
}

// InstallTray sets up the tray menu and makes closing the window hide it, when the
// driver has a system tray (desktop apps; not the test driver) and a StatusNotifier
// host is there to show it. Call it before the app runs: Fyne 2.7 starts the tray only
// as Run begins, so a tray installed later would never appear. Without a host the
// tray is skipped altogether: Fyne's tray would fail to register anyway, and skipping
// it saves its hidden monitor window and D-Bus exports before the first frame.
func (u *UI) InstallTray() {
	if _, ok := u.app.(desktop.App); !ok || u.trayHost == nil {
		return
	}
	if !<-u.trayHost {
		u.log.Debug("no StatusNotifier host on the session bus: no tray icon")
		return
	}
	u.mu.Lock()
	u.trayOn = true
	u.mu.Unlock()
	u.startTray()
	u.refreshTray()
	// Closing the window keeps Tokendesk in the tray; "Quit" there ends it.
	u.win.SetCloseIntercept(func() { u.win.Hide() })
}

// trayStateNow is the tray's view of the UI's current state.
func (u *UI) trayStateNow() trayState {
	u.mu.Lock()
	defer u.mu.Unlock()
	return trayState{
		Loading:  !u.loaded,
		Problem:  u.trayProblem,
		Accounts: u.accounts,
		Scopes:   u.scopes,
		Recent:   append([]recentCopy(nil), u.recent...),
		Now:      u.opts.Now(),
	}
}

// refreshTray brings the tray menu in line with the current state. The platform side
// (setTray) sends only what changed, so calling it with nothing new costs no signal.
// The model is kept without a tray too: tests click it, and the expiry reload serves
// the window's status as well.
func (u *UI) refreshTray() {
	st := u.trayStateNow()
	model := trayModel(st)
	acts := map[uint32]trayAction{}
	collectActions(model, acts)
	u.mu.Lock()
	// A panel may still show the previous menu: a copy item that just went away keeps
	// its action, so clicking it says why nothing was copied (accountGone) instead of
	// doing nothing. Bounded: only the items removed by the last few changes.
	if u.trayGone == nil || len(u.trayGone) > 4*trayMaxGone {
		u.trayGone = map[uint32]trayAction{}
	}
	for id, act := range u.trayActs {
		if _, still := acts[id]; !still && act.kind == trayCopy && len(u.trayGone) < 4*trayMaxGone {
			u.trayGone[id] = act
		}
	}
	for id := range acts {
		delete(u.trayGone, id)
	}
	u.trayActs = acts
	on := u.trayOn
	u.mu.Unlock()
	u.reloadAtExpiry(st)
	if on {
		u.setTray(model, trayTooltip(st))
	}
}

func collectActions(nodes []trayNode, into map[uint32]trayAction) {
	for _, n := range nodes {
		if n.Action.kind != trayNoAction {
			into[n.ID] = n.Action
		}
		collectActions(n.Children, into)
	}
}

// reloadAtExpiry reloads when the soonest cached token expires, so an account's status
// in the menu (and the tooltip) changes when it does, with no file changing.
func (u *UI) reloadAtExpiry(st trayState) {
	var next time.Time
	for _, a := range st.Accounts {
		if a.ExpiresOn.After(st.Now) && (next.IsZero() || a.ExpiresOn.Before(next)) {
			next = a.ExpiresOn
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.expiryTimer != nil {
		u.expiryTimer.Stop()
		u.expiryTimer = nil
	}
	if !next.IsZero() {
		u.expiryTimer = time.AfterFunc(next.Sub(st.Now)+time.Second, u.Reload)
	}
}

// trayClick runs the action of the tray item with id (from any goroutine). A copy item
// removed since the panel read its menu still copies (or says the account is gone);
// other unknown ids do nothing.
func (u *UI) trayClick(id uint32) {
	u.mu.Lock()
	act, ok := u.trayActs[id]
	if !ok {
		act, ok = u.trayGone[id]
	}
	u.mu.Unlock()
	if !ok {
		return
	}
	switch act.kind {
	case trayCopy:
		u.copyToken(act.key, act.scope, true)
	case trayOpen:
		u.do(u.ShowWindow)
	case trayQuit:
		u.do(u.Quit)
	}
}

// noteCopied remembers that the user copied a token for key and scope: the pair joins
// the top of the tray menu.
func (u *UI) noteCopied(key, scope string) {
	u.mu.Lock()
	r := recentCopy{key, scope}
	out := []recentCopy{r}
	for _, o := range u.recent {
		if o != r && len(out) < trayMaxRecent {
			out = append(out, o)
		}
	}
	u.recent = out
	u.mu.Unlock()
	u.refreshTray()
}

// accountGone handles a token asked for an account that is no longer signed in (signed
// out in another window or from the command line meanwhile): it says so in words,
// without the internal account key, and reloads so the list and menu drop the account.
// It reports whether err was that case. Call it on the UI goroutine.
func (u *UI) accountGone(key string, err error, fromTray bool) bool {
	if !errors.Is(err, usecase.ErrNoAccount) {
		return false
	}
	who := "This account"
	if a, ok := u.account(key); ok {
		who = shortName(a)
	} else {
		u.mu.Lock()
		for _, act := range u.trayGone {
			if act.key == key && act.who != "" {
				who = act.who
			}
		}
		u.mu.Unlock()
	}
	u.Reload()
	if fromTray {
		u.ShowWindow()
	}
	dialog.ShowInformation("Account no longer signed in",
		who+" is no longer signed in: it was signed out in another Tokendesk window or from the command line.\n"+
			"The account list and the tray menu now show the accounts that are.", u.win)
	return true
}

// SetTrayProblem shows text as a disabled item in place of the accounts (for example
// "Keyring locked: unlock it, then restart Tokendesk"). Call it on the UI goroutine.
func (u *UI) SetTrayProblem(text string) {
	u.mu.Lock()
	u.trayProblem = text
	u.mu.Unlock()
	u.refreshTray()
}

// fyneTrayMenu turns the model into a Fyne menu, for platforms where Fyne's own tray
// is used, and for tests.
func (u *UI) fyneTrayMenu(model []trayNode) *fyne.Menu {
	var conv func(nodes []trayNode) []*fyne.MenuItem
	conv = func(nodes []trayNode) []*fyne.MenuItem {
		var out []*fyne.MenuItem
		for _, n := range nodes {
			if n.Separator {
				out = append(out, fyne.NewMenuItemSeparator())
				continue
			}
			id := n.ID
			it := fyne.NewMenuItem(n.Label, func() { u.trayClick(id) })
			it.Disabled = n.Disabled
			it.IsQuit = n.Action.kind == trayQuit
			if len(n.Children) > 0 {
				it.ChildMenu = fyne.NewMenu("", conv(n.Children)...)
			}
			out = append(out, it)
		}
		return out
	}
	return fyne.NewMenu("Tokendesk", conv(model)...)
}

// trayMenu is the tray menu over the UI's current state as a Fyne menu.
func (u *UI) trayMenu() *fyne.Menu {
	return u.fyneTrayMenu(trayModel(u.trayStateNow()))
}

// Quit stops background work and ends the app.
func (u *UI) Quit() {
	u.cancel()
	if u.opts.OnQuit != nil {
		u.opts.OnQuit()
	}
	u.app.Quit()
}
