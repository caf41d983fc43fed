package identity

// Tests of silent acquisition when the cached access token does not do: the refresh
// through the account's (or its family's) refresh tokens.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSilentRefresh(t *testing.T) {
	invalidGrant := &Error{StatusCode: 400, Code: "invalid_grant", Description: "AADSTS50173"}
	serverDown := &Error{StatusCode: 503, Code: "temporarily_unavailable"}
	mismatch := &Error{StatusCode: 400, Code: "invalid_grant", Classification: "client_mismatch"}
	const famClient = "f0f0f0f0-0000-0000-0000-000000000000"
	tests := []struct {
		name string
		seed func(c *TokenCache)
		// answers by refresh token secret; missing = success
		answers    map[string]error
		wantRTs    []string // refresh tokens tried, in order
		wantErr    error
		wantFolded bool // AcquireTokenSilent folds it into ErrInteractionRequired
		wantCached []string
	}{{
		name:       "own RT redeemed, rotated RT stored",
		seed:       func(c *TokenCache) { store(c, userResponse(alice, "", "User.Read", "", "rt-own")) },
		wantRTs:    []string{"rt-own"},
		wantCached: []string{"rt-new"},
	}, {
		name:       "invalid_grant: RT kept, error returned",
		seed:       func(c *TokenCache) { store(c, userResponse(alice, "", "User.Read", "", "rt-own")) },
		answers:    map[string]error{"rt-own": invalidGrant},
		wantRTs:    []string{"rt-own"},
		wantErr:    invalidGrant,
		wantFolded: true,
		wantCached: []string{"rt-own"},
	}, {
		name:       "server error is folded too",
		seed:       func(c *TokenCache) { store(c, userResponse(alice, "", "User.Read", "", "rt-own")) },
		answers:    map[string]error{"rt-own": serverDown},
		wantRTs:    []string{"rt-own"},
		wantErr:    serverDown,
		wantFolded: true,
		wantCached: []string{"rt-own"},
	}, {
		name:    "no RT: nothing cached",
		seed:    func(c *TokenCache) {},
		wantErr: ErrInteractionRequired,
	}, {
		name: "no app metadata: family RT first",
		seed: func(c *TokenCache) {
			r := userResponse(alice, "", "User.Read", "", "rt-fam")
			r.FamilyID = "1"
			storeFor(c, famClient, r)
		},
		wantRTs: []string{"rt-fam"},
		// MSAL Python's update_rt: the family RT that was used gets the new secret in
		// place; the sibling app gets no RT entry of its own.
		wantCached: []string{"rt-new"},
	}, {
		name: "no app metadata: family probe fails, no own RT: nothing cached",
		seed: func(c *TokenCache) {
			r := userResponse(alice, "", "User.Read", "", "rt-fam")
			r.FamilyID = "1"
			storeFor(c, famClient, r)
		},
		answers:    map[string]error{"rt-fam": mismatch},
		wantRTs:    []string{"rt-fam"},
		wantErr:    ErrInteractionRequired,
		wantCached: []string{"rt-fam"},
	}, {
		name: "app in family: family RT fails, falls back to own RT",
		seed: func(c *TokenCache) {
			r := userResponse(alice, "", "User.Read", "", "rt-own")
			r.FamilyID = "1"
			store(c, r)
			r2 := userResponse(alice, "", "User.Read", "", "rt-fam")
			r2.FamilyID = "1"
			r2.ReceivedAt = testNow.Add(10e9) // newer: tried first
			storeFor(c, famClient, r2)
		},
		answers:    map[string]error{"rt-fam": invalidGrant},
		wantRTs:    []string{"rt-fam", "rt-own"},
		wantCached: []string{"rt-fam", "rt-new"},
	}, {
		name: "app not in family: family RT ignored",
		seed: func(c *TokenCache) {
			store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
			r := userResponse(alice, "", "User.Read", "", "rt-fam")
			r.FamilyID = "1"
			storeFor(c, famClient, r)
		},
		wantRTs:    []string{"rt-own"},
		wantCached: []string{"rt-fam", "rt-new"},
	}, {
		name: "another app's non-family RT is never used",
		seed: func(c *TokenCache) {
			storeFor(c, "other-app", userResponse(alice, "", "User.Read", "", "rt-other"))
		},
		wantErr:    ErrInteractionRequired,
		wantCached: []string{"rt-other"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			tt.seed(c)
			sts := &fakeSTS{respond: func(req tokenRequest) (*tokenResponse, error) {
				if err := tt.answers[req.form.Get("refresh_token")]; err != nil {
					return nil, err
				}
				r := userResponse(alice, "", "User.Read Mail.Read", "at-new", "rt-new")
				return r, nil
			}}
			pc := newTestClient(t, c, entraAuthority("organizations"), sts)
			res, err := pc.AcquireTokenSilentWithError(context.Background(), []string{"Mail.Read"}, aliceAccount())
			if tt.wantErr == nil {
				if err != nil || res.AccessToken != "at-new" || res.Source != SourceIdentityProvider {
					t.Fatalf("got %q, %v", res.AccessToken, err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var tried []string
			for _, r := range sts.requests() {
				if r.form.Get("grant_type") != "refresh_token" || r.apiID != APIAcquireTokenSilent ||
					fmt.Sprint(r.scopes) != "[Mail.Read]" || r.authority == nil {
					t.Errorf("request %v %v %v", r.form.Get("grant_type"), r.apiID, r.scopes)
				}
				tried = append(tried, r.form.Get("refresh_token"))
			}
			if fmt.Sprint(tried) != fmt.Sprint(tt.wantRTs) {
				t.Errorf("tried %v, want %v", tried, tt.wantRTs)
			}
			var cached []string
			for _, rt := range cacheJSON(t, c)["RefreshToken"] {
				cached = append(cached, rt["secret"].(string))
			}
			if fmt.Sprint(sorted(cached)) != fmt.Sprint(tt.wantCached) {
				t.Errorf("cached RTs %v, want %v", sorted(cached), tt.wantCached)
			}
			if tt.wantErr != nil {
				_, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount())
				if !errors.Is(err, ErrInteractionRequired) {
					t.Errorf("AcquireTokenSilent err = %v, want it to match ErrInteractionRequired", err)
				}
				var ae *Error
				if tt.wantFolded && (!errors.As(err, &ae) || ae != tt.wantErr) {
					t.Errorf("folded error %v does not unwrap to the server's", err)
				}
			}
		})
	}
}

func storeFor(c *TokenCache, clientID string, r *tokenResponse) {
	if _, err := c.store(storeParams{authority: entraAuthority("organizations"), clientID: clientID, response: r}); err != nil {
		panic(err)
	}
}

func TestSilentRefreshKeepsRemovedAccountRemoved(t *testing.T) {
	// A refresh racing a RemoveAccount must not bring the account back (MSAL Python's
	// skip_account_creation).
	c := NewTokenCache()
	store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
	var pc *PublicClient
	sts := &fakeSTS{respond: func(tokenRequest) (*tokenResponse, error) {
		if err := pc.RemoveAccount(context.Background(), aliceAccount()); err != nil {
			return nil, err
		}
		return userResponse(alice, "", "Mail.Read", "at-new", "rt-new"), nil
	}}
	pc = newTestClient(t, c, entraAuthority("organizations"), sts)
	if _, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount()); err != nil {
		t.Fatal(err)
	}
	if accts, _ := pc.Accounts(context.Background(), ""); accts.Len() != 0 {
		t.Fatalf("accounts after removal: %v", accts)
	}
}

