//go:build !linux

package ui

import (
	"reflect"

	"fyne.io/fyne/v2/driver/desktop"
)

// trayHostPresent: Windows and macOS always have a tray (notification area, menu bar).
func trayHostPresent() bool { return true }

// startTray: Fyne starts the tray with the first menu.
func (u *UI) startTray() {}

// setTray hands the menu to Fyne's tray, which rebuilds it: only when it changed.
func (u *UI) setTray(model []trayNode, tooltip string) {
	u.mu.Lock()
	same := reflect.DeepEqual(u.trayLast, model)
	u.trayLast = model
	u.mu.Unlock()
	if !same {
		u.app.(desktop.App).SetSystemTrayMenu(u.fyneTrayMenu(model))
	}
}
