package ui

import "github.com/godbus/dbus/v5"

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
