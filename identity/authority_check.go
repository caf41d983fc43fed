package identity

import (
	"fmt"
	"net/url"

	"github.com/tokendesk/tokendesk/loopback"
)

// CheckAuthority reports why raw cannot name a provider, or nil: the one rule for an
// authority or issuer URL wherever a program stores or edits one. With oidc it is
// WithOIDCAuthority's issuer, else WithAuthority's Entra, B2C, CIAM or AD FS authority
// (with a tenant), and either way what those options would refuse is refused here.
// Beyond them, a stored URL must be absolute with no user info, query or fragment, and
// use https (plain http only on a loopback host: tokens never cross a network in the
// clear). The error names raw and says what is wanted.
func CheckAuthority(raw string, oidc bool) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("identity: %q is not an absolute URL such as https://login.example.com/tenant", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("identity: %q must not have a query, fragment or user info", raw)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback.IsHost(u.Hostname())) {
		return fmt.Errorf("identity: %q must use https (plain http only on 127.0.0.1, [::1] or localhost)", raw)
	}
	parse := parseAuthority
	if oidc {
		parse = parseOIDCIssuer
	}
	_, err = parse(raw)
	return err
}
