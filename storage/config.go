package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/tokendesk/tokendesk/loopback"
)

// ConfigFileName is the app configuration inside the Tokendesk directory.
const ConfigFileName = "config.json"

// DefaultClipboardClearSeconds is how long a copied token stays on the clipboard unless
// the config says otherwise.
const DefaultClipboardClearSeconds = 60

// maxConfigSize bounds what LoadConfig reads: a hand-written config is a few KB, and a
// bound keeps a wrong path (a disk image, /dev/zero) from eating memory.
const maxConfigSize = 1 << 20

// Config is the app configuration, stored as human-editable JSON (config.json; README.md
// documents the format). It never holds secrets: client secrets live in the keyring
// (SetProfileSecret).
type Config struct {
	// Profiles are the configured sign-in providers. When empty, the app uses
	// DefaultProfile.
	Profiles []Profile `json:"profiles"`
	// AccountFavourites are each signed-in account's favourite scopes.
	AccountFavourites []AccountFavourites `json:"account_favourites,omitempty"`
	// AccountNames are names a provider's userinfo endpoint gave for accounts whose
	// ID token had none (the token cache keeps the ID token's, in MSAL's format).
	AccountNames []AccountName `json:"account_names,omitempty"`
	// RefusedRefresh are accounts whose refresh token the provider refused (revoked,
	// expired): their status says so until they sign in again or a refresh succeeds.
	RefusedRefresh []AccountRef `json:"refused_refresh,omitempty"`
	// CredentialHosts map git hosts to the account and scope whose access token
	// "tokendesk credential" (a git credential helper) answers with; they come before
	// the built-in Azure DevOps hosts.
	CredentialHosts []CredentialHost `json:"credential_hosts,omitempty"`
	// ClipboardClearSeconds clears a copied token from the clipboard after this many
	// seconds; 0 never clears. Default DefaultClipboardClearSeconds.
	ClipboardClearSeconds int `json:"clipboard_clear_seconds"`
	// AllowPlaintextCache stores the token cache unencrypted when no OS keyring exists
	// (see WithPlaintext). Off by default; the UI warns while it is on.
	AllowPlaintextCache bool `json:"allow_plaintext_cache,omitempty"`
	// CABundle is the absolute path of a PEM file of CA certificates trusted for the
	// providers' TLS besides the system's (a corporate proxy or a private provider's CA).
	// See LoadCABundle.
	CABundle string `json:"ca_bundle,omitempty"`
}

// Profile is one provider and client registration to sign in with.
type Profile struct {
	// Name identifies the profile in the UI and CLI; unique.
	Name string `json:"name"`
	// Authority is a Microsoft Entra authority, such as
	// "https://login.microsoftonline.com/organizations". Set Authority or Issuer, not both.
	Authority string `json:"authority,omitempty"`
	// Issuer is a generic OpenID Connect issuer (discovery at
	// <issuer>/.well-known/openid-configuration).
	Issuer string `json:"issuer,omitempty"`
	// ClientID is the application (client) id registered with the provider.
	ClientID string `json:"client_id"`
	// RedirectURI is the loopback redirect URI registered for the client; default
	// "http://localhost". Its port, if any, must agree with Port.
	RedirectURI string `json:"redirect_uri,omitempty"`
	// Port fixes the loopback port; 0 picks a free one (RFC 8252 §7.3).
	Port int `json:"port,omitempty"`
	// DefaultScopes are requested at sign-in.
	DefaultScopes []string `json:"default_scopes,omitempty"`
	// FavouriteScopes are offered first when asking for a token.
	FavouriteScopes []string `json:"favourite_scopes,omitempty"`
	// SecretInKeyring says the client needs a secret, kept in the OS keyring under
	// service "tokendesk", user "profile-secret:<name>" (see SetProfileSecret).
	SecretInKeyring bool `json:"secret_in_keyring,omitempty"`
}

