package identity

import (
	"strconv"
	"strings"
	"sync/atomic"
)

// This file describes MSAL's unified token-cache schema: its sections, the fields
// Tokendesk understands, and the keys MSAL Python writes. Everything else in a cache
// (fields and sections written by other MSAL apps) is carried verbatim.

// cacheKind is one section of the unified schema.
type cacheKind int

const (
	kindAccessToken cacheKind = iota
	kindAccount
	kindAppMetadata
	kindIDToken
	kindRefreshToken
	numKinds
)

// sectionNames are the JSON section names, indexed by kind, in the (alphabetical)
// order they are serialized.
var sectionNames = [numKinds]string{
	kindAccessToken:  "AccessToken",
	kindAccount:      "Account",
	kindAppMetadata:  "AppMetadata",
	kindIDToken:      "IdToken",
	kindRefreshToken: "RefreshToken",
}

func kindOf(section string) (cacheKind, bool) {
	for k, n := range sectionNames {
		if n == section {
			return cacheKind(k), true
		}
	}
	return 0, false
}

// cacheField is a known field of a cache entry. Known fields are kept as strings, as MSAL
// writes them; the order below is alphabetical so serialization can merge them with
// unknown fields without sorting.
type cacheField int

const (
	fAuthorityType cacheField = iota
	fCachedAt
	fClientID
	fCredentialType
	fEnvironment
	fExpiresOn
	fExtendedExpiresOn
	fFamilyID
	fHomeAccountID
	fKeyID
	fLastModificationTime
	fLocalAccountID
	fName
	fRealm
	fRefreshOn
	fSecret
	fTarget
	fTokenType
	fUserAssertionHash
	fUsername
	numFields
)

var fieldNames = [numFields]string{
	fAuthorityType:        "authority_type",
	fCachedAt:             "cached_at",
	fClientID:             "client_id",
	fCredentialType:       "credential_type",
	fEnvironment:          "environment",
	fExpiresOn:            "expires_on",
	fExtendedExpiresOn:    "extended_expires_on",
	fFamilyID:             "family_id",
	fHomeAccountID:        "home_account_id",
	fKeyID:                "key_id",
	fLastModificationTime: "last_modification_time",
	fLocalAccountID:       "local_account_id",
	fName:                 "name",
	fRealm:                "realm",
	fRefreshOn:            "refresh_on",
	fSecret:               "secret",
	fTarget:               "target",
	fTokenType:            "token_type",
	fUserAssertionHash:    "user_assertion_hash",
	fUsername:             "username",
}

// fieldOf maps a JSON member name to a known field.
func fieldOf(name string) (cacheField, bool) {
	for f := cacheField(0); f < numFields; f++ {
		if len(fieldNames[f]) == len(name) && fieldNames[f] == name {
			return f, true
		}
	}
	return 0, false
}

// rawMember is a member Tokendesk does not interpret: its name and its JSON text.
type rawMember struct {
	name string
	raw  string
}

// cacheEntry is one cache entry: its key as it appears in the serialized cache, its known
// fields, and the unknown ones, plus lower-cased identity parts for the indexes.
type cacheEntry struct {
	cacheKind cacheKind
	key       string
	v         [numFields]string
	set       uint32 // bit f: field f is present
	null      uint32 // bit f: field f is present as JSON null (MSAL Python's None)
	// extra holds unknown members sorted by name, so they survive a write-back.
	extra []rawMember

	// Lower-cased identity, derived by index().
	home, env, client, realm string
	// scopes is an AccessToken's target, lower-cased, for the subset test; scopesOrig
	// keeps the target's case and order for Result.Scopes.
	scopes, scopesOrig []string
	expiresOn          int64
	refreshOn          int64
	lastModified       int64

	// next chains entries of the same index bucket.
	next *cacheEntry
	// claims caches an IdToken's decoded claims (decoded on first use).
	claims atomic.Pointer[map[string]any]
}

func (e *cacheEntry) get(f cacheField) string { return e.v[f] }

func (e *cacheEntry) has(f cacheField) bool { return e.set&(1<<f) != 0 }

