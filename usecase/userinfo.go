package usecase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/loopback"
	"github.com/tokendesk/tokendesk/profile"
)

// userinfoTimeout bounds the userinfo lookup at sign-in: names are a nicety, and the
// user is waiting for the sign-in to finish.
const userinfoTimeout = 10 * time.Second

// maxUserinfoBytes bounds the discovery document and userinfo response read.
const maxUserinfoBytes = 256 << 10

// recordUserinfo asks an OpenID Connect provider's userinfo endpoint (named by its
// discovery document) for the names of a just signed-in account whose ID token has no
// username or name (zitadel's has neither), and records them with the account's
// settings. It is done once, at sign-in; a failure only leaves the account shown by
// its subject id, so it is logged, not returned.
func (d *Desk) recordUserinfo(ctx context.Context, p profile.Profile, res identity.Result) (AccountName, bool) {
	acc := res.Account
	if !p.IsOIDC() || (acc.Username != "" && acc.Name != "") || res.AccessToken == "" {
		return AccountName{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, userinfoTimeout)
	defer cancel()
	claims, err := d.userinfo(ctx, p, res.AccessToken)
	if err != nil {
		d.log.Warn("userinfo lookup failed; the account keeps the ID token's names", "profile", p.Name, "err", err)
		return AccountName{}, false
	}
	sub, _ := claims["sub"].(string)
	if want := res.IDTokenClaims.StringClaim("sub"); sub == "" || (want != "" && sub != want) {
		// OpenID Connect Core §5.3.2: a userinfo answer about someone else is ignored.
		d.log.Warn("userinfo answered for another subject; ignored", "profile", p.Name)
		return AccountName{}, false
	}
	str := func(k string) string { s, _ := claims[k].(string); return strings.TrimSpace(s) }
	n := AccountName{HomeAccountID: acc.HomeAccountID, Environment: acc.Environment,
		Username: firstOf(str("preferred_username"), str("email")), Name: str("name")}
	if n.Username == "" && n.Name == "" {
		return AccountName{}, false
	}
	err = d.deps.Config.Update(ctx, func(s *Settings) error {
		s.setName(n)
		return nil
	})
	if err != nil {
		d.log.Warn("could not keep the account's names", "err", err)
	}
	return n, true
}

// userinfo fetches p's discovery document, then its userinfo endpoint with token.
func (d *Desk) userinfo(ctx context.Context, p profile.Profile, token string) (map[string]any, error) {
	var doc struct {
		Userinfo string `json:"userinfo_endpoint"`
	}
	if err := d.getJSON(ctx, strings.TrimSuffix(p.Issuer, "/")+"/.well-known/openid-configuration", "", &doc); err != nil {
		return nil, err
	}
	u, err := url.Parse(doc.Userinfo)
	if err != nil || u.Host == "" {
		return nil, errors.New("the discovery document names no userinfo endpoint")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback.IsHost(u.Hostname())) {
		// The access token goes there: never in the clear over a network.
		return nil, fmt.Errorf("userinfo endpoint %s is not https", u.Redacted())
	}
	var claims map[string]any
	if err := d.getJSON(ctx, u.String(), token, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// getJSON GETs rawURL (with a bearer token when given) and decodes its JSON answer.
func (d *Desk) getJSON(ctx context.Context, rawURL, bearer string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserinfoBytes))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered HTTP %d", req.URL.Redacted(), resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w", req.URL.Redacted(), err)
	}
	return nil
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
