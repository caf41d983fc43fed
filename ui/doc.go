// Package ui is Tokendesk's window and tray, drawn with Fyne. It holds no protocol
// logic: every action goes through the use-case layer (a Desk, normally
// *usecase.Desk). It never imports fyne.io/fyne/v2/app, so it runs under Fyne's
// headless test driver; main creates the fyne.App and hands it in.
//
// Threading: use cases that may touch the network or the disk run on worker
// goroutines (run), and their results reach widgets only through fyne.Do.
package ui
