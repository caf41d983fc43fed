package identity

import (
	"encoding/json"
	"maps"
	"slices"
)

// Claims are an ID token's decoded claims (MSAL: the result's id_token_claims),
// read-only. A cached ID token is decoded once and every cache hit shares its claims,
// so Claims hand out values, never the map: what one caller does with them cannot
// change what the next caller sees, and a hit costs no copy.
//
// Values are as encoding/json decodes them: string, float64, bool, nil, []any and
// map[string]any. The zero Claims has no claims.
type Claims struct{ m map[string]any }

// NewClaims returns Claims holding a copy of m (for fakes and tests of code that reads
// a Result): later changes to m do not show.
func NewClaims(m map[string]any) Claims {
	if m == nil {
		return Claims{}
	}
	return Claims{m: cloneClaims(m)}
}

// sharedClaims wraps m without copying it: m must never be written again.
func sharedClaims(m map[string]any) Claims { return Claims{m: m} }

// Len is the number of claims.
func (c Claims) Len() int { return len(c.m) }

// StringClaim returns a string claim, or "" when the claim is absent or not a string.
func (c Claims) StringClaim(name string) string {
	s, _ := c.m[name].(string)
	return s
}

// Lookup returns a claim and whether it is present. Arrays and objects are copies the
// caller may change.
func (c Claims) Lookup(name string) (any, bool) {
	v, ok := c.m[name]
	return cloneClaimValue(v), ok
}

// Names returns the claim names, in no particular order.
func (c Claims) Names() []string {
	return slices.Collect(maps.Keys(c.m))
}

// Map returns every claim in a map the caller owns (nil when there are none).
func (c Claims) Map() map[string]any {
	if c.m == nil {
		return nil
	}
	return cloneClaims(c.m)
}

// MarshalJSON writes the claims as a JSON object (null when there are none).
func (c Claims) MarshalJSON() ([]byte, error) { return json.Marshal(c.m) }

// UnmarshalJSON reads a JSON object of claims (or null).
func (c *Claims) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	c.m = m
	return nil
}

// cloneClaims copies decoded claims deeply enough that a caller's writes cannot
// reach them: the map, and the arrays and objects inside (strings, numbers and bools
// are values already).
func cloneClaims(c map[string]any) map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		out[k] = cloneClaimValue(v)
	}
	return out
}

func cloneClaimValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneClaims(x)
	case []any:
		y := make([]any, len(x))
		for i, e := range x {
			y[i] = cloneClaimValue(e)
		}
		return y
	}
	return v
}
