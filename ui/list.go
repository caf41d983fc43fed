package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokendesk/tokendesk/usecase"
)

// emptyText is what the list says before any account exists: what to do next.
const emptyText = "No accounts yet.\nPress \"Sign in\" (Ctrl+N) to add one, or add a profile for your own OpenID provider there."

// accountList is the filterable list of accounts on the left of the window.
type accountList struct {
	u        *UI
	filter   *widget.Entry
	list     *widget.List
	empty    *widget.Label
	errLabel *widget.Label
	all      []usecase.AccountView
	shown    []usecase.AccountView
	selected string // key
	content  fyne.CanvasObject
}

func newAccountList(u *UI) *accountList {
	l := &accountList{u: u}
	l.filter = widget.NewEntry()
	l.filter.SetPlaceHolder("Filter accounts (Ctrl+F)")
	l.filter.OnChanged = func(string) { l.apply() }
	l.list = widget.NewList(
		func() int { return len(l.shown) },
		func() fyne.CanvasObject { return newAccountRow() },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(l.shown) {
				o.(*accountRow).set(l.shown[id])
			}
		})
	l.list.OnSelected = func(id widget.ListItemID) {
		if id < len(l.shown) {
			l.selected = l.shown[id].Key
			u.detail.show(l.shown[id].Key)
		}
	}
	l.empty = widget.NewLabel("Loading accounts…")
	l.empty.Wrapping = fyne.TextWrapWord
	l.empty.Alignment = fyne.TextAlignCenter
	l.errLabel = widget.NewLabel("")
	l.errLabel.Wrapping = fyne.TextWrapWord
	l.errLabel.Importance = widget.DangerImportance
	l.errLabel.Hide()
	// The empty state gets the list's full width (a VBox stretches it) and is centred
	// vertically by spacers: container.NewCenter would give the wrapping label only its
	// minimum width, one letter per line.
	empty := container.NewVBox(layoutSpacer(), l.empty, layoutSpacer())
	l.content = container.NewBorder(l.filter, l.errLabel, nil, nil, container.NewStack(l.list, empty))
	return l
}

// setAccounts replaces the accounts (err: some could not be listed).
func (l *accountList) setAccounts(accs []usecase.AccountView, err error) {
	l.all = accs
	if err != nil {
		l.errLabel.SetText("Some accounts could not be listed: " + err.Error())
		l.errLabel.Show()
	} else {
		l.errLabel.Hide()
	}
	l.apply()
}

// apply filters the accounts by the filter text (name, username, tenant, profile).
func (l *accountList) apply() {
	q := strings.ToLower(strings.TrimSpace(l.filter.Text))
	l.shown = l.shown[:0]
	for _, a := range l.all {
		if q == "" || matches(a, q) {
			l.shown = append(l.shown, a)
		}
	}
	switch {
	case len(l.all) == 0:
		l.empty.SetText(emptyText)
		l.empty.Show()
	case len(l.shown) == 0:
		l.empty.SetText(fmt.Sprintf("No account matches %q.", l.filter.Text))
		l.empty.Show()
	default:
		l.empty.Hide()
	}
	l.list.UnselectAll()
	for i, a := range l.shown {
		if a.Key == l.selected {
			l.list.Select(i)
			break
		}
	}
	l.list.Refresh()
}

func matches(a usecase.AccountView, q string) bool {
	for _, f := range []string{a.DisplayName, a.Username, a.TenantOrIssuer, a.Profile} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// accountRow is one line of the list: name and status badge over username, tenant
// and profile.
type accountRow struct {
	widget.BaseWidget
	name, sub, status *widget.Label
}

func newAccountRow() *accountRow {
	r := &accountRow{name: widget.NewLabel(""), sub: widget.NewLabel(""), status: widget.NewLabel("")}
	r.name.TextStyle.Bold = true
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.sub.Truncation = fyne.TextTruncateEllipsis
	r.sub.SizeName = theme.SizeNameCaptionText
	r.ExtendBaseWidget(r)
	return r
}

func (r *accountRow) set(a usecase.AccountView) {
	r.name.SetText(a.DisplayName)
	sub := a.Username
	for _, s := range []string{a.TenantOrIssuer, a.Profile} {
		if s != "" {
			sub += " · " + s
		}
	}
	r.sub.SetText(strings.TrimPrefix(sub, " · "))
	setStatus(r.status, a.Status)
}

// setStatus turns l into a coloured status badge.
func setStatus(l *widget.Label, s usecase.Status) {
	switch s {
	case usecase.StatusValid:
		l.Importance = widget.SuccessImportance
	case usecase.StatusExpiredRefreshable:
		l.Importance = widget.WarningImportance
	default:
		l.Importance = widget.DangerImportance
	}
	l.SetText(s.String())
}

func (r *accountRow) CreateRenderer() fyne.WidgetRenderer {
	top := container.NewBorder(nil, nil, nil, r.status, r.name)
	return widget.NewSimpleRenderer(container.NewVBox(top, r.sub))
}
