package identity

import "context"

// Discover resolves the configured authority now, as the first token request would:
// instance discovery for an Entra host it does not know, then the OpenID discovery
// document, whose endpoints must be absolute https URLs (http only on loopback) and
// whose issuer must match an OIDC authority. A program calls it to check an authority
// before anyone signs in; the answer is remembered like any resolution, so the first
// token request then sends no discovery request of its own. MSAL Python resolves in
// its constructor; this client resolves lazily, hence a separate call.
func (a *ClientApplication) Discover(ctx context.Context) error {
	_, err := a.resolveAuthority(ctx, "")
	return err
}