func (e *cacheEntry) put(f cacheField, v string) {
	e.v[f] = v
	e.set |= 1 << f
	e.null &^= 1 << f
}

// putNonEmpty puts v unless it is empty (optional fields are omitted, not "").
func (e *cacheEntry) putNonEmpty(f cacheField, v string) {
	if v != "" {
		e.put(f, v)
	}
}

// putNull records f as JSON null, which is how MSAL Python writes a missing
// home_account_id (app-only tokens).
func (e *cacheEntry) putNull(f cacheField) {
	e.v[f] = ""
	e.set |= 1 << f
	e.null |= 1 << f
}

// derive fills the lower-cased identity and parsed numbers from the fields.
func (e *cacheEntry) derive() {
	e.home = lower(e.v[fHomeAccountID])
	e.env = lower(e.v[fEnvironment])
	e.client = lower(e.v[fClientID])
	e.realm = lower(e.v[fRealm])
	e.scopes, e.scopesOrig = nil, nil
	if e.cacheKind == kindAccessToken {
		// One allocation for both views: the original scopes, then lower-cased.
		n := 0
		for range strings.FieldsSeq(e.v[fTarget]) {
			n++
		}
		both := make([]string, 2*n)
		i := 0
		for s := range strings.FieldsSeq(e.v[fTarget]) {
			both[i], both[n+i] = s, lower(s)
			i++
		}
		e.scopesOrig, e.scopes = both[:n:n], both[n:]
		e.expiresOn = parseEpoch(e.v[fExpiresOn])
		e.refreshOn = parseEpoch(e.v[fRefreshOn])
	}
	if e.cacheKind == kindRefreshToken {
		e.lastModified = parseEpoch(e.v[fLastModificationTime])
	}
}

// word8 loads 8 bytes of a string as a little-endian word, for the SWAR scans of
// lower and plainPrefix (the compiler turns it into one load).
func word8(t string) uint64 {
	_ = t[7]
	return uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
		uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
}

// lower is strings.ToLower with a fast path for what cache identities nearly always
// are, already lower-case ASCII, tested 8 bytes at a time.
func lower(s string) string {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := word8(s[i : i+8])
		// Any byte >= 0x80 (non-ASCII), or in 'A'..'Z': (x+0x25) sets the high bit
		// of bytes >= 0x5B, (x+0x3F) of bytes >= 0x41; upper case is the difference.
		if x&hi != 0 || ((x+lo*0x3F)&^(x+lo*0x25))&hi != 0 {
			return strings.ToLower(s)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

// parseEpoch reads MSAL's "epoch seconds as a string". Anything unreadable (a huge
// number, a float, garbage) reads as 0, which makes an access token count as expired
// rather than failing the whole cache.
func parseEpoch(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func epochString(n int64) string { return strconv.FormatInt(n, 10) }

// makeKey builds the key MSAL Python writes for e (token_cache.py key_makers).
func makeKey(e *cacheEntry) string {
	v := &e.v
	var parts []string
	switch e.cacheKind {
	case kindAccessToken:
		parts = []string{v[fHomeAccountID], v[fEnvironment], "accesstoken", v[fClientID], v[fRealm], v[fTarget]}
	case kindRefreshToken:
		// The realm is empty: refresh tokens are cross-tenant in Entra.
		parts = []string{v[fHomeAccountID], v[fEnvironment], "refreshtoken", v[fClientID], "", v[fTarget]}
	case kindIDToken:
		parts = []string{v[fHomeAccountID], v[fEnvironment], "idtoken", v[fClientID], v[fRealm], ""}
	case kindAccount:
		parts = []string{v[fHomeAccountID], v[fEnvironment], v[fRealm]}
	case kindAppMetadata:
		// The only key MSAL does not lower-case.
		return "appmetadata-" + v[fEnvironment] + "-" + v[fClientID]
	}
	return strings.ToLower(strings.Join(parts, "-"))
}

// credentialTypes are the credential_type values MSAL writes, by kind.
var credentialTypes = [numKinds]string{
	kindAccessToken:  "AccessToken",
	kindIDToken:      "IdToken",
	kindRefreshToken: "RefreshToken",
}