func TestSilentNetworkErrorIsNotFolded(t *testing.T) {
	c := NewTokenCache()
	store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
	netErr := errors.New("dial tcp: connection refused")
	sts := &fakeSTS{respond: func(tokenRequest) (*tokenResponse, error) { return nil, netErr }}
	pc := newTestClient(t, c, entraAuthority("organizations"), sts)
	_, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount())
	if !errors.Is(err, netErr) || errors.Is(err, ErrInteractionRequired) {
		t.Fatalf("err = %v, want the network error, not interaction required", err)
	}
}

// entraStub answers Entra's discovery and token endpoints in-process (nothing is
// sent anywhere), so the silent refresh runs through the real transport.
type entraStub struct {
	t     *testing.T
	token func(form url.Values) (int, map[string]any)
	posts []url.Values
}

func (f *entraStub) RoundTrip(r *http.Request) (*http.Response, error) {
	reply := func(status int, body any) (*http.Response, error) {
		b, _ := json.Marshal(body)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
	}
	base := "https://login.microsoftonline.com/organizations"
	switch {
	case r.Method == http.MethodGet && r.URL.String() == base+"/v2.0/.well-known/openid-configuration":
		return reply(200, map[string]any{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "token_endpoint": base + "/oauth2/v2.0/token",
			"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0", "jwks_uri": base + "/discovery/v2.0/keys",
		})
	case r.Method == http.MethodPost && r.URL.String() == base+"/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		f.posts = append(f.posts, r.PostForm)
		status, body := f.token(r.PostForm)
		return reply(status, body)
	}
	f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	return nil, fmt.Errorf("entraStub: no route for %s", r.URL)
}

