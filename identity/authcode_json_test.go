package identity

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestAuthCodeFlowSurvivesJSON: a web app keeps the flow in a session between the two
// calls; after a JSON round trip the flow is the same, unexported fields included, and
// still redeems the response.
func TestAuthCodeFlowSurvivesJSON(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	c := loopbackPublic(t, f)
	maxAge := 90 * time.Minute
	flow, err := c.InitiateAuthCodeFlow(ctx, []string{"User.Read", "Mail.Read"}, WithRedirectURI("http://localhost:8400"),
		WithMaxAge(maxAge), WithClaimsChallenge(`{"id_token":{"acrs":{"essential":true}}}`),
		WithRequestAuthority(f.srv.URL+"/tenant"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(flow)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{`"code_verifier"`, `"nonce"`, `"state"`, `"requested_scope"`, `"api_id"`, `"authority"`} {
		if !strings.Contains(string(b), member) {
			t.Errorf("JSON lacks %s: %s", member, b)
		}
	}
	var back AuthCodeFlow
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, flow) {
		t.Fatalf("round trip changed the flow:\n got %+v\nwant %+v", back, *flow)
	}
	// The narrowing check still works from the decoded flow (it needs the unexported
	// requested scopes): a scope outside the request is refused.
	wider := back
	wider.Scopes = []string{"Files.Read"}
	resp := url.Values{"code": {"c"}, "state": {back.State}}
	if _, err := c.AcquireTokenByAuthCodeFlow(ctx, &wider, resp); err == nil || !strings.Contains(err.Error(), "subset") {
		t.Fatalf("widened scopes after the round trip: err = %v, want the subset error", err)
	}
}
