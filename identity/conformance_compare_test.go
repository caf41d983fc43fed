package identity

// How the conformance suite compares the two runs: normalized (timestamps as offsets,
// token requests only), with the differences CONFORMANCE.md accepts applied.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
