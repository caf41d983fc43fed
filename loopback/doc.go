// Package loopback receives an OAuth 2.0 authorization response on a loopback redirect
// URI, as RFC 8252 §7.3 describes for native apps.
//
// A Listener binds 127.0.0.1 (or [::1], or both for "localhost") and serves exactly one
// path. It is hardened against what else may reach a port on the loopback interface:
// other local programs, and pages open in the user's browser. Requests on other paths,
// with a foreign Host header (DNS rebinding), without code or error, with a wrong
// state, or too large are answered and ignored; only the first valid redirect ends the
// wait, and the listener then closes, so a replayed redirect finds nothing. Read
// timeouts keep slow clients from holding it. Pages are html/template-escaped and sent
// with headers that forbid caching, framing, referrers and scripts. Nothing it logs
// contains a code or state.
//
//	l, err := loopback.Listen(ctx, "http://127.0.0.1/")
//	defer l.Close()
//	authURL := buildAuthURL(l.RedirectURI(), state)
//	go startBrowser(authURL) // a launcher may stay in the foreground until the browser exits
//	resp, err := l.Wait(ctx, state)
//
// Once Wait has named the state, every redirect is judged and answered by the server
// itself, at once: the browser never waits for the caller.
//
// IsHost and CheckRedirectURI are Tokendesk's one rule for loopback: where plain http
// is allowed (identity, storage and usecase ask IsHost), and which redirect URIs a
// Listener can serve (config.json and the profile form ask CheckRedirectURI).
//
// The package imports only the standard library.
package loopback
