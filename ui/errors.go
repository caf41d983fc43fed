package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// errorDetails renders err for a support ticket: the authority's error, description,
// codes and correlation id when it answered, then the cause chain without package
// prefixes. It never holds a token: identity errors don't carry any.
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
	// The sentence above the details already says who must sign in for what: the
	// details carry only the cause.
	var need *usecase.SignInNeededError
	if errors.As(err, &need) && need.Err != nil {
		err = need.Err
	}
	b.WriteString(withoutPrefixes(err.Error()))
	return b.String()
}

// packagePrefix matches the "pkg: " prefixes Go errors collect on their way up; they
// say nothing to a person.
var packagePrefix = regexp.MustCompile(`\b(?:usecase|identity|loopback|storage|ui|cli): `)

func withoutPrefixes(s string) string { return packagePrefix.ReplaceAllString(s, "") }

// capitalize starts s with a capital letter, as a sentence does.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// errorSentence is the one sentence a person reads first; errorDetails follow it.
func errorSentence(err error) string {
	var need *usecase.SignInNeededError
	var ie *identity.Error
	var ne net.Error
	switch {
	case errors.As(err, &need):
		return fmt.Sprintf("%s must sign in again to get a token for %s.", need.Account.DisplayName, strings.Join(need.Scopes, " "))
	case errors.Is(err, identity.ErrInteractionRequired):
		return "This account must sign in again."
	case errors.Is(err, identity.ErrBrowserUnavailable):
		return "No browser could be opened here."
	case errors.Is(err, context.DeadlineExceeded):
		return "The provider took too long to answer."
	case errors.As(err, &ie) && ie.StatusCode >= 500:
		return "The provider had a problem; try again in a moment."
	case errors.As(err, &ie) && ie.Code != "":
		return fmt.Sprintf("The provider refused the request (%s).", ie.Code)
	case errors.As(err, &ne):
		return "The provider could not be reached."
	case errors.Is(err, usecase.ErrProfileInvalid):
		return "The profile is not valid."
	}
	msg := withoutPrefixes(err.Error())
	if i := strings.Index(msg, ": "); i > 0 {
		msg = msg[:i]
	}
	return strings.TrimSuffix(capitalize(msg), ".") + "."
}

// showError shows err in a dialog: one sentence, then its details selectable, and a
// "Copy details" button.
func (u *UI) showError(title string, err error) {
	u.showErrorFor(title, err, "")
}

// showErrorFor is showError for an error about the account with key. When only a
// sign-in can help it offers one: "Sign in again for this scope" when the error names
// the scopes (then the token is copied after the sign-in), else "Sign in again".
func (u *UI) showErrorFor(title string, err error, key string) {
	details := errorDetails(err)
	lead := widget.NewLabel(errorSentence(err))
	lead.Wrapping = fyne.TextWrapWord
	text := widget.NewLabel(details)
	text.Wrapping = fyne.TextWrapWord
	text.Selectable = true
	scroll := container.NewVScroll(container.NewVBox(lead, text))
	scroll.SetMinSize(fyne.NewSize(460, 160))
	var d *dialog.CustomDialog
	buttons := []fyne.CanvasObject{
		widget.NewButtonWithIcon("Copy details", theme.ContentCopyIcon(), func() {
			u.app.Clipboard().SetContent(details)
		}),
	}
	var need *usecase.SignInNeededError
	switch {
	case key != "" && errors.As(err, &need):
		again := widget.NewButtonWithIcon("Sign in again for this scope", theme.LoginIcon(), func() {
			d.Hide()
			u.signInForScopes(key, need)
		})
		again.Importance = widget.HighImportance
		buttons = append(buttons, again)
	case key != "" && errors.Is(err, identity.ErrInteractionRequired):
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

// signInForScopes signs the account in again asking for need's scopes on top of its
// profile's (incremental consent), then copies the token, as "Copy token" would have.
func (u *UI) signInForScopes(key string, need *usecase.SignInNeededError) {
	ctx, stop := context.WithCancel(u.ctx)
	who := need.Account.Username
	if who == "" {
		who = need.Account.DisplayName
	}
	msg := widget.NewLabel(fmt.Sprintf("Your browser opens to sign in as %s for %s; come back here when done.", who, strings.Join(need.Scopes, " ")))
	msg.Wrapping = fyne.TextWrapWord
	bar := widget.NewProgressBarInfinite()
	d := dialog.NewCustomWithoutButtons("Sign in again", container.NewVBox(msg, bar), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { stop(); d.Hide() })})
	d.Resize(fyne.NewSize(460, 160))
	u.lastDialog = d
	d.Show()
	scopes := need.Scopes
	u.run(func(context.Context) {
		res, err := u.desk.SignInForScopes(ctx, key, scopes, need.Claims, usecase.SignInOptions{Opener: u.opts.Opener})
		u.do(func() {
			stop()
			d.Hide()
			switch {
			case errors.Is(err, context.Canceled):
			case err != nil:
				u.showError("Sign-in failed", err)
			default:
				u.tokenCopied(key, strings.Join(scopes, " "), res)
			}
		})
	})
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
