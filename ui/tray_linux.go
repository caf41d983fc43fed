package ui

import (
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/systray"
	"github.com/godbus/dbus/v5"
)

// The Linux tray drives fyne.io/systray directly (the patched copy in
// third_party/systray): Fyne's SetSystemTrayMenu rebuilds the whole menu with new item
// ids on every call, while systray.SetMenu keeps each item's id and sends one signal
// per change. Fyne still starts and stops the tray (SetSystemTrayWindow), sets its
// title from the app's metadata and its pixmaps from the app icon.

// trayItemID is the StatusNotifierItem's Id: the application, as hosts remember it.
const trayItemID = "tokendesk"

// trayHostPresent reports whether a StatusNotifier host (the thing that shows tray
// icons: KDE, GNOME with the AppIndicator extension, most panels) is on the session
// bus. Without one Fyne's tray silently fails to register, and hiding the window on
// close would leave the user no way back to it.
func trayHostPresent() bool {
	conn, err := dbus.SessionBusPrivate()
	if err != nil {
		return false
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return false
	}
	if err := conn.Hello(); err != nil {
		return false
	}
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}

// startTray has Fyne start the StatusNotifier item with the window as its target: a
// left click on the icon shows the window, the menu is ours.
func (u *UI) startTray() {
	systray.SetID(trayItemID)
	// Title and pixmaps before the item registers, not after: Fyne sets them from a
	// goroutine that races the registration, so a host could first see an item with
	// no title and no icon. The conversion runs beside the window's build.
	systray.SetTitle("Tokendesk")
	if icon := u.app.Icon(); icon != nil {
		go systray.SetIcon(icon.Content())
	}
	if name := themeIconName(); name != "" {
		systray.SetIconName(name)
	}
	u.app.(desktop.App).SetSystemTrayWindow(u.win)
}

// setTray publishes the menu model and the tooltip.
func (u *UI) setTray(model []trayNode, tooltip string) {
	systray.SetMenu(systrayNodes(model), u.trayClick)
	u.mu.Lock()
	same := u.trayTip == tooltip
	u.trayTip = tooltip
	u.mu.Unlock()
	if !same {
		systray.SetTooltip(tooltip)
	}
}

func systrayNodes(model []trayNode) []systray.MenuNode {
	out := make([]systray.MenuNode, len(model))
	for i, n := range model {
		out[i] = systray.MenuNode{ID: n.ID, Label: n.Label, Disabled: n.Disabled, Separator: n.Separator,
			Children: systrayNodes(n.Children)}
	}
	return out
}

// themeIconName is the name of Tokendesk's icon when the icon lookup of the
// freedesktop icon theme spec finds it: in the hicolor theme, or unthemed in a base
// directory or pixmaps, where `fyne package` installs it (share/pixmaps for a system
// install, ~/.local/share/icons for a user one). The host then draws it at its own
// size. "" when none has it: the host uses the pixmaps.
func themeIconName() string {
	data := os.Getenv("XDG_DATA_HOME")
	home, _ := os.UserHomeDir()
	if data == "" && home != "" {
		data = filepath.Join(home, ".local", "share")
	}
	xdg := os.Getenv("XDG_DATA_DIRS")
	if xdg == "" {
		xdg = "/usr/local/share:/usr/share"
	}
	var places []string // glob patterns, NAME standing for the icon's name
	for _, d := range append([]string{data}, strings.Split(xdg, ":")...) {
		if d != "" {
			places = append(places, filepath.Join(d, "icons/hicolor/*/apps/NAME"), filepath.Join(d, "icons/NAME"), filepath.Join(d, "pixmaps/NAME"))
		}
	}
	if home != "" {
		places = append(places, filepath.Join(home, ".icons/NAME"))
	}
	for _, name := range []string{"dev.tokendesk.app", "tokendesk"} {
		for _, p := range places {
			for _, ext := range []string{".png", ".svg"} {
				if m, _ := filepath.Glob(strings.Replace(p, "NAME", name+ext, 1)); len(m) > 0 {
					return name
				}
			}
		}
	}
	return ""
}
