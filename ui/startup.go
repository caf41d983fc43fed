package ui

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/usecase"
)

// StartupError shows a window explaining why Tokendesk cannot start (typically: no
// OS keyring to keep the cache key in) and how to fix it, instead of crashing: err's
// text, then what to do about its kind (startupFix).
func StartupError(a fyne.App, err error) fyne.Window {
	w := a.NewWindow("")
	showStartupError(a, w, err)
	return w
}

// Tray texts for a start-up failure: the tray may be all a user sees of Tokendesk.
const (
	trayKeyringProblem = "Keyring locked or unavailable: unlock it, then restart Tokendesk"
	trayStartupProblem = "Cannot open the token cache: see the window"
)

// startupFix tells the user how to get past a start-up failure, by the kind internal/app
// gave it (usecase.StorageError).
func startupFix(err error) string {
	switch {
	case errors.Is(err, usecase.ErrKeyringUnavailable):
		return "Tokendesk keeps the key of its encrypted token cache in the OS keyring (Secret Service).\n" +
			"Start and unlock one in your desktop session (GNOME Keyring or KWallet); on a server, run\n" +
			"  dbus-run-session -- sh -c 'echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets; tokendesk'\n" +
			"Or, knowing that tokens are then readable on disk, set \"allow_plaintext_cache\": true in config.json."
	case errors.Is(err, usecase.ErrStorageBusy):
		return "Another Tokendesk process holds the token cache: close other Tokendesk windows or stuck CLI commands, then start again."
	case errors.Is(err, usecase.ErrConfigInvalid):
		return "Fix the fields named above in the configuration file, or move it away to start with the defaults."
	default:
		return "Check that the Tokendesk directory (TOKENDESK_HOME, or your user config directory) is writable, then start again."
	}
}

// ShowStartupError turns the main window, already shown while the cache was being
// read, into the start-up error window (StartupError) and stops background work.
// Closing it ends the app, tray or not; the tray menu says that the keyring is locked,
// or else that the cache cannot be opened (unless SetTrayProblem said more). The window
// is reused rather than closed: closing a shown window from a callback can crash Fyne
// 2.7 when a pointer event for it is still queued.
func (u *UI) ShowStartupError(err error) {
	u.Close()
	u.mu.Lock()
	none := u.trayProblem == ""
	u.mu.Unlock()
	switch {
	case errors.Is(err, usecase.ErrKeyringUnavailable):
		u.SetTrayProblem(trayKeyringProblem)
	case none:
		u.SetTrayProblem(trayStartupProblem)
	}
	showStartupError(u.app, u.win, err)
	u.win.SetCloseIntercept(u.app.Quit)
}

func showStartupError(a fyne.App, w fyne.Window, err error) {
	details, fix := err.Error(), startupFix(err)
	w.SetTitle("Tokendesk cannot start")
	title := widget.NewLabelWithStyle("Tokendesk cannot open its token cache", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	msg := widget.NewLabel(details)
	msg.Wrapping = fyne.TextWrapWord
	msg.Selectable = true
	how := widget.NewLabel(fix)
	how.Wrapping = fyne.TextWrapWord
	how.Selectable = true
	copyBtn := widget.NewButtonWithIcon("Copy details", theme.ContentCopyIcon(), func() {
		a.Clipboard().SetContent(details + "\n\n" + fix)
	})
	quit := widget.NewButton("Quit", a.Quit)
	w.SetContent(container.NewBorder(title, container.NewHBox(layoutSpacer(), copyBtn, quit), nil, nil,
		container.NewVScroll(container.NewVBox(msg, widget.NewSeparator(), how))))
	w.Resize(fyne.NewSize(640, 360))
}
