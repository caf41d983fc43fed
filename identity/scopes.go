package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// reservedScopes are the OpenID scopes MSAL adds to every user request, so the
// caller always gets an ID token (openid, profile) and a refresh token (offline_access).
var reservedScopes = []string{"openid", "profile", "offline_access"}

// checkExcludeScopes rejects exclude lists MSAL rejects: without "openid" there is no
// ID token, and without it no account for the cache.
func checkExcludeScopes(exclude []string) error {
	for _, s := range exclude {
		if s == "openid" {
			return errors.New(`identity: WithExcludeScopes cannot exclude "openid"`)
		}
	}
	return nil
}

// decorateScopes returns scopes plus the reserved ones, minus exclude_scopes, without
// duplicates and in a stable order (the caller's first). Unlike MSAL Python, passing a
// reserved scope is not an error: it is simply not repeated.
func decorateScopes(scopes, exclude []string) []string {
	out := make([]string, 0, len(scopes)+len(reservedScopes))
	seen := make(map[string]bool, len(scopes)+len(reservedScopes))
	for _, s := range exclude {
		seen[s] = true
	}
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range scopes {
		add(s)
	}
	for _, s := range reservedScopes {
		add(s)
	}
	return out
}

// isReservedScope reports whether s is one MSAL adds by itself.
func isReservedScope(s string) bool {
	for _, r := range reservedScopes {
		if s == r {
			return true
		}
	}
	return false
}

// scopeSubset reports whether every scope of want is in have, ignoring reserved scopes
// (they were added by us, not asked for by the caller).
func scopeSubset(want, have []string) bool {
	set := make(map[string]bool, len(have))
	for _, s := range have {
		set[s] = true
	}
	for _, s := range want {
		if !set[s] && !isReservedScope(s) {
			return false
		}
	}
	return true
}

// mergeClaims folds client capabilities into the caller's claims challenge, as
// {"access_token":{"xms_cc":{"values":[...]}}}: Entra reads capabilities only from the
// claims parameter. Without capabilities the challenge passes through untouched.
func mergeClaims(capabilities []string, challenge string) (string, error) {
	if len(capabilities) == 0 {
		return challenge, nil
	}
	claims := map[string]any{}
	if strings.TrimSpace(challenge) != "" {
		if err := json.Unmarshal([]byte(challenge), &claims); err != nil {
			return "", fmt.Errorf("identity: claims challenge is not a JSON object: %w", err)
		}
		if claims == nil {
			claims = map[string]any{}
		}
	}
	at, _ := claims["access_token"].(map[string]any)
	if at == nil {
		at = map[string]any{}
	}
	at["xms_cc"] = map[string]any{"values": capabilities}
	claims["access_token"] = at
	b, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("identity: claims: %w", err)
	}
	return string(b), nil
}
