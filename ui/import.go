package ui

import (
	"context"

	"fyne.io/fyne/v2/dialog"
)

// OfferImport asks, on the UI goroutine, whether to bring in sign-ins another tool
// left on this machine (main offers Azure CLI's once, at first start). On "Import",
// run does the import on a worker and its summary, or its error, is shown; answered
// is called with either answer, so the caller can remember the question was asked.
// The UI knows nothing of the other tool: title and question say it all.
func (u *UI) OfferImport(title, question string, run func(ctx context.Context) (summary string, err error), answered func()) {
	d := dialog.NewConfirm(title, question, func(ok bool) {
		if answered != nil {
			answered()
		}
		if !ok {
			return
		}
		u.run(func(ctx context.Context) {
			summary, err := run(ctx)
			u.do(func() {
				if err != nil {
					u.showError(title, err)
					return
				}
				u.ShowNotice(title, summary)
				u.Reload()
			})
		})
	}, u.win)
	d.SetConfirmText("Import")
	d.SetDismissText("Not now")
	u.lastConfirm = d
	d.Show()
}
