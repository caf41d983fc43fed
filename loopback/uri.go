package loopback

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// IsHost reports whether host (a URL's Hostname, brackets allowed) names the loopback
// interface: "localhost" in any case, or an address in 127.0.0.0/8 or ::1. It is the one
// rule for where Tokendesk allows plain http (local test providers): traffic to such a
// host never leaves the machine. It says nothing about whether a Listener can bind
// the host; CheckRedirectURI does.
func IsHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckRedirectURI reports why uri cannot be registered as a native app's redirect URI
// that Listen serves, or nil: it must be http:// (RFC 8252 §7.3) on 127.0.0.1, [::1]
// or localhost, the only hosts a Listener binds (so not 127.0.0.2), with an optional
// port from 1 to 65535 and path, and no user info, query or fragment. The error text
// is meant for a person and names uri; callers add what to do.
func CheckRedirectURI(uri string) error {
	u, err := parseRedirectURI(uri)
	if err != nil {
		return err
	}
	if u.Port() == "0" {
		// Listen reads port 0 as "any free port"; a provider registers a real one.
		return fmt.Errorf("redirect URI %q has a bad port", uri)
	}
	return nil
}

// parseRedirectURI checks that uri is a loopback http URI a listener can serve; port 0
// (any free port) is allowed here, for Listen.
func parseRedirectURI(uri string) (*url.URL, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("redirect URI %q is not a URL", uri)
	}
	switch {
	case u.Scheme == "https":
		return nil, fmt.Errorf("redirect URI %q uses https, but a native app receives the sign-in over plain http on this computer (RFC 8252 §7.3)", uri)
	case u.Scheme != "http":
		return nil, fmt.Errorf("redirect URI %q is not http:// (RFC 8252 §7.3)", uri)
	case u.User != nil || u.Opaque != "":
		return nil, fmt.Errorf("redirect URI %q has user info or is malformed", uri)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("redirect URI %q has a query; the response parameters could not be told apart", uri)
	case u.Fragment != "":
		return nil, fmt.Errorf("redirect URI %q has a fragment (RFC 6749 §3.1.2)", uri)
	}
	switch strings.ToLower(u.Hostname()) {
	case "127.0.0.1", "::1", "localhost":
	default:
		return nil, fmt.Errorf("redirect URI %q is not on 127.0.0.1, [::1] or localhost", uri)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("redirect URI %q has a bad port", uri)
		}
	}
	return u, nil
}
