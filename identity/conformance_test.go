package identity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The differential conformance suite: every scenario in testdata/conformance/ is played
// through MSAL Python 1.21 (testdata/conformance_runner.py, offline) and through
// identity, each with an HTTP client answering from the same script, and the two are
// compared: what each step returned (token, error, nothing, hit or miss), the token
// requests sent (method, URL, form fields, X-AnchorMailbox) and the cache left behind
// (every key and field; timestamps as offsets). A difference fails the test unless
// CONFORMANCE.md names it (see acceptedDifferences).
//
// A scenario with "rounds" crosses caches: for each further round, MSAL Python plays
// it on the cache identity left, and identity on the cache MSAL Python left, and the
// two are compared again. Every cache either side leaves must hold one entry per
// credential.

// confScenario is one testdata/conformance/*.json file.
type confScenario struct {
	Name        string `json:"-"`
	Description string `json:"description"`
	// Authority is what both sides are configured with; PythonAuthority, when set, is
	// what MSAL Python 1.21 gets instead (it cannot parse some forms, see CONFORMANCE.md).
	Authority       string         `json:"authority"`
	PythonAuthority string         `json:"python_authority"`
	ClientID        string         `json:"client_id"`
	ClientSecret    string         `json:"client_secret"`
	Discovery       map[string]any `json:"discovery"`
	Instance        map[string]any `json:"instance"`
	User            confUser       `json:"user"`
	Steps           []confStep     `json:"steps"`
	Rounds          [][]confStep   `json:"rounds"`
	Accept          []string       `json:"accept"` // difference ids this scenario may show
}

// confUser is who signs in: the ID token's and client_info's contents.
type confUser struct {
	UID        string `json:"uid"`
	UTID       string `json:"utid"`
	Username   string `json:"username"`
	Tenant     string `json:"tid"` // the ID token's tid (default utid)
	Issuer     string `json:"iss"`
	ClientInfo bool   `json:"client_info"`
}

// confStep is one call, named after MSAL Python's method.
type confStep struct {
	Do           string            `json:"do"`
	ClientID     string            `json:"client_id,omitempty"`
	Scopes       []string          `json:"scopes,omitempty"`
	Username     string            `json:"username,omitempty"`
	Password     string            `json:"password,omitempty"`
	RefreshToken string            `json:"refresh_token,omitempty"`
	Code         string            `json:"code,omitempty"`
	RedirectURI  string            `json:"redirect_uri,omitempty"`
	ForceRefresh bool              `json:"force_refresh,omitempty"`
	AuthResponse map[string]string `json:"auth_response,omitempty"`
	// Replies script the answers to this step's POSTs, in order.
	Replies []confReply `json:"replies,omitempty"`
}

// confReply is a scripted answer. A token reply names its tokens; "id_token": true
// makes one for the scenario's user, valid now.
type confReply struct {
	Status int            `json:"status,omitempty"`
	Body   map[string]any `json:"body"`
}

// runnerReply is a materialized reply, as both runners get it.
type runnerReply struct {
	Status int            `json:"status"`
	Body   map[string]any `json:"body"`
}

// runnerStep is a materialized step.
type runnerStep struct {
	confStep
	Replies []runnerReply `json:"replies,omitempty"`
}

// runnerScenario is what conformance_runner.py gets.
type runnerScenario struct {
	Name         string         `json:"name"`
	Authority    string         `json:"authority"`
	ClientID     string         `json:"client_id"`
	ClientSecret string         `json:"client_secret,omitempty"`
	Discovery    map[string]any `json:"discovery"`
	Instance     map[string]any `json:"instance"`
	Cache        string         `json:"cache,omitempty"`
	Steps        []runnerStep   `json:"steps"`
}

// confRequest is one recorded request.
type confRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Form    map[string]string `json:"form"`
	Headers map[string]string `json:"headers"`
}

// confStepResult is what one step returned and sent.
type confStepResult struct {
	Result   map[string]any `json:"result"`
	Requests []confRequest  `json:"requests"`
}