func TestSilentRefreshThroughTransport(t *testing.T) {
	c := NewTokenCache()
	store(c, userResponse(alice, "", "User.Read", "", "rt-own"))
	entra := &entraStub{t: t}
	pc, err := NewPublicClient(testClientID, WithTokenCache(c), WithClock(func() time.Time { return testNow }),
		WithAuthority("https://login.microsoftonline.com/organizations"), WithHTTPClient(&http.Client{Transport: entra}))
	if err != nil {
		t.Fatal(err)
	}
	ok := func(form url.Values) (int, map[string]any) {
		claims := alice.claims(alice.utid)
		return 200, map[string]any{
			"token_type": "Bearer", "scope": "Mail.Read openid profile", "expires_in": 3600,
			"access_token": "at-from-endpoint", "refresh_token": "rt-rotated", "id_token": fakeJWT(claims),
			"client_info": base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + alice.uid + `","utid":"` + alice.utid + `"}`)),
		}
	}
	entra.token = ok
	res, err := pc.AcquireTokenSilentWithError(context.Background(), []string{"Mail.Read"}, aliceAccount())
	if err != nil || res.AccessToken != "at-from-endpoint" || res.Source != SourceIdentityProvider {
		t.Fatalf("refresh through the transport: %q, %v", res.AccessToken, err)
	}
	form := entra.posts[0]
	if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt-own" ||
		form.Get("client_info") != "1" || form.Get("client_id") != testClientID {
		t.Fatalf("token request %v", redactForm(form))
	}
	for _, s := range []string{"Mail.Read", "openid", "profile", "offline_access"} {
		if !slices.Contains(strings.Fields(form.Get("scope")), s) {
			t.Errorf("scope %q lacks %s", form.Get("scope"), s)
		}
	}
	// The rotated refresh token replaced the old one; the new access token is a hit.
	var rts []string
	for _, rt := range cacheJSON(t, c)["RefreshToken"] {
		rts = append(rts, rt["secret"].(string))
	}
	if fmt.Sprint(rts) != "[rt-rotated]" {
		t.Fatalf("refresh tokens %v", rts)
	}
	if res, err := pc.AcquireTokenSilent(context.Background(), []string{"Mail.Read"}, aliceAccount()); err != nil || res.Source != SourceCache {
		t.Fatalf("after refresh: %v, %v", res.Source, err)
	}

	// invalid_grant: the server's error comes back and the refresh token stays.
	entra.token = func(url.Values) (int, map[string]any) {
		return 400, map[string]any{"error": "invalid_grant", "error_description": "AADSTS50173: revoked", "error_codes": []int{50173}, "suberror": "bad_token"}
	}
	_, err = pc.AcquireTokenSilentWithError(context.Background(), []string{"Files.Read"}, aliceAccount())
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != "invalid_grant" || !errors.Is(err, ErrInteractionRequired) {
		t.Fatalf("err = %v, want the server's invalid_grant", err)
	}
	if rts := cacheJSON(t, c)["RefreshToken"]; len(rts) != 1 {
		t.Fatalf("refresh token removed after invalid_grant: %v", keys(rts))
	}
}

// redactForm drops secrets from a form before it is printed.
func redactForm(form url.Values) url.Values {
	out := url.Values{}
	for k, v := range form {
		if k == "refresh_token" || k == "client_secret" || k == "code" {
			v = []string{"<redacted>"}
		}
		out[k] = v
	}
	return out
}
