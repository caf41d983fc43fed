package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/usecase"
)

// addProfileItem is the last entry of the profile picker.
const addProfileItem = "Add profile…"

// lastProfilePref is the app preference holding the profile the last sign-in used, the
// dialog's default next time.
const lastProfilePref = "signin.lastProfile"

// signInDialog is the "Sign in" dialog: profile, login hint, progress, Cancel,
// "Copy sign-in link", and the device-code fallback.
type signInDialog struct {
	u       *UI
	dlg     *dialog.CustomDialog
	profile *widget.Select
	hint    *widget.Entry
	status  *widget.Label
	code    *widget.Entry // device code and link, selectable
	bar     *widget.ProgressBarInfinite
	signIn  *widget.Button
	device  *widget.Button
	copyURL *widget.Button
	cancel  *widget.Button

	authURL string
	stop    context.CancelFunc // cancels the running sign-in; nil when idle
	attempt int                // counts sign-ins, so a late finish doesn't clear a newer stop
	done    chan struct{}      // closed when the dialog's work ended (tests)
}

// showSignIn opens the sign-in dialog, preselecting profile and login hint when given.
func (u *UI) showSignIn(profile, hint string) {
	if u.signInDlg != nil && u.signInDlg.dlg != nil {
		u.signInDlg.dlg.Show()
		return
	}
	s := &signInDialog{u: u, done: make(chan struct{})}
	s.profile = widget.NewSelect(nil, s.profileChosen)
	s.hint = widget.NewEntry()
	s.hint.SetPlaceHolder("user@example.com (optional)")
	s.hint.SetText(hint)
	s.status = widget.NewLabel("Your browser opens to sign in; come back here when done.")
	s.status.Wrapping = fyne.TextWrapWord
	s.code = widget.NewMultiLineEntry()
	s.code.Wrapping = fyne.TextWrapWord
	s.code.Hide()
	s.bar = widget.NewProgressBarInfinite()
	s.bar.Stop()
	s.bar.Hide()
	s.signIn = widget.NewButtonWithIcon("Sign in", theme.LoginIcon(), s.start)
	s.signIn.Importance = widget.HighImportance
	s.device = widget.NewButton("Use a device code", s.startDevice)
	s.copyURL = widget.NewButtonWithIcon("Copy sign-in link", theme.ContentCopyIcon(), func() {
		if s.authURL != "" {
			u.app.Clipboard().SetContent(s.authURL)
		}
	})
	s.copyURL.Disable()
	s.cancel = widget.NewButton("Cancel", s.cancelOrClose)

	form := widget.NewForm(
		widget.NewFormItem("Profile", s.profile),
		widget.NewFormItem("Login hint", s.hint),
	)
	content := container.NewVBox(form, s.status, s.code, s.bar)
	s.dlg = dialog.NewCustomWithoutButtons("Sign in", content, u.win)
	s.dlg.SetButtons([]fyne.CanvasObject{s.cancel, s.copyURL, s.device, s.signIn})
	s.dlg.SetOnClosed(func() {
		if s.stop != nil {
			s.stop()
		}
		if u.signInDlg == s {
			u.signInDlg = nil
		}
	})
	s.dlg.Resize(fyne.NewSize(520, 320))
	u.signInDlg = s
	s.dlg.Show()
	s.loadProfiles(profile)
}

// loadProfiles fills the picker, selecting want (or the first profile).
func (s *signInDialog) loadProfiles(want string) {
	s.u.run(func(ctx context.Context) {
		ps, err := s.u.desk.Profiles(ctx)
		s.u.do(func() {
			if err != nil {
				s.u.showError("Could not read the profiles", err)
				return
			}
			names := make([]string, 0, len(ps)+1)
			for _, p := range ps {
				names = append(names, p.Name)
			}
			s.profile.Options = append(names, addProfileItem)
			s.profile.Refresh()
			if want == "" {
				// The profile used last, when it still exists.
				if last := s.u.app.Preferences().String(lastProfilePref); slices.Contains(names, last) {
					want = last
				}
			}
			switch {
			case want != "":
				s.profile.SetSelected(want)
			case len(names) > 0:
				s.profile.SetSelected(names[0])
			default:
				s.status.SetText("No profile yet: add one for your OpenID provider.")
			}
		})
	})
}

func (s *signInDialog) profileChosen(name string) {
	if name == addProfileItem {
		s.profile.ClearSelected()
		s.u.showAddProfile(func(p profile.Profile) { s.loadProfiles(p.Name) })
	}
}

// busy switches the dialog between idle and working.
func (s *signInDialog) busy(on bool, msg string) {
	s.status.SetText(msg)
	if on {
		s.bar.Show()
		s.bar.Start()
		s.signIn.Disable()
		s.device.Disable()
		s.profile.Disable()
		s.hint.Disable()
		return
	}
	s.bar.Stop()
	s.bar.Hide()
	s.signIn.Enable()
	s.device.Enable()
	s.profile.Enable()
	s.hint.Enable()
}

func (s *signInDialog) chosenProfile() (string, bool) {
	p := s.profile.Selected
	if p == "" || p == addProfileItem {
		s.status.SetText("Pick a profile first.")
		return "", false
	}
	return p, true
}

// begin starts an attempt: a context Cancel stops, and the dialog busy with msg.
func (s *signInDialog) begin(msg string) (context.Context, context.CancelFunc, int) {
	ctx, stop := context.WithCancel(s.u.ctx)
	s.stop = stop
	s.attempt++
	s.busy(true, msg)
	return ctx, stop, s.attempt
}

// start runs the browser sign-in.
func (s *signInDialog) start() {
	profile, ok := s.chosenProfile()
	if !ok {
		return
	}
	s.code.Hide()
	ctx, stop, attempt := s.begin("Waiting for you to sign in in the browser…")
	opts := usecase.SignInOptions{
		LoginHint: strings.TrimSpace(s.hint.Text),
		Opener:    s.u.opts.Opener,
		OnAuthURL: func(authURL string) {
			s.u.do(func() {
				s.authURL = authURL
				s.copyURL.Enable()
			})
		},
	}
	s.u.run(func(context.Context) {
		v, err := s.u.desk.SignIn(ctx, profile, opts)
		s.u.do(func() { s.finished(v, err, stop, attempt) })
	})
}

// startDevice runs the device-code sign-in.
func (s *signInDialog) startDevice() {
	profile, ok := s.chosenProfile()
	if !ok {
		return
	}
	ctx, stop, attempt := s.begin("Asking for a device code…")
	opts := usecase.DeviceCodeOptions{OnCode: func(dc usecase.DeviceCode) {
		s.u.do(func() {
			link := dc.VerificationURI
			if dc.VerificationURIComplete != "" {
				link = dc.VerificationURIComplete
			}
			s.authURL = link
			s.copyURL.Enable()
			s.status.SetText("On any device, open the link and enter the code:")
			s.code.SetText(fmt.Sprintf("Code: %s\nLink: %s", dc.UserCode, dc.VerificationURI))
			s.code.Show()
		})
	}}
	s.u.run(func(context.Context) {
		v, err := s.u.desk.SignInWithDeviceCode(ctx, profile, opts)
		s.u.do(func() { s.finished(v, err, stop, attempt) })
	})
}

// finished handles the end of either sign-in.
func (s *signInDialog) finished(v usecase.AccountView, err error, stop context.CancelFunc, attempt int) {
	stop()
	if attempt == s.attempt {
		s.stop = nil
	}
	defer func() {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}()
	switch {
	case err == nil:
		s.u.app.Preferences().SetString(lastProfilePref, v.Profile)
		s.busy(false, "Signed in as "+v.Username)
		s.dlg.Hide()
		s.u.selectAccount(v)
	case errors.Is(err, identity.ErrBrowserUnavailable):
		s.busy(false, "No browser could be opened here. Use a device code, or copy the sign-in link into a browser.")
		s.device.Importance = widget.HighImportance
		s.device.Refresh()
	case errors.Is(err, context.Canceled):
		s.clearCode()
		s.busy(false, "Sign-in cancelled.")
	default:
		s.clearCode()
		s.busy(false, "Sign-in failed.")
		s.u.showError("Sign-in failed", err)
	}
}

// clearCode takes a dead device code and its link off the dialog.
func (s *signInDialog) clearCode() {
	s.code.SetText("")
	s.code.Hide()
	s.authURL = ""
	s.copyURL.Disable()
}

// cancelOrClose stops a running sign-in, or closes the dialog when idle.
func (s *signInDialog) cancelOrClose() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
		return
	}
	s.dlg.Hide()
}

// showAddProfile asks for an issuer URL and client id, validates them through the
// discovery document, and calls added with the new profile.
func (u *UI) showAddProfile(added func(profile.Profile)) {
	name := widget.NewEntry()
	name.SetPlaceHolder("My provider")
	issuer := widget.NewEntry()
	issuer.SetPlaceHolder("https://issuer.example.com")
	client := widget.NewEntry()
	client.SetPlaceHolder("client id of a public (native) app")
	redirect := widget.NewEntry()
	redirect.SetPlaceHolder("http://localhost (optional)")
	redirect.Validator = func(s string) error { return profile.CheckRedirectURI(strings.TrimSpace(s)) }
	redirectHelp := widget.NewLabel(profile.RedirectURIHelp)
	redirectHelp.Wrapping = fyne.TextWrapWord
	redirectHelp.Importance = widget.LowImportance
	scopes := widget.NewEntry()
	scopes.SetPlaceHolder("api:read api:write (optional)")
	status := widget.NewLabel("The issuer is checked by fetching its discovery document.")
	status.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Name", name),
		widget.NewFormItem("Issuer URL", issuer),
		widget.NewFormItem("Client id", client),
		widget.NewFormItem("Redirect URI", redirect),
		widget.NewFormItem("", redirectHelp),
		widget.NewFormItem("Favourite scopes", scopes),
	)
	var d *dialog.CustomDialog
	var save *widget.Button
	save = widget.NewButton("Check and add", func() {
		p := profile.Profile{Name: name.Text, Issuer: issuer.Text, ClientID: client.Text,
			RedirectURI: strings.TrimSpace(redirect.Text), FavouriteScopes: strings.Fields(scopes.Text)}
		if err := profile.CheckRedirectURI(p.RedirectURI); err != nil {
			status.SetText(capitalize(withoutPrefixes(err.Error())) + ".")
			return
		}
		save.Disable()
		status.SetText("Checking " + p.Issuer + "…")
		u.run(func(ctx context.Context) {
			err := u.desk.AddProfile(ctx, p)
			u.do(func() {
				save.Enable()
				if err != nil {
					status.SetText(capitalize(withoutPrefixes(err.Error())) + ".")
					return
				}
				d.Hide()
				if added != nil {
					added(p)
				}
			})
		})
	})
	save.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Add profile", container.NewVBox(form, status), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), save})
	d.Resize(fyne.NewSize(520, 360))
	u.addProfile = &addProfileForm{dlg: d, name: name, issuer: issuer, client: client, redirect: redirect, status: status, save: save}
	d.Show()
}

// addProfileForm keeps the add-profile dialog's widgets for tests.
type addProfileForm struct {
	dlg                  *dialog.CustomDialog
	name, issuer, client *widget.Entry
	redirect             *widget.Entry
	status               *widget.Label
	save                 *widget.Button
}
