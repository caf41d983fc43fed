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
	w := a.NewWindow("Tokendesk cannot start")
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
	return w
}
