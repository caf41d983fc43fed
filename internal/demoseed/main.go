// Command demoseed writes a demo Tokendesk profile directory: a config.json with two
// offline demo providers and a token cache (through storage, so encrypted with the key
// in the OS keyring unless -plaintext) holding N fake accounts. Every token in it is
// fake and carries no secret; the accounts exist only to be looked at.
//
// It serves `make screenshots`, the window benchmark (scripts/bench-window.sh) and the
// smoke test's populated profile (TOKENDESK_SMOKE_SEED):
//
//	go run ./internal/demoseed -dir /tmp/profile -n 1000
//
// The providers' issuers are loopback addresses where nothing listens, so the app
// never contacts a real authority while showing the demo: listing falls back to the
// cache alone, and copying a token that is still valid needs no network.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
)

// demoProviders are the offline demo profiles. Port 9 (discard) has no listener on
// a normal machine, so discovery fails at once and the app uses the cache only.
var demoProviders = []profile.Profile{
	{Name: "Contoso (demo)", Issuer: "http://127.0.0.1:9/contoso", ClientID: "tokendesk-demo",
		RedirectURI: "http://127.0.0.1/", FavouriteScopes: []string{"api://contoso/files.read", "api://contoso/admin"}},
	{Name: "Fabrikam (demo)", Issuer: "http://localhost:9/fabrikam", ClientID: "tokendesk-demo",
		RedirectURI: "http://127.0.0.1/", FavouriteScopes: []string{"api://fabrikam/orders"}},
}

var firstNames = []string{"Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Ken", "Radia",
	"Donald", "Margaret", "Niklaus", "Sophie", "Tim", "Hedy", "John", "Katherine"}
var lastNames = []string{"Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Thompson",
	"Perlman", "Knuth", "Hamilton", "Wirth", "Wilson", "Berners-Lee", "Lamarr", "McCarthy", "Johnson"}

func main() {
	dir := flag.String("dir", "", "profile directory to write (as TOKENDESK_HOME)")
	n := flag.Int("n", 12, "number of fake accounts")
	plaintext := flag.Bool("plaintext", false, "store the cache unencrypted (no keyring needed); the app then warns")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "demoseed: -dir is required")
		os.Exit(2)
	}
	if err := seed(context.Background(), *dir, *n, *plaintext, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "demoseed:", err)
		os.Exit(1)
	}
	fmt.Printf("demoseed: %d fake accounts in %s\n", *n, *dir)
}

// seed writes the config and the cache into dir.
func seed(ctx context.Context, dir string, n int, plaintext bool, now time.Time) error {
	cfg := storage.DefaultConfig()
	cfg.Profiles = demoProviders
	cfg.AllowPlaintextCache = plaintext
	if err := storage.SaveConfig(dir, cfg); err != nil {
		return err
	}
	var opts []storage.StoreOption
	var kr storage.Keyring
	if plaintext {
		opts = append(opts, storage.WithPlaintext())
	} else {
		kr = storage.SystemKeyring(storage.DefaultKeyringTimeout)
	}
	store, err := storage.OpenCacheStore(dir, kr, opts...)
	if err != nil {
		return err
	}
	data, err := json.Marshal(demoCache(n, now))
	if err != nil {
		return err
	}
	cache := identity.NewTokenCache(identity.WithCacheHook(store))
	// Write through the hook exactly as the app does: lock and load, change, save.
	if err := store.BeforeAccess(ctx, cache, true); err != nil {
		return err
	}
	derr := cache.Deserialize(data)
	if err := store.AfterAccess(ctx, cache, true, derr == nil); err != nil {
		return err
	}
	return derr
}

type section map[string]map[string]string

// demoCache builds an MSAL unified token cache with n accounts. Account i gets a
// valid access token (2 of 3), an expired one with a refresh token, or nothing.
func demoCache(n int, now time.Time) map[string]section {
	doc := map[string]section{"Account": {}, "AccessToken": {}, "RefreshToken": {}, "IdToken": {}, "AppMetadata": {}}
	epoch := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	for i := 0; i < n; i++ {
		p := demoProviders[i%len(demoProviders)]
		env := strings.ToLower(hostOf(p.Issuer))
		first, last := firstNames[i%len(firstNames)], lastNames[(i*5+i/len(firstNames))%len(lastNames)]
		name := first + " " + last
		if i >= len(firstNames)*len(lastNames) {
			name += " " + strconv.Itoa(i)
		}
		login := strings.ToLower(first + "." + strings.ReplaceAll(last, "-", ""))
		if i >= len(firstNames) {
			login += strconv.Itoa(i)
		}
		org := strings.ToLower(strings.Fields(p.Name)[0])
		username := login + "@" + org + ".example"
		sub := fmt.Sprintf("demo-%04d", i)
		home := sub
		key := func(parts ...string) string { return strings.ToLower(strings.Join(parts, "-")) }

		doc["Account"][key(home, env, "")] = map[string]string{
			"home_account_id": home, "environment": env, "realm": "", "local_account_id": sub,
			"username": username, "name": name, "authority_type": "Generic",
		}
		idt := fakeJWT(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "demo-key"}, map[string]any{
			"iss": p.Issuer, "sub": sub, "aud": p.ClientID, "name": name, "preferred_username": username,
			"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(50 * time.Minute).Unix(),
		})
		doc["IdToken"][key(home, env, "idtoken", p.ClientID, "", "")] = map[string]string{
			"credential_type": "IdToken", "secret": idt, "home_account_id": home, "environment": env,
			"client_id": p.ClientID, "realm": "",
		}
		if i%5 == 4 {
			continue // needs sign-in: the account is known, its tokens are gone
		}
		target := p.FavouriteScopes[0]
		exp := now.Add(time.Duration(20+i%40) * time.Minute)
		if i%5 == 3 {
			exp = now.Add(-2 * time.Hour) // expired, refreshable
		}
		at := fakeJWT(map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "demo-key"}, map[string]any{
			"iss": p.Issuer, "sub": sub, "aud": strings.TrimSuffix(target, "/"+lastSegment(target)),
			"scope": lastSegment(target), "client_id": p.ClientID,
			"iat": exp.Add(-time.Hour).Unix(), "exp": exp.Unix(), "jti": fmt.Sprintf("demo-%d", i),
		})
		doc["AccessToken"][key(home, env, "accesstoken", p.ClientID, "", target)] = map[string]string{
			"credential_type": "AccessToken", "secret": at, "home_account_id": home, "environment": env,
			"client_id": p.ClientID, "realm": "", "target": target, "token_type": "Bearer",
			"cached_at": epoch(exp.Add(-time.Hour)), "expires_on": epoch(exp), "extended_expires_on": epoch(exp),
		}
		doc["RefreshToken"][key(home, env, "refreshtoken", p.ClientID, "", "")] = map[string]string{
			"credential_type": "RefreshToken", "secret": "demo-refresh-token-not-valid-anywhere",
			"home_account_id": home, "environment": env, "client_id": p.ClientID,
		}
		doc["AppMetadata"]["appmetadata-"+env+"-"+p.ClientID] = map[string]string{"client_id": p.ClientID, "environment": env}
	}
	return doc
}

// fakeJWT is a JWT-shaped string whose signature is a placeholder: it decodes for the
// inspector but verifies nowhere.
func fakeJWT(header, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("demo-signature-not-a-real-one"))
}

func hostOf(issuer string) string {
	rest := issuer[strings.Index(issuer, "://")+3:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func lastSegment(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }
