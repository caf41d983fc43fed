package ui

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// detailPane shows the selected account: its scopes with "Copy token", the expiry
// countdown, the token inspector and "Sign out".
type detailPane struct {
	u   *UI
	key string // account shown; "" when none

	placeholder *widget.Label
	body        *fyne.Container
	name        *widget.Label
	info        *widget.Label
	status      *widget.Label
	expiry      *widget.Label
	scopeBox    *fyne.Container
	newScope    *widget.Entry
	signOut     *widget.Button

	// inspector
	tabs               *container.AppTabs
	atHeader, atClaims *widget.Label
	idHeader, idClaims *widget.Label
	inspected          string // scope of the token in the inspector
	expiresOn          time.Time
	selScope           string        // scope Ctrl+C copies
	copiedScope        string        // scope whose token was copied last
	copiedAt           time.Time     // when
	copiedNote         *widget.Label // "Copied — clears in N s" next to that scope's button
	scopes             []usecase.Scope
	content            *fyne.Container // the placeholder, then also body
}

func newDetailPane(u *UI) *detailPane {
	d := &detailPane{u: u}
	d.placeholder = widget.NewLabel("Select an account to see its scopes and tokens.")
	d.placeholder.Alignment = fyne.TextAlignCenter
	d.content = container.NewStack(container.NewCenter(d.placeholder))
	return d
}

// build creates the pane's widgets on the first show. Until an account is selected
// only the placeholder exists: start-up then neither lays out the inspector nor loads
// its monospace faces (Fyne parses a separate copy of the fonts, emoji font included,
// per text style: measured 9 MB of idle heap).
func (d *detailPane) build() {
	if d.body != nil {
		return
	}
	d.name = widget.NewLabel("")
	d.name.TextStyle.Bold = true
	d.name.SizeName = theme.SizeNameSubHeadingText
	d.info = widget.NewLabel("")
	d.info.Wrapping = fyne.TextWrapWord
	d.info.Selectable = true
	d.status = widget.NewLabel("")
	d.expiry = widget.NewLabel("")
	d.scopeBox = container.NewVBox()
	d.newScope = widget.NewEntry()
	d.newScope.SetPlaceHolder("Add a scope, e.g. api://my-api/.default")
	d.newScope.OnSubmitted = func(string) { d.addScope() }
	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), d.addScope)
	d.signOut = widget.NewButtonWithIcon("Sign out…", theme.LogoutIcon(), func() { d.confirmSignOut() })
	d.signOut.Importance = widget.DangerImportance

	mono := func() *widget.Label {
		l := widget.NewLabel("")
		l.TextStyle.Monospace = true
		l.Selectable = true
		return l
	}
	d.atHeader, d.atClaims, d.idHeader, d.idClaims = mono(), mono(), mono(), mono()
	// Header and claims side by side: claims are the long part and get the width.
	pane := func(h, c *widget.Label) fyne.CanvasObject {
		titled := func(title string, l *widget.Label) fyne.CanvasObject {
			return container.NewBorder(widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
				nil, nil, nil, container.NewScroll(l))
		}
		split := container.NewHSplit(titled("Header", h), titled("Claims", c))
		split.Offset = 0.35
		return split
	}
	d.tabs = container.NewAppTabs(
		container.NewTabItem("Access token", pane(d.atHeader, d.atClaims)),
		container.NewTabItem("ID token", pane(d.idHeader, d.idClaims)),
	)
	d.clearInspector()

	head := container.NewVBox(
		container.NewBorder(nil, nil, nil, d.status, d.name),
		d.info, d.expiry,
		widget.NewLabelWithStyle("Scopes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		d.scopeBox,
		container.NewBorder(nil, nil, nil, add, d.newScope),
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Token inspector (decoded, not verified)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
	)
	d.body = container.NewBorder(head, container.NewHBox(layoutSpacer(), d.signOut), nil, nil, d.tabs)
	d.body.Hide()
	d.content.Add(d.body)
}

// show displays the account with key.
func (d *detailPane) show(key string) {
	if key != d.key {
		d.clearInspector()
		d.selScope = ""
		d.copiedScope = ""
	}
	d.key = key
	a, ok := d.u.account(key)
	if !ok {
		d.key = ""
		if d.body != nil {
			d.body.Hide()
		}
		d.placeholder.Show()
		return
	}
	d.build()
	d.placeholder.Hide()
	d.body.Show()
	d.name.SetText(a.DisplayName)
	d.info.SetText(fmt.Sprintf("%s\nTenant / issuer: %s\nProfile: %s", a.Username, a.TenantOrIssuer, a.Profile))
	setStatus(d.status, a.Status)
	if d.inspected == "" {
		d.expiresOn = a.ExpiresOn
	}
	d.u.mu.Lock()
	d.scopes = d.u.scopes[key]
	d.u.mu.Unlock()
	if d.selScope == "" && len(d.scopes) > 0 {
		d.selScope = d.scopes[0].Name
	}
	d.buildScopes()
	d.tick()
}

// accountsChanged re-shows the current account, or clears the pane when it is gone.
func (d *detailPane) accountsChanged(accs []usecase.AccountView, scopes map[string][]usecase.Scope) {
	if d.key != "" {
		d.show(d.key)
	}
}

func (d *detailPane) buildScopes() {
	d.scopeBox.RemoveAll()
	d.copiedNote = nil
	if len(d.scopes) == 0 {
		d.scopeBox.Add(widget.NewLabel("No scopes yet: add one below."))
	}
	for _, sc := range d.scopes {
		sc := sc
		name := widget.NewLabel(sc.Name)
		name.Truncation = fyne.TextTruncateEllipsis
		if sc.Name == d.selScope {
			name.TextStyle.Bold = true
		}
		copyBtn := widget.NewButtonWithIcon("Copy token", theme.ContentCopyIcon(), func() {
			d.selScope = sc.Name
			d.u.copyToken(d.key, sc.Name, false)
		})
		inspect := widget.NewButtonWithIcon("Inspect", theme.SearchIcon(), func() {
			d.selScope = sc.Name
			d.u.inspectToken(d.key, sc.Name)
		})
		buttons := container.NewHBox(copyBtn, inspect)
		if sc.Name == d.copiedScope {
			d.copiedNote = widget.NewLabel("")
			d.copiedNote.Importance = widget.SuccessImportance
			buttons.Objects = append([]fyne.CanvasObject{d.copiedNote}, buttons.Objects...)
		}
		if sc.Favourite {
			buttons.Add(widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { d.removeScope(sc.Name) }))
		}
		d.scopeBox.Add(container.NewBorder(nil, nil, nil, buttons, name))
	}
	d.scopeBox.Refresh()
}

func (d *detailPane) addScope() {
	key, scope := d.key, d.newScope.Text
	if key == "" || scope == "" {
		return
	}
	d.u.run(func(ctx context.Context) {
		err := d.u.desk.AddScope(ctx, key, scope)
		d.u.do(func() {
			if err != nil {
				d.u.showError("Could not add the scope", err)
				return
			}
			d.newScope.SetText("")
		})
	})
}

func (d *detailPane) removeScope(scope string) {
	key := d.key
	d.u.run(func(ctx context.Context) {
		if err := d.u.desk.RemoveScope(ctx, key, scope); err != nil {
			d.u.do(func() { d.u.showError("Could not remove the scope", err) })
		}
	})
}

// confirmSignOut asks, then signs the shown account out.
func (d *detailPane) confirmSignOut() {
	a, ok := d.u.account(d.key)
	if !ok {
		return
	}
	d.u.confirm("Sign out?", fmt.Sprintf("Sign out %s (%s)?\nIts tokens are removed from this computer.", a.DisplayName, a.Username),
		func() { d.u.signOut(a.Key) })
}

