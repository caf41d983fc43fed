// Command tokendesk is a desktop account manager for OAuth 2.0 / OpenID Connect
// identities. main only wires packages together: config → storage → identity → use
// cases → window, tray or CLI.
package main

import (
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("dev.tokendesk.app")
	w := a.NewWindow("Tokendesk")
	w.SetContent(widget.NewLabel("No accounts yet. Sign in to add one."))
	w.ShowAndRun()
}