// AccountFavourites are the favourite scopes of one account, keyed as the token cache
// keys accounts: home account id plus environment (the authority host).
type AccountFavourites struct {
	HomeAccountID string   `json:"home_account_id"`
	Environment   string   `json:"environment"`
	Scopes        []string `json:"scopes"`
}

// AccountName is what a provider's userinfo endpoint says about an account, keyed as
// AccountFavourites.
type AccountName struct {
	HomeAccountID string `json:"home_account_id"`
	Environment   string `json:"environment"`
	// Username is preferred_username, else email.
	Username string `json:"username,omitempty"`
	// Name is the name claim.
	Name string `json:"name,omitempty"`
}

// CredentialHost says which token git gets for a host.
type CredentialHost struct {
	// Host is git's host (with ":port" when not the default), such as "git.example.com",
	// or "*.example.com" for every subdomain; case-insensitive.
	Host string `json:"host"`
	// Scope is the scope of the access token handed to git as its password.
	Scope string `json:"scope"`
	// Profile names the profile whose account is used; default: the first profile.
	Profile string `json:"profile,omitempty"`
	// Account is the account's key or username; default: the username git asks for when
	// it is an account's, else the profile's only account.
	Account string `json:"account,omitempty"`
}

// AccountRef names an account as AccountFavourites do.
type AccountRef struct {
	HomeAccountID string `json:"home_account_id"`
	Environment   string `json:"environment"`
}

// DefaultProfileName names the built-in profile.
const DefaultProfileName = "Microsoft Entra (default)"

// DefaultProfile is the built-in profile that makes the app useful before any
// configuration: Microsoft Entra work and school accounts through the public client id
// that Azure's own developer tools (Azure CLI) sign in with.
func DefaultProfile() Profile {
	return Profile{
		Name:        DefaultProfileName,
		Authority:   "https://login.microsoftonline.com/organizations",
		ClientID:    "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		RedirectURI: "http://localhost",
		FavouriteScopes: []string{
			"https://graph.microsoft.com/.default",
			"https://management.azure.com/.default",
		},
	}
}

// DefaultConfig is the configuration used when no config.json exists.
func DefaultConfig() *Config {
	return &Config{
		Profiles:              []Profile{DefaultProfile()},
		ClipboardClearSeconds: DefaultClipboardClearSeconds,
	}
}

// Profile returns the profile called name (DefaultProfile when Profiles is empty).
func (c *Config) Profile(name string) (Profile, bool) {
	ps := c.Profiles
	if len(ps) == 0 {
		ps = []Profile{DefaultProfile()}
	}
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// EffectiveProfiles returns a copy of Profiles, or DefaultProfile alone when there are
// none. It is a copy so a caller may rebuild c.Profiles while reading the old list.
func (c *Config) EffectiveProfiles() []Profile {
	if len(c.Profiles) == 0 {
		return []Profile{DefaultProfile()}
	}
	return slices.Clone(c.Profiles)
}

// FavouriteScopes returns the favourite scopes of the account (nil when none).
func (c *Config) FavouriteScopes(homeAccountID, environment string) []string {
	for _, f := range c.AccountFavourites {
		if f.HomeAccountID == homeAccountID && strings.EqualFold(f.Environment, environment) {
			return f.Scopes
		}
	}
	return nil
}

// SetFavouriteScopes replaces the account's favourite scopes; empty scopes remove the
// entry.
func (c *Config) SetFavouriteScopes(homeAccountID, environment string, scopes []string) {
	i := slices.IndexFunc(c.AccountFavourites, func(f AccountFavourites) bool {
		return f.HomeAccountID == homeAccountID && strings.EqualFold(f.Environment, environment)
	})
	switch {
	case len(scopes) == 0 && i >= 0:
		c.AccountFavourites = slices.Delete(c.AccountFavourites, i, i+1)
	case len(scopes) == 0:
	case i >= 0:
		c.AccountFavourites[i].Scopes = slices.Clone(scopes)
	default:
		c.AccountFavourites = append(c.AccountFavourites, AccountFavourites{
			HomeAccountID: homeAccountID, Environment: environment, Scopes: slices.Clone(scopes),
		})
	}
}

// LoadConfig reads dir/config.json. A missing file is not an error: it returns
// DefaultConfig. A bad file returns a *ConfigError naming each bad line and field.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFileName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultConfig(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: reading config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("storage: reading config: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, &ConfigError{File: path, Problems: []Problem{{Message: "file is larger than 1 MiB"}}}
	}
	return parseConfig(path, data)
}

