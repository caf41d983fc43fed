package identity

// The two runners of the conformance suite: MSAL Python (testdata/conformance_runner.py,
// a batch of scenarios per process) and identity, each answered by the same script.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// runPythonBatch plays a batch of scenarios through MSAL Python in one process.
func runPythonBatch(t *testing.T, batch []runnerScenario) map[string]confRun {
	t.Helper()
	in, err := json.Marshal(map[string]any{"scenarios": batch})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, peerPython, "testdata/conformance_runner.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "PYTHONHASHSEED=0"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("conformance_runner.py: %v\n%s", err, stderr.String())
	}
	var res struct {
		Version string             `json:"version"`
		Results map[string]confRun `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("conformance_runner.py printed %q: %v", out, err)
	}
	if res.Version != "1.21.0" {
		t.Fatalf("MSAL Python %s, want 1.21.0 (Debian python3-msal): the reference moved", res.Version)
	}
	return res.Results
}

// confTransport is identity's side of FakeHTTP.
type confTransport struct {
	sc       runnerScenario
	mu       sync.Mutex
	requests []confRequest
	replies  []runnerReply
}

func (ct *confTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	rec := confRequest{Method: r.Method, URL: r.URL.Scheme + "://" + r.URL.Host + r.URL.Path, Form: map[string]string{}, Headers: map[string]string{}}
	if v := r.Header.Get("X-AnchorMailbox"); v != "" {
		rec.Headers["x-anchormailbox"] = v
	}
	if r.Method == http.MethodPost {
		form, _ := url.ParseQuery(string(body))
		for k := range form {
			rec.Form[k] = form.Get(k)
		}
		if user, pass, ok := r.BasicAuth(); ok {
			rec.Form["basic_auth"] = user + ":" + pass
		}
	}
	ct.mu.Lock()
	ct.requests = append(ct.requests, rec)
	var status int
	var answer any
	switch {
	case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "openid-configuration"):
		status, answer = 200, ct.sc.Discovery
	case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "discovery/instance"):
		status, answer = 200, ct.sc.Instance
	case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/userrealm/"):
		status, answer = 200, map[string]any{"account_type": "Managed", "ver": "1.0"}
	case r.Method == http.MethodPost && len(ct.replies) > 0:
		status, answer = ct.replies[0].Status, ct.replies[0].Body
		ct.replies = ct.replies[1:]
	case r.Method == http.MethodPost:
		status, answer = 400, map[string]any{"error": "no_reply_scripted"}
	default:
		status, answer = 404, map[string]any{"error": "not_found"}
	}
	ct.mu.Unlock()
	b, _ := json.Marshal(answer)
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// runGo plays one scenario round through identity.
func runGo(t *testing.T, sc runnerScenario) confRun {
	t.Helper()
	ctx := context.Background()
	tr := &confTransport{sc: sc}
	httpClient := &http.Client{Transport: tr}
	cache := NewTokenCache()
	if sc.Cache != "" {
		if err := cache.Deserialize([]byte(sc.Cache)); err != nil {
			t.Fatalf("%s: identity cannot read the cache: %v", sc.Name, err)
		}
	}
	apps := map[string]*ClientApplication{}
	publics := map[string]*PublicClient{}
	confidentials := map[string]*ConfidentialClient{}
	appFor := func(clientID string) *ClientApplication {
		if a := apps[clientID]; a != nil {
			return a
		}
		opts := []Option{WithAuthority(sc.Authority), WithHTTPClient(httpClient), WithTokenCache(cache)}
		if sc.ClientSecret != "" {
			cc, err := NewConfidentialClient(clientID, NewSecretCredential(sc.ClientSecret), opts...)
			if err != nil {
				t.Fatalf("%s: %v", sc.Name, err)
			}
			confidentials[clientID], apps[clientID] = cc, cc.ClientApplication
		} else {
			pc, err := NewPublicClient(clientID, opts...)
			if err != nil {
				t.Fatalf("%s: %v", sc.Name, err)
			}
			publics[clientID], apps[clientID] = pc, pc.ClientApplication
		}
		return apps[clientID]
	}
	outcome := func(res Result, err error) map[string]any {
		var e *Error
		switch {
		case err == nil:
			return map[string]any{"access_token": res.AccessToken}
		case errors.As(err, &e) && e.Code != "":
			return map[string]any{"error": e.Code}
		case errors.Is(err, ErrInteractionRequired):
			return map[string]any{"none": true}
		}
		return map[string]any{"go_error": err.Error()}
	}
	pick := func(a *ClientApplication, username string) (Account, bool) {
		accts, err := a.Accounts(ctx, username)
		if err != nil || accts.Len() == 0 {
			return Account{}, false
		}
		return accts.At(0), true
	}
	var run confRun
	for _, st := range sc.Steps {
		clientID := st.ClientID
		if clientID == "" {
			clientID = sc.ClientID
		}
		a := appFor(clientID)
		tr.mu.Lock()
		tr.requests, tr.replies = nil, slices.Clone(st.Replies)
		tr.mu.Unlock()
		var out map[string]any
		switch st.Do {
		case "acquire_token_by_refresh_token":
			out = outcome(a.AcquireTokenByRefreshToken(ctx, st.RefreshToken, st.Scopes))
		case "acquire_token_silent", "acquire_token_silent_with_error":
			acct, ok := pick(a, st.Username)
			if !ok {
				out = map[string]any{"no_account": true}
				break
			}
			var opts []CallOption
			if st.ForceRefresh {
				opts = append(opts, WithForceRefresh())
			}
			if st.Do == "acquire_token_silent" {
				out = outcome(a.AcquireTokenSilent(ctx, st.Scopes, acct, opts...))
				if out["error"] != nil { // MSAL Python's acquire_token_silent returns None
					out = map[string]any{"none": true}
				}
			} else {
				out = outcome(a.AcquireTokenSilentWithError(ctx, st.Scopes, acct, opts...))
			}
		case "get_accounts":
			accts, err := a.Accounts(ctx, "")
			if err != nil {
				t.Fatalf("%s: Accounts: %v", sc.Name, err)
			}
			list := []any{}
			for _, ac := range accts.All() {
				list = append(list, map[string]any{"home_account_id": ac.HomeAccountID, "environment": ac.Environment,
					"username": ac.Username, "authority_type": ac.AuthorityType})
			}
			out = map[string]any{"accounts": list}
		case "remove_account":
			acct, ok := pick(a, st.Username)
			if ok {
				if err := a.RemoveAccount(ctx, acct); err != nil {
					t.Fatalf("%s: RemoveAccount: %v", sc.Name, err)
				}
			}
			out = map[string]any{"removed": ok}
		case "acquire_token_by_auth_code_flow":
			flow, err := a.InitiateAuthCodeFlow(ctx, st.Scopes, WithRedirectURI(st.RedirectURI))
			if err != nil {
				t.Fatalf("%s: InitiateAuthCodeFlow: %v", sc.Name, err)
			}
			tr.mu.Lock()
			bindNonce(tr.replies, flow.Nonce)
			tr.mu.Unlock()
			resp := url.Values{}
			for k, v := range st.AuthResponse {
				resp.Set(k, v)
			}
			resp.Set("state", flow.State)
			out = outcome(a.AcquireTokenByAuthCodeFlow(ctx, flow, resp))
		case "acquire_token_by_authorization_code":
			out = outcome(a.AcquireTokenByAuthorizationCode(ctx, st.Code, st.Scopes, WithRedirectURI(st.RedirectURI)))
		case "acquire_token_by_username_password":
			out = outcome(a.AcquireTokenByUsernamePassword(ctx, st.Username, st.Password, st.Scopes))
		case "acquire_token_by_device_flow":
			pc := publics[clientID]
			flow, err := pc.InitiateDeviceFlow(ctx, st.Scopes)
			if err != nil {
				out = outcome(Result{}, err)
				break
			}
			out = outcome(pc.AcquireTokenByDeviceFlow(ctx, flow))
		case "acquire_token_for_client":
			out = outcome(confidentials[clientID].AcquireTokenForClient(ctx, st.Scopes))
		default:
			t.Fatalf("%s: unknown step %q", sc.Name, st.Do)
		}
		tr.mu.Lock()
		reqs := tr.requests
		tr.mu.Unlock()
		if reqs == nil {
			reqs = []confRequest{}
		}
		run.Steps = append(run.Steps, confStepResult{Result: out, Requests: reqs})
	}
	b, err := cache.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	run.Cache = string(b)
	return run
}

// bindNonce is conformance_runner.py's bind_nonce.
func bindNonce(replies []runnerReply, nonce string) {
	for i, r := range replies {
		claims, ok := r.Body["id_token_claims_with_nonce"].(map[string]any)
		if !ok {
			continue
		}
		c := map[string]any{"nonce": nonceHash(nonce)}
		for k, v := range claims {
			c[k] = v
		}
		body := map[string]any{}
		for k, v := range r.Body {
			body[k] = v
		}
		delete(body, "id_token_claims_with_nonce")
		body["id_token"] = fakeJWTSorted(c)
		replies[i].Body = body
	}
}
