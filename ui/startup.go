package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// StartupError shows a window explaining why Tokendesk cannot start (typically: no
// OS keyring to keep the cache key in) and how to fix it, instead of crashing. details
// is the error text; fix says what to do.
func StartupError(a fyne.App, details, fix string) fyne.Window {
	w := a.NewWindow("")
	showStartupError(a, w, details, fix)
	return w
}

// ShowStartupError turns the main window, already shown while the cache was being
// read, into the start-up error window (StartupError) and stops background work.
// Closing it ends the app, tray or not; the tray menu says the cache cannot be
// opened (unless SetTrayProblem said more). The window is reused rather than closed:
// closing a shown window from a callback can crash Fyne 2.7 when a pointer event for
// it is still queued.
func (u *UI) ShowStartupError(details, fix string) {
	u.Close()
	u.mu.Lock()
	none := u.trayProblem == ""
	u.mu.Unlock()
	if none {
		u.SetTrayProblem("Cannot open the token cache: see the window")
	}
	showStartupError(u.app, u.win, details, fix)
	u.win.SetCloseIntercept(u.app.Quit)
}

func showStartupError(a fyne.App, w fyne.Window, details, fix string) {
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