// SaveConfig validates c and writes it to dir/config.json atomically (mode 0600),
// creating dir (0700) when missing. It replaces the whole file, under the config lock;
// to change part of it, use UpdateConfig, which keeps other processes' changes.
func SaveConfig(dir string, c *Config) error {
	if err := ensureDir(dir); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLockTimeout)
	defer cancel()
	unlock, err := lockPath(ctx, filepath.Join(dir, ConfigLockFileName), "config.json")
	if err != nil {
		return err
	}
	defer unlock()
	return saveConfig(dir, c)
}

// saveConfig is SaveConfig for a caller holding the config lock.
func saveConfig(dir string, c *Config) error {
	if c == nil {
		return errors.New("storage: SaveConfig: nil config")
	}
	path := filepath.Join(dir, ConfigFileName)
	if probs := c.validate(); len(probs) > 0 {
		return &ConfigError{File: path, Problems: probs}
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("storage: encoding config: %w", err)
	}
	data = append(data, '\n')
	if err := ensureDir(dir); err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// Validate reports every problem in c, or nil.
func (c *Config) Validate() error {
	if probs := c.validate(); len(probs) > 0 {
		return &ConfigError{File: ConfigFileName, Problems: probs}
	}
	return nil
}

// ConfigError lists what is wrong with a config file, each problem with its line and
// field when known.
type ConfigError struct {
	File     string
	Problems []Problem
}

// Problem is one mistake in a config file.
type Problem struct {
	// Line and Column are 1-based; 0 when unknown (a config built in code).
	Line, Column int
	// Field is the JSON path, such as "profiles[1].authority"; "" for syntax errors.
	Field   string
	Message string
}

// String formats the problem as "line:col: field: message", leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", p.Line, p.Column)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem on its own line, each as file:line:col: field: message.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("storage: invalid config")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(e.File)
		b.WriteString(":")
		b.WriteString(p.String())
	}
	return b.String()
}

// parseConfig decodes and validates data, mapping every problem back to a line.
func parseConfig(path string, data []byte) (*Config, error) {
	fail := func(probs ...Problem) (*Config, error) {
		return nil, &ConfigError{File: path, Problems: probs}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail(Problem{Line: 1, Column: 1, Message: "file is empty; delete it to use the defaults"})
	}
	pos, keys, err := scanPositions(data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			l, col := lineCol(data, int(se.Offset))
			return fail(Problem{Line: l, Column: col, Message: "JSON syntax: " + se.Error()})
		}
		var sa syntaxAt
		if errors.As(err, &sa) {
			l, col := lineCol(data, sa.off)
			return fail(Problem{Line: l, Column: col, Message: "JSON syntax: " + sa.msg})
		}
		l, col := lineCol(data, len(data))
		return fail(Problem{Line: l, Column: col, Message: "JSON syntax: " + err.Error()})
	}
	if probs := checkKeys(data, keys); len(probs) > 0 {
		return fail(probs...)
	}
	c := &Config{ClipboardClearSeconds: DefaultClipboardClearSeconds}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			l, col := lineCol(data, int(te.Offset))
			field := te.Field
			if p, off, ok := fieldAt(pos, te.Field, int(te.Offset)); ok {
				field = p
				l, col = lineCol(data, off)
			}
			return fail(Problem{Line: l, Column: col, Field: field,
				Message: fmt.Sprintf("expected %s, found JSON %s", typeName(te.Type), te.Value)})
		}
		return fail(Problem{Message: err.Error()})
	}
	probs := c.validate()
	for i := range probs {
		if off, ok := lookupPos(pos, probs[i].Field); ok {
			probs[i].Line, probs[i].Column = lineCol(data, off)
		}
	}
	if len(probs) > 0 {
		return fail(probs...)
	}
	return c, nil
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list [...]"
	case reflect.Struct:
		return "an object {...}"
	}
	return t.String()
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// fieldAt turns encoding/json's index-free field name ("profiles.port") into the path
// of the occurrence that failed ("profiles[1].port"): the last one starting before off.
func fieldAt(pos map[string]int, field string, off int) (string, int, bool) {
	best, bestOff := "", -1
	if field == "" {
		return "", 0, false
	}
	for p, o := range pos {
		if o <= off && o > bestOff && strings.ReplaceAll(stripIndices(p), "[]", "") == field {
			best, bestOff = p, o
		}
	}
	return best, bestOff, bestOff >= 0
}

