package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestCacheStoreWritesMSALSchema(t *testing.T) {
	c := NewTokenCache()
	resp := userResponse(alice, "", "User.Read Mail.Send profile openid", "at-1", "rt-1")
	resp.RefreshIn = 1800
	resp.FamilyID = "1"
	res := mustStore(t, c, entraAuthority("organizations"), testClientID, resp)
	if !c.HasChanged() {
		t.Fatal("HasChanged = false after store")
	}

	home := alice.home()
	realm := "organizations" // the token endpoint's tenant segment, not the ID token's tid
	got := cacheJSON(t, c)
	want := map[string]map[string]map[string]any{
		"AccessToken": {
			home + "-login.microsoftonline.com-accesstoken-" + testClientID + "-" + realm + "-user.read mail.send profile openid": {
				"credential_type": "AccessToken", "secret": "at-1", "home_account_id": home,
				"environment": testHost, "client_id": testClientID, "realm": realm,
				"target": "User.Read Mail.Send profile openid", "token_type": "Bearer",
				"cached_at": "1800000000", "expires_on": "1800003600", "extended_expires_on": "1800007200",
				"refresh_on": "1800001800",
			},
		},
		"RefreshToken": {
			home + "-login.microsoftonline.com-refreshtoken-" + testClientID + "--user.read mail.send profile openid": {
				"credential_type": "RefreshToken", "secret": "rt-1", "home_account_id": home,
				"environment": testHost, "client_id": testClientID,
				"target": "User.Read Mail.Send profile openid", "last_modification_time": "1800000000",
				"family_id": "1",
			},
		},
		"IdToken": {
			home + "-login.microsoftonline.com-idtoken-" + testClientID + "-" + realm + "-": {
				"credential_type": "IdToken", "secret": resp.IDToken, "home_account_id": home,
				"environment": testHost, "client_id": testClientID, "realm": realm,
			},
		},
		"Account": {
			home + "-login.microsoftonline.com-" + realm: {
				"home_account_id": home, "environment": testHost, "realm": realm,
				"local_account_id": alice.uid, "username": "Alice@Contoso.com", "name": "Name " + alice.uid,
				"authority_type": "MSSTS",
			},
		},
		"AppMetadata": {
			"appmetadata-login.microsoftonline.com-" + testClientID: {
				"client_id": testClientID, "environment": testHost, "family_id": "1",
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("cache after store:\n%s", gb)
	}
	if res.Source != SourceIdentityProvider || res.AccessToken != "at-1" || res.Account.HomeAccountID != home ||
		!reflect.DeepEqual(res.Scopes, []string{"User.Read", "Mail.Send", "profile", "openid"}) ||
		res.ExpiresOn.Unix() != 1800003600 || res.RefreshOn.Unix() != 1800001800 {
		t.Fatalf("Result = %+v", res)
	}
}

func TestCacheStoreAccountVariants(t *testing.T) {
	adfs := &authorityInfo{Host: "adfs.contoso.com", Tenant: "adfs", Type: authorityTypeADFS}
	oidc := &authorityInfo{Host: "127.0.0.1:9999", Type: authorityTypeGeneric}
	tests := []struct {
		name      string
		info      *authorityInfo
		resp      *tokenResponse
		appOnly   bool
		wantHome  any // string, or nil for JSON null
		wantAcct  map[string]any
		wantKinds []string
	}{{
		name: "generic OIDC: home is sub, username from email",
		info: oidc,
		resp: &tokenResponse{AccessToken: "a", IDToken: "x.y.z", Scope: "api", ExpiresIn: 60,
			IDTokenClaims: map[string]any{"sub": "Sub-1", "email": "e@example.org"}, ReceivedAt: testNow},
		wantHome: "Sub-1",
		wantAcct: map[string]any{"home_account_id": "Sub-1", "environment": "127.0.0.1:9999", "realm": "",
			"local_account_id": "Sub-1", "username": "e@example.org", "authority_type": "Generic"},
		wantKinds: []string{"AccessToken", "Account", "AppMetadata", "IdToken"},
	}, {
		name: "AD FS: upn, realm from authority",
		info: adfs,
		resp: &tokenResponse{AccessToken: "a", RefreshToken: "r", IDToken: "x.y.z", ExpiresIn: 60,
			IDTokenClaims: map[string]any{"sub": "s", "upn": "u@contoso.com", "tid": "ignored"}, ReceivedAt: testNow},
		wantHome: "s",
		wantAcct: map[string]any{"home_account_id": "s", "environment": "adfs.contoso.com", "realm": "adfs",
			"local_account_id": "s", "username": "u@contoso.com", "authority_type": "ADFS"},
		wantKinds: []string{"AccessToken", "Account", "AppMetadata", "IdToken", "RefreshToken"},
	}, {
		name:      "app-only: no account, home_account_id null as MSAL Python",
		info:      entraAuthority("contoso.onmicrosoft.com"),
		resp:      &tokenResponse{AccessToken: "a", ExpiresIn: 60, ReceivedAt: testNow},
		appOnly:   true,
		wantHome:  nil,
		wantKinds: []string{"AccessToken", "AppMetadata"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			if _, err := c.store(storeParams{authority: tt.info, clientID: testClientID, requestedScopes: []string{"s1"}, response: tt.resp, appOnly: tt.appOnly}); err != nil {
				t.Fatal(err)
			}
			got := cacheJSON(t, c)
			var kinds []string
			for k, sec := range got {
				if len(sec) > 0 {
					kinds = append(kinds, k)
				}
			}
			if fmt.Sprint(sorted(kinds)) != fmt.Sprint(tt.wantKinds) {
				t.Fatalf("sections = %v, want %v", sorted(kinds), tt.wantKinds)
			}
			for key, at := range got["AccessToken"] {
				if at["home_account_id"] != tt.wantHome {
					t.Errorf("AT home_account_id = %#v, want %#v", at["home_account_id"], tt.wantHome)
				}
				if tt.appOnly && !strings.HasPrefix(key, "-") {
					t.Errorf("app-only AT key %q has an account part", key)
				}
				if tt.resp.Scope == "" && at["target"] != "s1" {
					t.Errorf("target = %v, want the requested scopes", at["target"])
				}
			}
			for _, a := range got["Account"] {
				if !reflect.DeepEqual(a, tt.wantAcct) {
					t.Errorf("Account = %v\nwant %v", a, tt.wantAcct)
				}
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestCacheStoreReplacesNearDuplicates(t *testing.T) {
	// A cache as MSAL Go (and a careless writer) leaves it: keys in other case, the
	// refresh token keyed without realm and target, the ID token without the trailing
	// "-", app metadata in lower case.
	home, realm := alice.home(), alice.utid
	cid := strings.ToUpper(testClientID)
	seed := fmt.Sprintf(`{
 "AccessToken": {"%[1]s-LOGIN.microsoftonline.com-AccessToken-%[3]s-%[2]s-user.read": {"credential_type":"AccessToken","secret":"old","home_account_id":"%[1]s","environment":"login.microsoftonline.com","client_id":"%[3]s","realm":"%[2]s","target":"User.Read","cached_at":"1","expires_on":"2","extended_expires_on":"2","x_keep":1}},
 "RefreshToken": {"%[1]s-login.microsoftonline.com-refreshtoken-%[4]s": {"credential_type":"RefreshToken","secret":"old","home_account_id":"%[1]s","environment":"login.microsoftonline.com","client_id":"%[4]s"},
                  "%[1]s-login.microsoftonline.com-refreshtoken-other-client--": {"credential_type":"RefreshToken","secret":"other","home_account_id":"%[1]s","environment":"login.microsoftonline.com","client_id":"other-client"}},
 "IdToken": {"%[1]s-login.microsoftonline.com-idtoken-%[4]s-%[2]s": {"credential_type":"IdToken","secret":"old","home_account_id":"%[1]s","environment":"login.microsoftonline.com","client_id":"%[4]s","realm":"%[2]s"}},
 "Account": {"%[1]s-LOGIN.MICROSOFTONLINE.COM-%[2]s": {"home_account_id":"%[1]s","environment":"login.microsoftonline.com","realm":"%[2]s","authority_type":"MSSTS","username":"old","local_account_id":"x","client_info":"keep-me"}},
 "AppMetadata": {"appmetadata-login.microsoftonline.com-%[3]s": {"client_id":"%[3]s","environment":"login.microsoftonline.com","family_id":""}}
}`, home, realm, cid, testClientID)
	c := NewTokenCache()
	if err := c.Deserialize([]byte(seed)); err != nil {
		t.Fatal(err)
	}
	mustStore(t, c, entraAuthority(realm), testClientID, userResponse(alice, "", "User.Read", "new-at", "new-rt"))

	got := cacheJSON(t, c)
	for sec, want := range map[string]int{"AccessToken": 1, "RefreshToken": 2, "IdToken": 1, "Account": 1, "AppMetadata": 1} {
		if len(got[sec]) != want {
			t.Errorf("%s has %d entries, want %d: %v", sec, len(got[sec]), want, keys(got[sec]))
		}
	}
	for sec, entries := range got {
		for key, e := range entries {
			if e["secret"] == "old" {
				t.Errorf("%s %q: the superseded entry survived", sec, key)
			}
			if sec != "AppMetadata" && key != strings.ToLower(key) {
				t.Errorf("%s key %q is not lower-cased", sec, key)
			}
		}
	}
	if got["RefreshToken"][home+"-login.microsoftonline.com-refreshtoken-other-client--"] == nil {
		t.Error("another client's refresh token was removed")
	}
	for _, a := range got["Account"] {
		if a["client_info"] != "keep-me" {
			t.Errorf("unknown field of the replaced account lost: %v", a)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func TestCacheStoreReplacesAccessTokensSharingAScope(t *testing.T) {
	c := NewTokenCache()
	info := entraAuthority("organizations")
	mustStore(t, c, info, testClientID, userResponse(alice, "", "User.Read Mail.Read openid profile", "at-1", "rt"))
	mustStore(t, c, info, testClientID, userResponse(alice, "", "Files.Read openid profile", "at-2", "rt"))
	mustStore(t, c, entraAuthority("other-tenant"), testClientID, userResponse(alice, "other-tenant", "Mail.Read", "at-3", "rt"))
	mustStore(t, c, info, "other-client", userResponse(alice, "", "mail.read user.read", "at-4", "rt"))
	mustStore(t, c, info, testClientID, userResponse(alice, "", "Calendars.Read openid profile", "at-5", "rt"))
	// Shares at-1's scopes, in another order and case: at-1 is superseded.
	mustStore(t, c, info, testClientID, userResponse(alice, "", "profile openid mail.read USER.READ email", "at-6", "rt"))

	var secrets []string
	for _, at := range cacheJSON(t, c)["AccessToken"] {
		secrets = append(secrets, at["secret"].(string))
	}
	// at-2 and at-5 overlap at-6 only in "openid profile": they stay (MSAL Python keeps them).
	if want := []string{"at-2", "at-3", "at-4", "at-5", "at-6"}; fmt.Sprint(sorted(secrets)) != fmt.Sprint(want) {
		t.Fatalf("access tokens = %v, want %v (at-6 shares mail.read with at-1 in the same tenant and client)", sorted(secrets), want)
	}
	// A refresh for one of at-6's scopes replaces it, though it comes back narrower.
	mustStore(t, c, info, testClientID, userResponse(alice, "", "Mail.Read openid", "at-7", "rt"))
	secrets = nil
	for _, at := range cacheJSON(t, c)["AccessToken"] {
		secrets = append(secrets, at["secret"].(string))
	}
	if want := []string{"at-2", "at-3", "at-4", "at-5", "at-7"}; fmt.Sprint(sorted(secrets)) != fmt.Sprint(want) {
		t.Fatalf("access tokens = %v, want %v", sorted(secrets), want)
	}
}

func TestCacheDeserializeBadInput(t *testing.T) {
	good := `{"AccessToken": {"k": {"secret": "s", "expires_on": "1"}}}`
	tests := []struct {
		name, data string
		wantErr    string // "" means it must load
	}{
		{"empty is an empty cache", "", ""},
		{"whitespace is an empty cache", " \n ", ""},
		{"good", good, ""},
		{"truncated", good[:len(good)/2], "unexpected end"},
		{"truncated string", `{"AccessToken": {"k": {"secret": "s`, "unexpected end"},
		{"not an object", `[1,2]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"section of wrong type", `{"AccessToken": []}`, "section AccessToken is not a JSON object"},
		{"entry of wrong type", `{"Account": {"k": "v"}}`, `Account entry "k" is not a JSON object`},
		{"known field of wrong type", `{"AccessToken": {"k": {"secret": 42}}}`, "secret must be a string"},
		{"known field as object", `{"IdToken": {"k": {"realm": {}}}}`, "realm must be a string"},
		{"trailing data", good + `{}`, "unexpected data after"},
		{"missing comma", `{"AccessToken": {} "Account": {}}`, "want ',' or '}'"},
		{"bad unknown value", `{"Other": {"a": tru}}`, "malformed value"},
		{"control character", "{\"AccessToken\": {\"k\": {\"secret\": \"a\x01b\"}}}", "control character"},
		{"bad escape", `{"AccessToken": {"k": {"secret": "\q"}}}`, "bad string"},
		{"unknown section kept", `{"Future": {"x": [1, {"y": null}]}, "AccessToken": {}}`, ""},
		{"huge numbers kept", `{"Other": 1e999999, "AccessToken": {"k": {"expires_on": "999999999999999999999999", "n": 123456789012345678901234567890}}}`, ""},
		{"deep nesting in an unknown field", `{"Other": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "malformed value"},
		{"duplicate member keeps the last", `{"AccessToken": {"k": {"secret": "a", "secret": "b"}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			mustStore(t, c, entraAuthority("organizations"), testClientID, userResponse(alice, "", "s", "at", "rt"))
			before, _ := c.Serialize()
			err := c.Deserialize([]byte(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Deserialize: %v", err)
				}
				if _, err := c.Serialize(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Deserialize error = %v, want one containing %q", err, tt.wantErr)
			}
			if after, _ := c.Serialize(); !bytes.Equal(before, after) {
				t.Fatal("a failed Deserialize changed the cache")
			}
		})
	}
}

func TestCacheRoundTripPreservesUnknownAndIsDeterministic(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "cache", "foreign.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewTokenCache()
	if err := c.Deserialize(in); err != nil {
		t.Fatal(err)
	}
	out, err := c.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(in, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("Serialize wrote invalid JSON: %v", err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the cache:\n%s", out)
	}
	c2 := NewTokenCache()
	if err := c2.Deserialize(out); err != nil {
		t.Fatal(err)
	}
	out2, _ := c2.Serialize()
	if !bytes.Equal(out, out2) {
		t.Fatal("Serialize is not deterministic across a round trip")
	}
	// A store keeps what it does not own.
	mustStore(t, c2, entraAuthority("organizations"), testClientID, userResponse(alice, "", "User.Read", "at", "rt"))
	out3, _ := c2.Serialize()
	for _, s := range []string{`"FutureSection"`, `"x_future_field":{`, `"ext_expires_on":"1700003600"`, `"big":123456789012345678901234567890`} {
		if !bytes.Contains(out3, []byte(s)) {
			t.Errorf("after a store, %s is missing", s)
		}
	}
}

func TestCacheHasChanged(t *testing.T) {
	c := NewTokenCache()
	if c.HasChanged() {
		t.Fatal("new cache has changed")
	}
	mustStore(t, c, entraAuthority("organizations"), testClientID, userResponse(alice, "", "s", "at", "rt"))
	if !c.HasChanged() {
		t.Fatal("store did not mark the cache changed")
	}
	b, _ := c.Serialize()
	if c.HasChanged() {
		t.Fatal("Serialize did not clear the flag")
	}
	pc := newTestClient(t, c, entraAuthority("organizations"), nil)
	if _, err := pc.AcquireTokenSilent(context.Background(), []string{"s"}, Account{HomeAccountID: alice.home(), Environment: testHost, Realm: alice.utid}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Accounts(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if c.HasChanged() {
		t.Fatal("a cache hit or a listing marked the cache changed")
	}
	if err := pc.RemoveAccount(context.Background(), Account{HomeAccountID: "nobody", Environment: testHost}); err != nil {
		t.Fatal(err)
	}
	if c.HasChanged() {
		t.Fatal("removing nothing marked the cache changed")
	}
	mustStore(t, c, entraAuthority("organizations"), testClientID, userResponse(alice, "", "s", "at", "rt"))
	if err := c.Deserialize(b); err != nil || c.HasChanged() {
		t.Fatalf("Deserialize: err %v, changed %v", err, c.HasChanged())
	}
}

// recordingHook records the hook calls and checks they are balanced, and that the
// cache lock is not held while the hook runs (it may call Serialize/Deserialize).
type recordingHook struct {
	mu     sync.Mutex
	calls  []string
	depth  int
	failOn string
}

func (h *recordingHook) BeforeAccess(_ context.Context, c *TokenCache, write bool) error {
	if _, err := c.Serialize(); err != nil { // would deadlock if the lock were held
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.depth++
	h.calls = append(h.calls, fmt.Sprintf("before(write=%v)", write))
	if h.failOn == "before" {
		h.depth--
		return errors.New("hook failed")
	}
	return nil
}

func (h *recordingHook) AfterAccess(_ context.Context, c *TokenCache, write, changed bool) error {
	if changed {
		if _, err := c.Serialize(); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.depth--
	h.calls = append(h.calls, fmt.Sprintf("after(write=%v,changed=%v)", write, changed))
	return nil
}

func (h *recordingHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls
	h.calls = nil
	return c
}

func TestCacheHookBracketsEveryAccess(t *testing.T) {
	h := &recordingHook{}
	c := NewTokenCache(WithCacheHook(h))
	info := entraAuthority("organizations")
	sts := &fakeSTS{respond: func(tokenRequest) (*tokenResponse, error) {
		return userResponse(alice, "", "Mail.Read", "at-2", "rt-2"), nil
	}}
	pc := newTestClient(t, c, info, sts)
	acct := Account{HomeAccountID: alice.home(), Environment: testHost, Realm: alice.utid}
	ctx := context.Background()
	read := []string{"before(write=false)", "after(write=false,changed=false)"}
	write := []string{"before(write=true)", "after(write=true,changed=true)"}

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"store", func() error {
			mustStore(t, c, info, testClientID, userResponse(alice, "", "User.Read", "at", "rt"))
			return nil
		}, write},
		{"silent hit", func() error { _, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, acct); return err }, read},
		{"silent refresh: lookup, RT lookup, store", func() error {
			_, err := pc.AcquireTokenSilent(ctx, []string{"Mail.Read"}, acct)
			return err
		}, append(append(append([]string{}, read...), read...), write...)},
		{"accounts", func() error { _, err := pc.Accounts(ctx, ""); return err }, read},
		{"remove account", func() error { return pc.RemoveAccount(ctx, acct) }, write},
		{"remove nothing", func() error { return pc.RemoveAccount(ctx, acct) }, []string{"before(write=true)", "after(write=true,changed=false)"}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := h.take(); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: hook calls %v, want %v", s.name, got, s.want)
		}
		if h.depth != 0 {
			t.Fatalf("%s: unbalanced hook calls", s.name)
		}
	}
	h.failOn = "before"
	if _, err := pc.Accounts(ctx, ""); err == nil || !strings.Contains(err.Error(), "hook failed") {
		t.Fatalf("Accounts with a failing hook: %v", err)
	}
	if _, err := c.store(storeParams{authority: info, clientID: testClientID, response: userResponse(bob, "", "s", "a", "r")}); err == nil {
		t.Fatal("store with a failing hook succeeded")
	}
}

func TestCacheConcurrentSilentAndStore(t *testing.T) {
	c := NewTokenCache()
	info := entraAuthority("organizations")
	users := make([]user, 20)
	for i := range users {
		users[i] = user{fmt.Sprintf("uid%02d", i), alice.utid, fmt.Sprintf("u%02d@contoso.com", i)}
		mustStore(t, c, info, testClientID, userResponse(users[i], "", "User.Read", "at", "rt"))
	}
	sts := &fakeSTS{respond: func(req tokenRequest) (*tokenResponse, error) {
		return userResponse(users[0], "", "Mail.Read", "at-r", "rt-r"), nil
	}}
	pc := newTestClient(t, c, info, sts)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				u := users[(g+i)%len(users)]
				acct := Account{HomeAccountID: u.home(), Environment: testHost, Realm: u.utid}
				switch i % 5 {
				case 0:
					if _, err := c.store(storeParams{authority: info, clientID: testClientID, response: userResponse(u, "", "User.Read", "at", "rt")}); err != nil {
						errs <- err
					}
				case 1:
					if _, err := pc.Accounts(ctx, ""); err != nil {
						errs <- err
					}
				case 2:
					if _, err := c.Serialize(); err != nil {
						errs <- err
					}
				case 3:
					_, _ = pc.AcquireTokenSilent(ctx, []string{"Mail.Read"}, acct)
				default:
					if res, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, acct); err != nil || res.AccessToken != "at" {
						errs <- fmt.Errorf("silent hit: %v %q", err, res.AccessToken)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzDeserialize(f *testing.F) {
	for _, s := range []string{"", "{}", `{"AccessToken":{}}`, `{"AccessToken":{"k":{"secret":"s","expires_on":"1"}},"X":[1,{"a":null}]}`} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "cache", "foreign.json")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewTokenCache()
		if err := c.Deserialize(data); err != nil {
			return
		}
		out, err := c.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out) {
			t.Fatalf("Serialize wrote invalid JSON for %q", data)
		}
		c2 := NewTokenCache()
		if err := c2.Deserialize(out); err != nil {
			t.Fatalf("cannot reload own output: %v", err)
		}
		out2, _ := c2.Serialize()
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip not stable:\n%s\n%s", out, out2)
		}
	})
}

func TestPlainPrefix(t *testing.T) {
	naive := func(s string) int {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return i
			}
		}
		return len(s)
	}
	long := strings.Repeat("eyJ0eXAiOiJKV1QiLCJhbGciOi.-_~ !#$%&'()*+,/:;<=>?@[]^`{|}", 20)
	cases := []string{"", "a", "abcdefgh", long, long + "é", "é" + long}
	for c := 0; c < 256; c++ {
		for _, at := range []int{0, 3, 8, 13} {
			b := []byte(long[:16])
			b[at] = byte(c)
			cases = append(cases, string(b))
		}
	}
	for _, s := range cases {
		if got, want := plainPrefix(s), naive(s); got != want {
			t.Fatalf("plainPrefix(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestCacheStoreOnBehalfOf(t *testing.T) {
	c := NewTokenCache()
	info := entraAuthority("organizations")
	if _, err := c.store(storeParams{authority: info, clientID: testClientID, userAssertionHash: "hash-of-assertion",
		response: userResponse(alice, "", "Downstream.Read", "obo-at", "obo-rt")}); err != nil {
		t.Fatal(err)
	}
	got := cacheJSON(t, c)
	for _, sec := range []string{"AccessToken", "RefreshToken"} {
		for key, e := range got[sec] {
			if e["user_assertion_hash"] != "hash-of-assertion" {
				t.Errorf("%s %q lacks user_assertion_hash", sec, key)
			}
		}
	}
	// A user's own silent call never uses tokens minted for an OBO assertion.
	sts := &fakeSTS{}
	pc := newTestClient(t, c, info, sts)
	_, err := pc.AcquireTokenSilentWithError(context.Background(), []string{"Downstream.Read"}, aliceAccount())
	if !errors.Is(err, ErrInteractionRequired) || len(sts.requests()) != 0 {
		t.Fatalf("silent with only OBO tokens: %v after %d requests; want nothing cached", err, len(sts.requests()))
	}
}

func TestLower(t *testing.T) {
	for c := 0; c < 256; c++ {
		for _, at := range []int{0, 5, 8, 12} {
			b := []byte("0123456789abcdef-xyz")
			b[at] = byte(c)
			s := string(b)
			if got, want := lower(s), strings.ToLower(s); got != want {
				t.Fatalf("lower(%q) = %q, want %q", s, got, want)
			}
		}
	}
}
