package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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
