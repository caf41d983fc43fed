// Package ui is Tokendesk's window and tray, drawn with Fyne. It holds no protocol
// logic: every action goes through the use-case layer (a Desk, normally
// *usecase.Desk). It never imports fyne.io/fyne/v2/app, so it runs under Fyne's
// headless test driver; main creates the fyne.App and hands it in.
//
// Tray: the menu is a pure model (trayModel) with stable item ids. On Linux it is
// published with SetMenu of the patched fyne.io/systray in third_party/systray (see
// its PATCHES.md; go.mod replaces the module), which sends only what changed; other
// platforms hand it to Fyne's tray. Options.Watch keeps list, detail and tray in step
// with other processes.
//
// Threading: use cases that may touch the network or the disk run on worker
// goroutines (run), and their results reach widgets only through fyne.Do.
package ui
