// Package scripts holds the shell scripts the Makefile runs (deps, tests, packaging,
// sessions with a private D-Bus, keyring and X display). It has no Go code of its own:
// its tests run the scripts against stand-ins for the machine they change.
package scripts