// syntaxAt is a syntax problem found by scanPositions itself.
type syntaxAt struct {
	off int
	msg string
}

func (e syntaxAt) Error() string { return e.msg }

// lookupPos finds where field is written or, for a missing field, where the object
// that lacks it starts.
func lookupPos(pos map[string]int, field string) (int, bool) {
	for {
		if off, ok := pos[field]; ok {
			return off, true
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			off, ok := pos[""]
			return off, ok
		}
		field = field[:i]
	}
}

// keyAt is an object key seen while scanning: its path and offset.
type keyAt struct {
	parent, name string
	off          int
}

// maxConfigDepth bounds nesting: the format is three levels deep, and a bound keeps a
// hostile file from recursing without end.
const maxConfigDepth = 16

// scanPositions walks the JSON tokens and returns the offset of every field (its key)
// and array element, by path ("profiles[1].name"), plus every object key.
func scanPositions(data []byte) (map[string]int, []keyAt, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	pos := map[string]int{}
	var keys []keyAt
	skip := func() int {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
			off++
		}
		return off
	}
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > maxConfigDepth {
			return fmt.Errorf("nested deeper than %d levels at %s", maxConfigDepth, path)
		}
		if _, ok := pos[path]; !ok {
			pos[path] = skip()
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				off := skip()
				k, err := dec.Token()
				if err != nil {
					return err
				}
				name, _ := k.(string)
				child := name
				if path != "" {
					child = path + "." + name
				}
				keys = append(keys, keyAt{parent: path, name: name, off: off})
				pos[child] = off
				if err := walk(child, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		return err
	}
	if err := walk("", 0); err != nil {
		return nil, nil, err
	}
	off := skip()
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, syntaxAt{off: off, msg: "unexpected data after the top-level object"}
	}
	return pos, keys, nil
}

// schema lists the allowed keys of each object, by parent path with indices removed.
var schema = map[string]map[string]bool{
	"":                     jsonFields(reflect.TypeFor[Config]()),
	"profiles[]":           jsonFields(reflect.TypeFor[Profile]()),
	"account_favourites[]": jsonFields(reflect.TypeFor[AccountFavourites]()),
	"account_names[]":      jsonFields(reflect.TypeFor[AccountName]()),
	"refused_refresh[]":    jsonFields(reflect.TypeFor[AccountRef]()),
	"credential_hosts[]":   jsonFields(reflect.TypeFor[CredentialHost]()),
}

func jsonFields(t reflect.Type) map[string]bool {
	m := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}