// confRun is one side's play of one round of a scenario.
type confRun struct {
	Steps []confStepResult `json:"steps"`
	Cache string           `json:"cache"`
}

const confEntraInstance = `{"tenant_discovery_endpoint": "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
 "api-version": "1.1", "metadata": [
 {"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
  "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]},
 {"preferred_network": "login.partner.microsoftonline.cn", "preferred_cache": "login.partner.microsoftonline.cn",
  "aliases": ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"]},
 {"preferred_network": "login.microsoftonline.us", "preferred_cache": "login.microsoftonline.us",
  "aliases": ["login.microsoftonline.us", "login.usgovcloudapi.net"]}]}`

func loadConfScenarios(t *testing.T) []*confScenario {
	t.Helper()
	files, err := filepath.Glob("testdata/conformance/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata/conformance: %v", err)
	}
	var out []*confScenario
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := &confScenario{}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		if s.Instance == nil {
			_ = json.Unmarshal([]byte(confEntraInstance), &s.Instance)
		}
		out = append(out, s)
	}
	return out
}

// materialize fills in what depends on the clock: ID tokens valid now, client_info.
func (s *confScenario) materialize(steps []confStep, now time.Time) []runnerStep {
	u := s.User
	tid := u.Tenant
	if tid == "" {
		tid = u.UTID
	}
	iss := u.Issuer
	if iss == "" {
		iss = "https://login.microsoftonline.com/" + tid + "/v2.0"
	}
	out := make([]runnerStep, len(steps))
	for i, st := range steps {
		if st.AuthResponse != nil && u.ClientInfo {
			// Entra sends client_info with the code too (MSAL's X-AnchorMailbox source).
			st.AuthResponse = maps.Clone(st.AuthResponse)
			st.AuthResponse["client_info"] = b64JSON(map[string]any{"uid": u.UID, "utid": u.UTID})
		}
		out[i].confStep = st
		clientID := st.ClientID
		if clientID == "" {
			clientID = s.ClientID
		}
		for _, r := range st.Replies {
			body := map[string]any{}
			for k, v := range r.Body {
				body[k] = v
			}
			status := r.Status
			if status == 0 {
				status = 200
			}
			if status == 200 && body["access_token"] != nil {
				if _, ok := body["token_type"]; !ok {
					body["token_type"] = "Bearer"
				}
				if _, ok := body["expires_in"]; !ok {
					body["expires_in"] = 3600
				}
				if _, ok := body["ext_expires_in"]; !ok {
					body["ext_expires_in"] = body["expires_in"]
				}
			}
			if body["id_token"] == true || body["id_token"] == "with_nonce" {
				claims := map[string]any{
					"aud": clientID, "iss": iss, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 3600,
					"name": "Conformance User", "oid": u.UID, "preferred_username": u.Username,
					"sub": "sub-" + u.UID, "tid": tid, "ver": "2.0",
				}
				if body["id_token"] == "with_nonce" {
					delete(body, "id_token")
					body["id_token_claims_with_nonce"] = claims
				} else {
					body["id_token"] = fakeJWTSorted(claims)
				}
				if u.ClientInfo {
					body["client_info"] = b64JSON(map[string]any{"uid": u.UID, "utid": u.UTID})
				}
			}
			out[i].Replies = append(out[i].Replies, runnerReply{Status: status, Body: body})
		}
	}
	return out
}

