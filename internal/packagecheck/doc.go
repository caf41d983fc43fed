// Package packagecheck checks what `make package` built the way its users get it: the
// Windows Tokendesk.exe is a PE32+ GUI program for x86-64 carrying the icon and
// FyneApp.toml's version, and the Linux Tokendesk.tar.xz unpacks, installs with its own
// Makefile (to a prefix, and to ~/.local), passes desktop-file-validate, and starts
// from its .desktop file through a real launcher (GLib's `gio launch`) under Xvfb.
//
// Its tests build only with -tags packagecheck and need the artifacts: run them with
// `make package-check`, which packages first (the Windows cross build takes about 12
// minutes cold, too slow for make test).
package packagecheck