// checkKeys reports unknown and duplicate keys: json.Decoder names unknown fields
// without a position, and silently lets a repeated key win.
func checkKeys(data []byte, keys []keyAt) []Problem {
	var probs []Problem
	seen := map[string]bool{}
	for _, k := range keys {
		field := k.name
		if k.parent != "" {
			field = k.parent + "." + k.name
		}
		l, col := lineCol(data, k.off)
		if seen[field] {
			probs = append(probs, Problem{Line: l, Column: col, Field: field, Message: "field appears twice"})
			continue
		}
		seen[field] = true
		allowed, known := schema[stripIndices(k.parent)]
		if !known || allowed[k.name] {
			continue
		}
		msg := fmt.Sprintf("unknown field %q", k.name)
		if strings.Contains(strings.ToLower(k.name), "secret") {
			msg += "; client secrets never go in this file: set secret_in_keyring and " +
				"enter the secret in Tokendesk, which keeps it in the OS keyring"
		} else if s := suggest(k.name, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		probs = append(probs, Problem{Line: l, Column: col, Field: field, Message: msg})
	}
	return probs
}

func stripIndices(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		b.WriteByte(path[i])
		if path[i] == '[' {
			for i+1 < len(path) && path[i+1] != ']' {
				i++
			}
		}
	}
	return b.String()
}

