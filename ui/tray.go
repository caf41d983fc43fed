package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/tokendesk/tokendesk/usecase"
)

// TrayActions are what the tray menu's items do.
type TrayActions struct {
	// Copy copies the token of scope for the account with key.
	Copy func(key, scope string)
	// Open brings up the window.
	Open func()
	// Quit ends the app.
	Quit func()
}

// TrayMaxAccounts caps the accounts listed in the tray: a menu is the quick path for
// the few accounts in daily use, and a menu of 1,000 entries is neither usable nor
// cheap to send over D-Bus. The rest are a click away in the window.
const TrayMaxAccounts = 25

// TrayMenu builds the tray menu for accounts: each account opens a submenu of its
// scopes, each scope a "Copy token" item; then "Open Tokendesk" and "Quit". Beyond
// TrayMaxAccounts, one item says how many more the window has. It is a pure function
// of its inputs so tests can compare the model with the accounts.
func TrayMenu(accounts []usecase.AccountView, scopes map[string][]usecase.Scope, act TrayActions) *fyne.Menu {
	var items []*fyne.MenuItem
	if len(accounts) == 0 {
		none := fyne.NewMenuItem("No accounts yet", nil)
		none.Disabled = true
		items = append(items, none)
	}
	more := 0
	if len(accounts) > TrayMaxAccounts {
		more = len(accounts) - TrayMaxAccounts
		accounts = accounts[:TrayMaxAccounts]
	}
	for _, a := range accounts {
		a := a
		label := a.DisplayName
		if a.Username != "" && a.Username != a.DisplayName {
			label = fmt.Sprintf("%s (%s)", a.DisplayName, a.Username)
		}
		acc := fyne.NewMenuItem(label, nil)
		var sub []*fyne.MenuItem
		for _, sc := range scopes[a.Key] {
			sc := sc
			scopeItem := fyne.NewMenuItem(sc.Name, nil)
			scopeItem.ChildMenu = fyne.NewMenu("", fyne.NewMenuItem("Copy token", func() {
				if act.Copy != nil {
					act.Copy(a.Key, sc.Name)
				}
			}))
			sub = append(sub, scopeItem)
		}
		if len(sub) == 0 {
			none := fyne.NewMenuItem("No scopes: add one in the window", nil)
			none.Disabled = true
			sub = append(sub, none)
		}
		acc.ChildMenu = fyne.NewMenu("", sub...)
		items = append(items, acc)
	}
	if more > 0 {
		items = append(items, fyne.NewMenuItem(fmt.Sprintf("%d more accounts in the window…", more), act.Open))
	}
	open := fyne.NewMenuItem("Open Tokendesk", act.Open)
	quit := fyne.NewMenuItem("Quit", act.Quit)
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), open, quit)
	return fyne.NewMenu("Tokendesk", items...)
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
	u.trayOn = true
	// No SetSystemTrayIcon: the driver takes the app icon when the tray starts, and
	// setting it here would decode the 512 px PNG twice during start-up.
	u.refreshTray()
	// Closing the window keeps Tokendesk in the tray; "Quit" there ends it.
	u.win.SetCloseIntercept(func() { u.win.Hide() })
}

// refreshTray rebuilds the tray menu from the current accounts.
func (u *UI) refreshTray() {
	if !u.trayOn {
		return
	}
	u.app.(desktop.App).SetSystemTrayMenu(u.trayMenu())
}

// trayMenu is TrayMenu over the UI's current state and actions.
func (u *UI) trayMenu() *fyne.Menu {
	u.mu.Lock()
	accs, scopes := u.accounts, u.scopes
	u.mu.Unlock()
	return TrayMenu(accs, scopes, TrayActions{
		Copy: func(key, scope string) { u.copyToken(key, scope, true) },
		Open: u.ShowWindow,
		Quit: u.Quit,
	})
}

// Quit stops background work and ends the app.
func (u *UI) Quit() {
	u.cancel()
	u.app.Quit()
}