// setTokens fills the inspector with res (got for scope).
func (d *detailPane) setTokens(scope string, res identity.Result) {
	d.inspected = scope
	d.expiresOn = res.ExpiresOn
	at := usecase.Inspect(res.AccessToken)
	id := usecase.Inspect(res.IDToken)
	now := d.u.opts.Now()
	fill := func(h, c *widget.Label, in usecase.Inspection) {
		if in.JWT {
			h.SetText(in.Header)
			c.SetText(annotateTimes(in.Claims, now))
			return
		}
		h.SetText("")
		c.SetText(in.Note)
	}
	fill(d.atHeader, d.atClaims, at)
	fill(d.idHeader, d.idClaims, id)
	d.tick()
}

func (d *detailPane) clearInspector() {
	d.inspected = ""
	d.expiresOn = time.Time{}
	if d.atHeader == nil {
		return // not built yet: build fills it
	}
	// The hint goes in the claims column, the wide one.
	msg := "Press \"Inspect\" on a scope\nto decode its tokens."
	d.atHeader.SetText("")
	d.atClaims.SetText(msg)
	d.idHeader.SetText("")
	d.idClaims.SetText(msg)
}

// tick updates the expiry countdown (called every second by the UI's ticker).
func (d *detailPane) tick() {
	if d.key == "" {
		return
	}
	what := "Cached access token"
	if d.inspected != "" {
		what = "Token for " + d.inspected
	}
	d.expiry.SetText(expiryText(what, d.expiresOn, d.u.opts.Now()))
	if d.copiedNote != nil {
		text := copiedText(d.copiedAt, d.u.opts.ClipboardClear, d.u.opts.Now())
		d.copiedNote.SetText(text)
		if text == "" {
			d.copiedScope = ""
		}
	}
}

// markCopied confirms, next to scope's Copy button, that its token is on the clipboard.
func (d *detailPane) markCopied(scope string) {
	d.copiedScope = scope
	d.copiedAt = d.u.opts.Now()
	d.buildScopes()
	d.tick()
}

// copiedText is the inline copy confirmation: the seconds left until the clipboard is
// cleared ("" once it has been), or plain "Copied" when it is never cleared.
func copiedText(at time.Time, clear time.Duration, now time.Time) string {
	if clear < 0 {
		if now.Sub(at) > 10*time.Second {
			return ""
		}
		return "Copied"
	}
	left := at.Add(clear).Sub(now)
	if left <= 0 {
		return ""
	}
	return fmt.Sprintf("Copied — clears in %d s", int((left+time.Second-1)/time.Second))
}

// expiryText says how long a token has left, in words.
func expiryText(what string, exp, now time.Time) string {
	if exp.IsZero() {
		return "No access token cached yet."
	}
	left := exp.Sub(now).Truncate(time.Second)
	if left <= 0 {
		return fmt.Sprintf("%s expired %s ago (at %s).", what, (-left).String(), exp.Local().Format("15:04:05"))
	}
	return fmt.Sprintf("%s expires in %s (at %s).", what, left.String(), exp.Local().Format("15:04:05"))
}

// timeClaim matches a top-level NumericDate claim line of the indented claims JSON.
var timeClaim = regexp.MustCompile(`(?m)^  "(exp|iat|nbf|auth_time)": (\d{1,12})(,?)$`)

// annotateTimes puts the local time and the time relative to now next to each of the
// claims' epoch numbers (exp, iat, nbf, auth_time), which nobody reads as a date.
func annotateTimes(claims string, now time.Time) string {
	return timeClaim.ReplaceAllStringFunc(claims, func(line string) string {
		m := timeClaim.FindStringSubmatch(line)
		sec, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return line
		}
		at := time.Unix(sec, 0)
		return fmt.Sprintf("%s   ← %s (%s)", line, at.Local().Format("2006-01-02 15:04:05 MST"), relativeTime(at, now))
	})
}

// relativeTime says when t is from now: "in 59 min", "3 min ago", "in 20 s".
func relativeTime(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		s = fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}