// suggest returns the allowed name closest to name when it is a likely typo.
func suggest(name string, allowed map[string]bool) string {
	best, bestD := "", 3
	for a := range allowed {
		if d := editDistance(strings.ToLower(name), a); d < bestD || (d == bestD && best != "" && a < best) {
			best, bestD = a, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// validate checks the meaning of c; Field paths match scanPositions' so parseConfig can
// add lines.
func (c *Config) validate() []Problem {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.ClipboardClearSeconds < 0 || c.ClipboardClearSeconds > 86400 {
		add("clipboard_clear_seconds", "must be between 0 (never clear) and 86400, got %d", c.ClipboardClearSeconds)
	}
	if c.CABundle != "" && !filepath.IsAbs(c.CABundle) {
		add("ca_bundle", "must be an absolute path to a PEM file of CA certificates, got %q", c.CABundle)
	}
	names := map[string]int{}
	for i, p := range c.Profiles {
		f := fmt.Sprintf("profiles[%d]", i)
		name := strings.TrimSpace(p.Name)
		switch {
		case name == "":
			add(f+".name", "a profile needs a name")
		case name != p.Name:
			add(f+".name", "must not start or end with spaces")
		}
		if j, dup := names[strings.ToLower(name)]; dup && name != "" {
			add(f+".name", "duplicate profile name %q (also profiles[%d])", p.Name, j)
		} else {
			names[strings.ToLower(name)] = i
		}
		switch {
		case p.Authority != "" && p.Issuer != "":
			add(f+".issuer", "set either authority (Microsoft Entra) or issuer (any OpenID provider), not both")
		case p.Authority == "" && p.Issuer == "":
			add(f, "set authority (Microsoft Entra, such as https://login.microsoftonline.com/organizations) "+
				"or issuer (any OpenID provider)")
		case p.Authority != "":
			if msg := checkProviderURL(p.Authority); msg != "" {
				add(f+".authority", "%s", msg)
			}
		default:
			if msg := checkProviderURL(p.Issuer); msg != "" {
				add(f+".issuer", "%s", msg)
			}
		}
		if strings.TrimSpace(p.ClientID) == "" {
			add(f+".client_id", "missing client id (the application id registered with the provider)")
		} else if strings.ContainsAny(p.ClientID, " \t\r\n") {
			add(f+".client_id", "must not contain spaces")
		}
		if p.Port < 0 || p.Port > 65535 {
			add(f+".port", "must be between 0 (any free port) and 65535, got %d", p.Port)
		}
		if p.RedirectURI != "" {
			if msg := checkRedirect(p.RedirectURI, p.Port); msg != "" {
				add(f+".redirect_uri", "%s", msg)
			}
		}
		checkScopes(f+".default_scopes", p.DefaultScopes, add)
		checkScopes(f+".favourite_scopes", p.FavouriteScopes, add)
	}
	accounts := map[string]int{}
	for i, a := range c.AccountFavourites {
		f := fmt.Sprintf("account_favourites[%d]", i)
		if a.HomeAccountID == "" {
			add(f+".home_account_id", "missing home account id")
		}
		if a.Environment == "" {
			add(f+".environment", "missing environment (the authority host, such as login.microsoftonline.com)")
		}
		k := a.HomeAccountID + "\x00" + strings.ToLower(a.Environment)
		if j, dup := accounts[k]; dup {
			add(f, "duplicate account (also account_favourites[%d])", j)
		} else {
			accounts[k] = i
		}
		checkScopes(f+".scopes", a.Scopes, add)
	}
	for i, h := range c.CredentialHosts {
		f := fmt.Sprintf("credential_hosts[%d]", i)
		host := strings.TrimPrefix(h.Host, "*.")
		if host == "" || strings.ContainsAny(host, "/ \t\r\n@*") {
			add(f+".host", "a git host such as \"git.example.com\", \"git.example.com:8443\" or \"*.example.com\", got %q", h.Host)
		}
		if h.Scope == "" {
			add(f+".scope", "missing scope (the scope of the token git gets, such as \"499b84ac-1321-427f-aa17-267ca6975798/.default\")")
		} else {
			checkScopes(f+".scope", []string{h.Scope}, func(_, format string, args ...any) { add(f+".scope", format, args...) })
		}
		if h.Profile != "" {
			if _, ok := names[strings.ToLower(h.Profile)]; !ok && !(len(c.Profiles) == 0 && h.Profile == DefaultProfileName) {
				add(f+".profile", "no profile is named %q", h.Profile)
			}
		}
	}
	return probs
}

func checkScopes(field string, scopes []string, add func(string, string, ...any)) {
	for i, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			add(fmt.Sprintf("%s[%d]", field, i), "a scope is one word without spaces or quotes, got %q", s)
		}
	}
}

// checkProviderURL accepts https URLs, and http only on a loopback host (a test provider
// on this machine): tokens must not cross a network in the clear.
func checkProviderURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Sprintf("%q is not an absolute URL such as https://login.example.com/tenant", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("%q must not have a query, fragment or user info", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback.IsHost(u.Hostname()):
	default:
		return fmt.Sprintf("%q must use https (http only for localhost)", raw)
	}
	return ""
}

// checkRedirect accepts the redirect URIs the sign-in listener can serve
// (loopback.CheckRedirectURI: RFC 8252 §7.3 on 127.0.0.1, [::1] or localhost) whose
// port, if any, agrees with the profile's port.
func checkRedirect(raw string, port int) string {
	if err := loopback.CheckRedirectURI(raw); err != nil {
		return fmt.Sprintf("%v: it must be the loopback URL registered at the provider, such as http://localhost, http://127.0.0.1:8400 or http://localhost/auth/callback", err)
	}
	u, _ := url.Parse(raw) // CheckRedirectURI parsed it
	if ps := u.Port(); ps != "" && port != 0 {
		if n, _ := strconv.Atoi(ps); n != port {
			return fmt.Sprintf("port %d in %q disagrees with port %d", n, raw, port)
		}
	}
	return ""
}

// SetProfileSecret stores a profile's client secret in the keyring (service
// "tokendesk", user "profile-secret:<name>"), never in config.json.
func SetProfileSecret(kr Keyring, profile, secret string) error {
	if profile == "" || secret == "" {
		return errors.New("storage: SetProfileSecret needs a profile name and a secret")
	}
	return kr.Set(KeyringService, profileSecretPrefix+profile, secret)
}

// ProfileSecret returns the profile's client secret from the keyring; the error matches
// ErrNotFound when none is stored.
func ProfileSecret(kr Keyring, profile string) (string, error) {
	return kr.Get(KeyringService, profileSecretPrefix+profile)
}

// DeleteProfileSecret removes the profile's client secret; deleting a missing one is
// not an error.
func DeleteProfileSecret(kr Keyring, profile string) error {
	if err := kr.Delete(KeyringService, profileSecretPrefix+profile); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