// fakeJWTSorted is fakeJWT with the encoding conformance_runner.py uses.
func fakeJWTSorted(claims map[string]any) string {
	return b64JSON(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." + b64JSON(claims) + ".c2ln"
}

func b64JSON(v map[string]any) string {
	b, _ := json.Marshal(v) // encoding/json sorts map keys, as the runner's sort_keys
	return base64.RawURLEncoding.EncodeToString(b)
}

// forRunner materializes steps (and the starting cache) as both runners get them.
func (s *confScenario) forRunner(steps []runnerStep, cache string, python bool) runnerScenario {
	auth := s.Authority
	if python && s.PythonAuthority != "" {
		auth = s.PythonAuthority
	}
	return runnerScenario{Name: s.Name, Authority: auth, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		Discovery: s.Discovery, Instance: s.Instance, Cache: cache, Steps: steps}
}

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

// acceptedDifferences are the differences CONFORMANCE.md names, by id; each
// normalizes both sides so that only that difference disappears.
var acceptedDifferences = map[string]func(py, gov *confNorm){
	// Account entries carry "name" here (for the account list), not in MSAL Python 1.21.
	// (In crossed rounds MSAL Python plays on identity's cache and keeps the field.)
	"account-name": func(py, gov *confNorm) {
		for _, n := range []*confNorm{py, gov} {
			for _, e := range n.cache["Account"] {
				delete(e, "name")
			}
		}
	},
	// MSAL Python 1.21 also sends the device code as "code" on each poll.
	"device-code-as-code": func(py, _ *confNorm) {
		for _, st := range py.steps {
			for _, r := range st.Requests {
				if r.Form["grant_type"] == deviceCodeGrant && r.Form["code"] == r.Form["device_code"] {
					delete(r.Form, "code")
				}
			}
		}
	},
}

// confNorm is one side's run, normalized for comparison.
type confNorm struct {
	steps []confStepResult
	cache map[string]map[string]map[string]any
}

var epochFields = []string{"cached_at", "expires_on", "extended_expires_on", "refresh_on", "last_modification_time"}

// normalize turns timestamps into offsets from cached_at (or "now"), decodes ID tokens
// (the auth code flow's nonce is random on each side), and sorts scope form fields
// (MSAL Python sends a set).
func normalize(t *testing.T, side string, run confRun, now time.Time) *confNorm {
	t.Helper()
	n := &confNorm{steps: run.Steps}
	if err := json.Unmarshal([]byte(run.Cache), &n.cache); err != nil {
		t.Fatalf("%s cache: %v\n%s", side, err, run.Cache)
	}
	for _, sec := range n.cache {
		for _, e := range sec {
			base := int64(0)
			if s, ok := e["cached_at"].(string); ok {
				base, _ = strconv.ParseInt(s, 10, 64)
			}
			for _, f := range epochFields {
				s, ok := e[f].(string)
				if !ok {
					continue
				}
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					continue
				}
				switch {
				case f != "cached_at" && base != 0:
					e[f] = fmt.Sprintf("cached_at%+d", v-base)
				case v >= now.Unix()-120 && v <= time.Now().Unix()+120:
					e[f] = "now"
				}
			}
			if e["credential_type"] == "IdToken" {
				if s, ok := e["secret"].(string); ok {
					claims := decodeJWTPayload(s)
					delete(claims, "nonce")
					b, _ := json.Marshal(claims)
					e["secret"] = "claims:" + string(b)
				}
			}
		}
	}
	for i := range n.steps {
		for j := range n.steps[i].Requests {
			r := &n.steps[i].Requests[j]
			if s, ok := r.Form["scope"]; ok {
				f := strings.Fields(s)
				sort.Strings(f)
				r.Form["scope"] = strings.Join(f, " ")
			}
			if _, ok := r.Form["code_verifier"]; ok {
				r.Form["code_verifier"] = "<random>"
			}
			if r.Form == nil {
				r.Form = map[string]string{}
			}
			if r.Headers == nil {
				r.Headers = map[string]string{}
			}
		}
	}
	return n
}

