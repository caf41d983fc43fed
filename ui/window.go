package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// build lays out the window and installs its shortcuts.
func (u *UI) build() {
	u.list = newAccountList(u)
	u.detail = newDetailPane(u)
	signIn := widget.NewButtonWithIcon("Sign in…", theme.ContentAddIcon(), func() { u.showSignIn("", "") })
	signIn.Importance = widget.HighImportance
	top := container.NewBorder(nil, nil, nil, signIn, widget.NewLabelWithStyle("Accounts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	if u.opts.Warning != "" {
		w := widget.NewLabel(u.opts.Warning)
		w.Importance = widget.WarningImportance
		w.Wrapping = fyne.TextWrapWord
		top = container.NewVBox(w, top)
	}
	split := container.NewHSplit(u.list.content, u.detail.content)
	split.Offset = 0.4
	u.probe = newFrameProbe(u.opts.Trace)
	u.win.SetContent(container.NewBorder(top, container.NewHBox(u.probe.raster), nil, nil, split))
	u.win.Resize(fyne.NewSize(1000, 640))

	c := u.win.Canvas()
	short := func(k fyne.KeyName, f func()) {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { f() })
	}
	short(fyne.KeyN, func() { u.showSignIn("", "") })
	short(fyne.KeyF, func() { c.Focus(u.list.filter) })
	// Ctrl+C reaches the canvas only when no text widget has the focus, so copying
	// selected text in an entry or label keeps working.
	c.AddShortcut(&fyne.ShortcutCopy{}, func(fyne.Shortcut) { u.copySelected() })
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyDelete && u.detail.key != "" {
			u.detail.confirmSignOut()
		}
	})
	go u.ticker()
}

// copySelected copies the token of the selected account's selected scope (Ctrl+C).
func (u *UI) copySelected() {
	if u.detail.key != "" && u.detail.selScope != "" {
		u.copyToken(u.detail.key, u.detail.selScope, false)
	}
}

// ticker drives the expiry countdown once a second until Close.
func (u *UI) ticker() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-u.ctx.Done():
			return
		case <-t.C:
			u.do(u.detail.tick)
		}
	}
}

// copyToken gets a token for scope silently and puts it on the clipboard, then clears
// the clipboard after Options.ClipboardClear if it still holds that token. fromTray
// says the user is not looking at the window: errors then bring it up.
func (u *UI) copyToken(key, scope string, fromTray bool) {
	u.run(func(ctx context.Context) {
		res, err := u.desk.Token(ctx, key, []string{scope}, false)
		u.do(func() {
			if err != nil {
				if u.accountGone(key, err, fromTray) {
					return
				}
				if fromTray {
					u.ShowWindow()
				}
				u.showErrorFor("Could not get a token for "+scope, err, key)
				return
			}
			u.tokenCopied(key, scope, res)
		})
	})
}

// tokenCopied puts res's token on the clipboard, shows it in the inspector, confirms
// the copy next to the scope's button (the only sign without a notification daemon)
// and sends a desktop notification.
func (u *UI) tokenCopied(key, scope string, res identity.Result) {
	u.putOnClipboard(res.AccessToken)
	u.noteCopied(key, scope)
	if u.detail.key == key {
		u.detail.setTokens(scope, res)
		u.detail.markCopied(scope)
	}
	who := key
	if a, ok := u.account(key); ok {
		who = a.Username
		if who == "" {
			who = a.DisplayName
		}
	}
	u.app.SendNotification(fyne.NewNotification("Token copied",
		fmt.Sprintf("Access token for %s (%s), expires %s.", scope, who, res.ExpiresOn.Local().Format("15:04"))))
}

// putOnClipboard copies token and schedules its removal.
func (u *UI) putOnClipboard(token string) {
	u.app.Clipboard().SetContent(token)
	u.mu.Lock()
	u.clipToken = token
	u.clipGen++
	gen := u.clipGen
	u.mu.Unlock()
	if u.opts.ClipboardClear < 0 {
		return
	}
	time.AfterFunc(u.opts.ClipboardClear, func() {
		u.do(func() { u.clearClipboard(gen) })
	})
}

// clearClipboard empties the clipboard if it still holds the token of copy gen: a
// newer copy, or anything the user copied since, is left alone.
func (u *UI) clearClipboard(gen int) {
	u.mu.Lock()
	tok, cur := u.clipToken, u.clipGen
	u.mu.Unlock()
	if gen != cur || tok == "" {
		return
	}
	cb := u.app.Clipboard()
	if cb.Content() == tok {
		cb.SetContent("")
	}
	u.mu.Lock()
	if u.clipGen == gen {
		u.clipToken = ""
	}
	u.mu.Unlock()
}

// inspectToken gets a token for scope silently and shows it decoded.
func (u *UI) inspectToken(key, scope string) {
	u.run(func(ctx context.Context) {
		res, err := u.desk.Token(ctx, key, []string{scope}, false)
		u.do(func() {
			if err != nil {
				u.showErrorFor("Could not get a token for "+scope, err, key)
				return
			}
			if u.detail.key == key {
				u.detail.setTokens(scope, res)
			}
		})
	})
}

// signOut removes the account; the list reloads through the Desk's notification.
func (u *UI) signOut(key string) {
	u.run(func(ctx context.Context) {
		if err := u.desk.SignOut(ctx, key); err != nil {
			u.do(func() { u.showError("Could not sign out", err) })
		}
	})
}

// ShowWindow brings the main window up (from the tray).
func (u *UI) ShowWindow() {
	u.win.Show()
	u.win.RequestFocus()
}

// selectAccount selects the account with key in the list (after a sign-in).
func (u *UI) selectAccount(v usecase.AccountView) {
	u.list.selected = v.Key
	u.list.apply()
	u.detail.show(v.Key)
}
