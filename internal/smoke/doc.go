// Package smoke holds the end-to-end smoke test of the real Tokendesk binary on an X
// display: build it, start it with an empty profile, wait for its window, take a
// screenshot, check it is not blank, and stop it with SIGTERM.
//
// The tray tests (tray_test.go) run the binary on seeded profiles against a test
// StatusNotifier host (internal/trayhost) that owns org.kde.StatusNotifierWatcher on
// the test session bus, reads the menu with com.canonical.dbusmenu.GetLayout, clicks
// with Event and reads the real X clipboard with xclip; BenchmarkTray (make bench)
// times start → item registered → accounts in the menu, and click → clipboard.
//
// Environment:
//
//	DISPLAY                      the X display (make test provides a private Xvfb)
//	TOKENDESK_SKIP_SMOKE=1       skip, outside CI only
//	TOKENDESK_SMOKE_SEED=DIR     copy DIR's contents into the profile dir first, to
//	                             smoke-test a populated profile (accounts, config)
//	TOKENDESK_SCREENSHOT_OUT=P   also save the window's screenshot as PNG to P
//	                             ("1" means docs/screenshot-main.png, for the README)
package smoke