// tokenRequests keeps the POSTs: GETs (discovery) differ by design, see CONFORMANCE.md.
func tokenRequests(reqs []confRequest) []confRequest {
	out := []confRequest{}
	for _, r := range reqs {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

// compareRuns reports every difference between the two sides.
func compareRuns(py, gov *confNorm) []string {
	var diffs []string
	if len(py.steps) != len(gov.steps) {
		return []string{fmt.Sprintf("steps: MSAL Python played %d, identity %d", len(py.steps), len(gov.steps))}
	}
	for i := range py.steps {
		if !reflect.DeepEqual(jsonRound(py.steps[i].Result), jsonRound(gov.steps[i].Result)) {
			diffs = append(diffs, fmt.Sprintf("step %d result: MSAL Python %v, identity %v", i, py.steps[i].Result, gov.steps[i].Result))
		}
		pr, gr := tokenRequests(py.steps[i].Requests), tokenRequests(gov.steps[i].Requests)
		if len(pr) != len(gr) {
			diffs = append(diffs, fmt.Sprintf("step %d: MSAL Python sent %d token requests %v, identity %d %v", i, len(pr), pr, len(gr), gr))
			continue
		}
		for j := range pr {
			if pr[j].URL != gr[j].URL {
				diffs = append(diffs, fmt.Sprintf("step %d request %d URL: MSAL Python %s, identity %s", i, j, pr[j].URL, gr[j].URL))
			}
			for _, k := range unionKeys(pr[j].Form, gr[j].Form) {
				if pv, gv := pr[j].Form[k], gr[j].Form[k]; pv != gv {
					diffs = append(diffs, fmt.Sprintf("step %d request %d form %s: MSAL Python %q, identity %q", i, j, k, pv, gv))
				}
			}
			for _, k := range unionKeys(pr[j].Headers, gr[j].Headers) {
				if pv, gv := pr[j].Headers[k], gr[j].Headers[k]; pv != gv {
					diffs = append(diffs, fmt.Sprintf("step %d request %d header %s: MSAL Python %q, identity %q", i, j, k, pv, gv))
				}
			}
		}
	}
	for _, sec := range unionKeys(py.cache, gov.cache) {
		ps, gs := py.cache[sec], gov.cache[sec]
		for _, k := range unionKeys(ps, gs) {
			pe, gok := ps[k]
			ge, ok2 := gs[k]
			switch {
			case !gok:
				diffs = append(diffs, fmt.Sprintf("cache %s %q: only identity has it: %v", sec, k, ge))
			case !ok2:
				diffs = append(diffs, fmt.Sprintf("cache %s %q: only MSAL Python has it: %v", sec, k, pe))
			case !reflect.DeepEqual(pe, ge):
				diffs = append(diffs, fmt.Sprintf("cache %s %q:\n\tMSAL Python %v\n\tidentity    %v", sec, k, pe, ge))
			}
		}
	}
	return diffs
}

func jsonRound(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// duplicates reports entries that are the same credential under two keys: what a
// write-back must never leave.
func duplicates(cache map[string]map[string]map[string]any) []string {
	var out []string
	seen := map[string]string{}
	id := func(e map[string]any, fields ...string) string {
		var parts []string
		for _, f := range fields {
			parts = append(parts, strings.ToLower(fmt.Sprint(e[f])))
		}
		return strings.Join(parts, "|")
	}
	for sec, entries := range cache {
		for k, e := range entries {
			var key string
			switch sec {
			case "RefreshToken":
				key = id(e, "home_account_id", "environment", "client_id", "target")
			case "IdToken":
				key = id(e, "home_account_id", "environment", "client_id", "realm")
			case "Account":
				key = id(e, "home_account_id", "environment", "realm")
			case "AccessToken":
				key = id(e, "home_account_id", "environment", "client_id", "realm", "target")
			default:
				continue
			}
			if other, ok := seen[sec+key]; ok {
				out = append(out, fmt.Sprintf("%s %q and %q", sec, other, k))
			}
			seen[sec+key] = k
		}
	}
	// Two refresh tokens of one app and account are near-copies whatever their target.
	rts := map[string]int{}
	for _, e := range cache["RefreshToken"] {
		rts[strings.ToLower(fmt.Sprint(e["home_account_id"], e["environment"], e["client_id"]))]++
	}
	for k, n := range rts {
		if n > 1 {
			out = append(out, fmt.Sprintf("RefreshToken: %d entries for %s", n, k))
		}
	}
	return out
}

// documentedDifferences reads the ids CONFORMANCE.md names ("### `id`").
func documentedDifferences(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("CONFORMANCE.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^### `([a-z0-9-]+)`").FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

func TestConformanceWithMSALPython(t *testing.T) {
	requirePeer(t)
	scenarios := loadConfScenarios(t)
	documented := documentedDifferences(t)
	for id := range acceptedDifferences {
		if !documented[id] {
			t.Errorf("accepted difference %q is not described in CONFORMANCE.md", id)
		}
	}
	for _, s := range scenarios {
		for _, id := range s.Accept {
			if acceptedDifferences[id] == nil || !documented[id] {
				t.Errorf("%s accepts %q, which CONFORMANCE.md does not describe", s.Name, id)
			}
		}
	}
	now := time.Now()
	// Round 0 starts from an empty cache on both sides; round r plays on the cache the
	// other side left in round r-1. One MSAL Python process per round for all scenarios.
	maxRounds := 0
	for _, s := range scenarios {
		maxRounds = max(maxRounds, 1+len(s.Rounds))
	}
	type state struct{ pyCache, goCache string }
	states := map[string]*state{}
	for _, s := range scenarios {
		states[s.Name] = &state{}
	}
	for round := 0; round < maxRounds; round++ {
		var batch []runnerScenario
		var active []*confScenario
		steps := map[string][]runnerStep{}
		for _, s := range scenarios {
			var st []confStep
			switch {
			case round == 0:
				st = s.Steps
			case round <= len(s.Rounds):
				st = s.Rounds[round-1]
			default:
				continue
			}
			steps[s.Name] = s.materialize(st, now)
			active = append(active, s)
			// Crossed: MSAL Python plays on identity's cache.
			batch = append(batch, s.forRunner(steps[s.Name], states[s.Name].goCache, true))
		}
		pyRuns := runPythonBatch(t, batch)
		for _, s := range active {
			t.Run(fmt.Sprintf("%s/round%d", s.Name, round), func(t *testing.T) {
				st := states[s.Name]
				pyRun, ok := pyRuns[s.Name]
				if !ok {
					t.Fatal("MSAL Python did not play it")
				}
				goRun := runGo(t, s.forRunner(steps[s.Name], st.pyCache, false))
				st.pyCache, st.goCache = pyRun.Cache, goRun.Cache
				py, gov := normalize(t, "MSAL Python", pyRun, now), normalize(t, "identity", goRun, now)
				for _, id := range s.Accept {
					acceptedDifferences[id](py, gov)
				}
				for _, d := range compareRuns(py, gov) {
					t.Error(d)
				}
				// Agreeing is not enough: a silent call after a sign-in that scripts no
				// reply must be a hit on both sides, with no request at all.
				for i, st := range steps[s.Name] {
					if !strings.HasPrefix(st.Do, "acquire_token_silent") || st.ForceRefresh || len(st.Replies) > 0 {
						continue
					}
					for side, n := range map[string]*confNorm{"MSAL Python": py, "identity": gov} {
						if r := n.steps[i].Result; r["access_token"] == nil && r["no_account"] == nil {
							t.Errorf("step %d: %s missed the cache: %v", i, side, r)
						}
						if posts := tokenRequests(n.steps[i].Requests); len(posts) > 0 {
							t.Errorf("step %d: %s sent %d token requests for a cache hit", i, side, len(posts))
						}
					}
				}
				for side, n := range map[string]*confNorm{"MSAL Python": py, "identity": gov} {
					for _, d := range duplicates(n.cache) {
						if side == "identity" {
							t.Errorf("identity's cache has near-copies: %s", d)
						}
					}
				}
				if t.Failed() || os.Getenv("CONFORMANCE_DUMP") != "" {
					t.Logf("scenario: %s", s.Description)
					for i := range py.steps {
						t.Logf("step %d %s: MSAL Python %v %v\n\tidentity %v %v", i, steps[s.Name][i].Do,
							py.steps[i].Result, py.steps[i].Requests, gov.steps[i].Result, gov.steps[i].Requests)
					}
				}
			})
		}
	}
}
