// Package testenv gives Tokendesk's tests the real parts they run against: an OpenID
// Provider (panva's oidc-provider, started with node on 127.0.0.1), a second one
// (zitadel/oidc's example OP), a stand-in xdg-open that blocks like a foreground
// browser (ForegroundLauncher), a scripted browser
// that signs in through it, and a check that an OS keyring (Secret Service) is reachable.
//
// Tests skip a real part only when its documented environment variable says so and CI
// is not "true":
//
//	TOKENDESK_SKIP_PROVIDER=1   no node / oidc-provider on this machine
//	TOKENDESK_SKIP_KEYRING=1    no Secret Service (D-Bus session with gnome-keyring)
//	TOKENDESK_SKIP_ZITADEL=1    the zitadel example provider cannot be built here
//
// Zitadel is a second real provider: zitadel/oidc v3.52.0's example OP, built from
// the wrapper module in zitadel/ (its own go.mod, so Tokendesk does not depend on
// zitadel) once per test binary.
//
// `make test` provides both: it installs node_modules with `npm ci` and runs the tests
// inside a private D-Bus session with an unlocked gnome-keyring.
//
// A package that uses Provider should call Main from its TestMain, so the shared
// provider is stopped when the tests end; without it the provider still exits, because
// it watches its stdin and the pipe closes with the test binary.
package testenv
