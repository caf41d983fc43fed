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

// themeIconName is the name of Tokendesk's icon when an icon theme has it installed
// (a packaged install puts it under hicolor), so the host draws it at its own size;
// "" when none has it (the pixmaps are used).
func themeIconName() string {
	dirs := []string{os.Getenv("XDG_DATA_HOME")}
	if home, err := os.UserHomeDir(); err == nil && dirs[0] == "" {
		dirs[0] = filepath.Join(home, ".local", "share")
	}
	xdg := os.Getenv("XDG_DATA_DIRS")
	if xdg == "" {
		xdg = "/usr/local/share:/usr/share"
	}
	dirs = append(dirs, strings.Split(xdg, ":")...)
	for _, name := range []string{"dev.tokendesk.app", "tokendesk"} {
		for _, d := range dirs {
			if d == "" {
				continue
			}
			for _, pattern := range []string{"icons/hicolor/*/apps/" + name + ".png", "icons/hicolor/*/apps/" + name + ".svg"} {
				if m, _ := filepath.Glob(filepath.Join(d, pattern)); len(m) > 0 {
					return name
				}
			}
		}
	}
	return ""
}
