package ui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/identity"
)

// errorDetails renders err for a support ticket: the authority's error, description,
// codes and correlation id when it answered, the whole chain otherwise. It never holds
// a token: identity errors don't carry any.
func errorDetails(err error) string {
	var b strings.Builder
	var ie *identity.Error
	if errors.As(err, &ie) {
		if ie.Code != "" {
			fmt.Fprintf(&b, "Error: %s\n", ie.Code)
		}
		if ie.Description != "" {
			fmt.Fprintf(&b, "Description: %s\n", ie.Description)
		}
		if len(ie.Codes) > 0 {
			fmt.Fprintf(&b, "Error codes: %v\n", ie.Codes)
		}
		if ie.StatusCode != 0 {
			fmt.Fprintf(&b, "HTTP status: %d\n", ie.StatusCode)
		}
		if ie.CorrelationID != "" {
			fmt.Fprintf(&b, "Correlation id: %s\n", ie.CorrelationID)
		}
		if ie.TraceID != "" {
			fmt.Fprintf(&b, "Trace id: %s\n", ie.TraceID)
		}
		if ie.Timestamp != "" {
			fmt.Fprintf(&b, "Timestamp: %s\n", ie.Timestamp)
		}
		b.WriteString("\n")
	}
	b.WriteString(err.Error())
	return b.String()
}

// showError shows err in a dialog with its details selectable and a "Copy details"
// button. When only the user can help, it offers "Sign in again" as well.
func (u *UI) showError(title string, err error) {
	u.showErrorFor(title, err, "")
}

// showErrorFor is showError for an error about the account with key.
func (u *UI) showErrorFor(title string, err error, key string) {
	details := errorDetails(err)
	text := widget.NewLabel(details)
	text.Wrapping = fyne.TextWrapWord
	text.Selectable = true
	scroll := container.NewVScroll(text)
	scroll.SetMinSize(fyne.NewSize(460, 160))
	var d *dialog.CustomDialog
	buttons := []fyne.CanvasObject{
		widget.NewButtonWithIcon("Copy details", theme.ContentCopyIcon(), func() {
			u.app.Clipboard().SetContent(details)
		}),
	}
	if errors.Is(err, identity.ErrInteractionRequired) && key != "" {
		lead := widget.NewLabel("This account must sign in again to get this token.")
		scroll = container.NewVScroll(container.NewVBox(lead, text))
		scroll.SetMinSize(fyne.NewSize(460, 160))
		again := widget.NewButtonWithIcon("Sign in again", theme.LoginIcon(), func() {
			d.Hide()
			if a, ok := u.account(key); ok {
				u.showSignIn(a.Profile, a.Username)
			}
		})
		again.Importance = widget.HighImportance
		buttons = append(buttons, again)
	}
	buttons = append(buttons, widget.NewButton("Close", func() { d.Hide() }))
	d = dialog.NewCustomWithoutButtons(title, scroll, u.win)
	d.SetButtons(buttons)
	u.lastDialog = d
	d.Show()
}

// confirm asks a yes/no question and runs yes on "yes".
func (u *UI) confirm(title, message string, yes func()) {
	d := dialog.NewConfirm(title, message, func(ok bool) {
		if ok {
			yes()
		}
	}, u.win)
	d.SetConfirmText("Sign out")
	d.SetDismissText("Cancel")
	u.lastConfirm = d
	d.Show()
}
