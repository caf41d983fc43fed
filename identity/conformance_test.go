package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
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
