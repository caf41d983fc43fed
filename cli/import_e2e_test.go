package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// Import and export against real peers: real MSAL Python 1.21 (Debian python3-msal,
// offline through identity/testdata/msal_peer.py) writes the Azure CLI-style cache and
// reads the export; the real tokendesk binary imports it and redeems the imported
// refresh token at a loopback Entra stand-in (internal/testenv.Entra), which it reaches
// through HTTPS_PROXY and SSL_CERT_FILE as it would reach Entra.

const (
	peerPython   = "/usr/bin/python3"
	peerScript   = "../identity/testdata/msal_peer.py"
	azureCLIID   = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	graphScope   = "https://graph.microsoft.com/.default"
	armScope     = "https://management.azure.com/.default"
	azLoginScope = "https://management.core.windows.net//.default"
)

var peerUser = testenv.EntraUser{OID: "9f4880d8-80ba-4c40-97bc-f7a23c703084", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
	Username: "Pat.Peer@Contoso.com", Name: "Pat Peer"}

// requireMSALPython fails when python3-msal is missing: make deps installs it.
func requireMSALPython(t *testing.T) {
	t.Helper()
	if err := exec.Command(peerPython, "-c", "import msal").Run(); err != nil {
		t.Fatalf("MSAL Python is not available (%s -c 'import msal': %v): run `make deps` (apt-get install -y python3-msal)", peerPython, err)
	}
}

// msalPeer runs msal_peer.py in mode with spec; it sends no request anywhere.
func msalPeer(t *testing.T, mode string, spec map[string]any) map[string]any {
	t.Helper()
	in, _ := json.Marshal(spec)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, peerPython, peerScript, mode)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("msal_peer.py %s: %v\n%s", mode, err, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("msal_peer.py %s: %v", mode, err)
	}
	return res
}

// peerSpec is what MSAL Python needs to act offline at authority.
func peerSpec(authority string) map[string]any {
	base := "https://" + testenv.EntraHost + "/" + authority
	return map[string]any{
		"client_id": azureCLIID,
		"authority": base,
		"discovery": map[string]any{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"issuer":                 "https://" + testenv.EntraHost + "/{tenantid}/v2.0",
		},
		"instance": map[string]any{
			"tenant_discovery_endpoint": base + "/v2.0/.well-known/openid-configuration",
			"metadata": []map[string]any{{"preferred_network": testenv.EntraHost, "preferred_cache": "login.windows.net",
				"aliases": []string{testenv.EntraHost, "login.windows.net", "login.microsoft.com", "sts.windows.net"}}},
		},
	}
}

// azureCLICache has MSAL Python write what "az login" leaves in msal_token_cache.json:
// Azure CLI's client id, the /organizations authority, a family refresh token the
// stand-in knows, and an access token for ARM. It returns the cache and that refresh token.
func azureCLICache(t *testing.T, entra *testenv.Entra) ([]byte, string) {
	t.Helper()
	return azureCLICacheOf(t, entra, peerUser)
}

// azureCLICacheOf is azureCLICache for user u.
func azureCLICacheOf(t *testing.T, entra *testenv.Entra, u testenv.EntraUser) ([]byte, string) {
	t.Helper()
	spec := peerSpec("organizations")
	spec["scopes"] = []string{azLoginScope}
	spec["refresh_token"] = "rt-the-browser-sign-in-gave-az"
	resp := entra.TokenResponse(u, azureCLIID, azLoginScope)
	spec["token_response"] = resp
	out := msalPeer(t, "write", spec)
	if v, _ := out["version"].(string); !strings.HasPrefix(v, "1.") {
		t.Fatalf("unexpected MSAL Python version %q", v)
	}
	cache, _ := out["cache"].(string)
	if !strings.Contains(cache, `"family_id": "1"`) && !strings.Contains(cache, `"family_id":"1"`) {
		t.Fatalf("MSAL Python wrote no family refresh token:\n%.300s", cache)
	}
	return []byte(cache), resp["refresh_token"].(string)
}

func TestImportAzureCLICacheBinary(t *testing.T) {
	requireMSALPython(t)
	testenv.RequireKeyring(t)
	bin := buildBinary(t)
	ctx := e2eContext(t)
	entra := testenv.NewEntra(t)

	azDir := t.TempDir()
	cache, azRT := azureCLICache(t, entra)
	cacheFile := filepath.Join(azDir, "msal_token_cache.json")
	if err := os.WriteFile(cacheFile, cache, 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(cacheFile)

	home := t.TempDir() // no config.json: the default profile, as on a fresh install
	c := cliProc{t: t, bin: bin, home: home}
	env := append(append([]string(nil), entra.Env...), "AZURE_CONFIG_DIR="+azDir)

	r := c.run(ctx, env, "import", "--azure-cli")
	want(t, r, ExitOK, "import --azure-cli")
	key := strings.TrimSpace(r.stdout)
	if key != strings.ToLower(peerUser.OID+"."+peerUser.TenantID+"-"+testenv.EntraHost) ||
		!strings.Contains(r.stderr, "Pat.Peer@Contoso.com") || !strings.Contains(r.stderr, "Microsoft Entra (default)") {
		t.Fatalf("import printed key %q; stderr:\n%s", key, r.stderr)
	}
	r = c.run(ctx, env, "import", "--azure-cli")
	want(t, r, ExitOK, "second import")
	if strings.TrimSpace(r.stdout) != key || !strings.Contains(r.stderr, "Nothing new") {
		t.Errorf("re-import is not idempotent: %v\n%s", r, r.stdout)
	}
	after, _ := os.Stat(cacheFile)
	if now, _ := os.ReadFile(cacheFile); !bytes.Equal(now, cache) || !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() {
		t.Error("import changed Azure CLI's cache file")
	}

	r = c.run(ctx, env, "accounts", "--json")
	var accts []accountRow
	if err := json.Unmarshal([]byte(r.stdout), &accts); err != nil || len(accts) != 1 || accts[0].Key != key ||
		accts[0].Profile != "Microsoft Entra (default)" || accts[0].Status == "needs-sign-in" {
		t.Fatalf("accounts after import: %v %+v", err, accts)
	}

	// Graph and ARM: each redeems the imported refresh token at the stand-in, no browser
	// (no DISPLAY, and "token" never opens one).
	tokens := map[string]string{}
	for _, tc := range []struct{ scope, resource string }{
		{graphScope, "https://graph.microsoft.com"},
		{armScope, "https://management.azure.com"},
	} {
		n := len(entra.TokenRequests())
		r = c.run(ctx, env, "token", "--scope", tc.scope)
		want(t, r, ExitOK, "token for "+tc.scope)
		tok := strings.TrimSpace(r.stdout)
		if !entra.Valid(tok, tc.resource) {
			t.Fatalf("token for %s is not one the stand-in issued for %s", tc.scope, tc.resource)
		}
		reqs := entra.TokenRequests()[n:]
		if len(reqs) != 1 || reqs[0].Get("grant_type") != "refresh_token" || reqs[0].Get("client_id") != azureCLIID {
			t.Fatalf("token for %s: %d requests %v", tc.scope, len(reqs), redactForm(reqs))
		}
		tokens[tc.scope] = tok
	}
	// Again: from the cache, no request.
	n := len(entra.TokenRequests())
	for _, scope := range []string{graphScope, armScope} {
		r = c.run(ctx, env, "token", "--scope", scope)
		if r.code != ExitOK || strings.TrimSpace(r.stdout) != tokens[scope] {
			t.Errorf("second token for %s is not the cached one: %v", scope, r)
		}
	}
	if extra := len(entra.TokenRequests()) - n; extra != 0 {
		t.Errorf("second tokens sent %d requests, want 0 (a cache hit)", extra)
	}
	first := entra.TokenRequests()
	if got := first[0].Get("refresh_token"); got != azRT {
		t.Errorf("the first refresh redeemed another refresh token than Azure CLI's (%d bytes)", len(got))
	}

	// Export: 0600, a warning, and MSAL Python gets a silent hit from it, no request.
	exportFile := filepath.Join(t.TempDir(), "export.json")
	r = c.run(ctx, env, "export", "--msal-cache", exportFile, "--account", "pat.peer@contoso.com")
	want(t, r, ExitOK, "export")
	if st, err := os.Stat(exportFile); err != nil || st.Mode().Perm() != 0o600 || !strings.Contains(r.stderr, "UNENCRYPTED") {
		t.Fatalf("export file %v (%v); stderr:\n%s", st, err, r.stderr)
	}
	exported, _ := os.ReadFile(exportFile)
	spec := peerSpec("organizations") // as Azure CLI reads it after a plain "az login"
	spec["cache"] = string(exported)
	spec["scopes"] = []string{graphScope}
	spec["username"] = peerUser.Username
	out := msalPeer(t, "read", spec)
	res, _ := out["result"].(map[string]any)
	if res == nil || res["access_token"] != tokens[graphScope] || out["posts"].(float64) != 0 {
		t.Fatalf("MSAL Python on the export: result %v, source %v, %v requests", res != nil, out["source"], out["posts"])
	}

	// Export then import into a fresh Tokendesk: the same account, its tokens served
	// from the cache without a request.
	c2 := cliProc{t: t, bin: bin, home: t.TempDir()}
	r = c2.run(ctx, env, "import", "--msal-cache", exportFile)
	want(t, r, ExitOK, "import of the export")
	if strings.TrimSpace(r.stdout) != key {
		t.Errorf("round trip gave key %q, want %q", r.stdout, key)
	}
	n = len(entra.TokenRequests())
	r = c2.run(ctx, env, "token", "--scope", armScope)
	if r.code != ExitOK || strings.TrimSpace(r.stdout) != tokens[armScope] || len(entra.TokenRequests()) != n {
		t.Errorf("token after the round trip: %v, cached token %v, %d new requests", r, strings.TrimSpace(r.stdout) == tokens[armScope], len(entra.TokenRequests())-n)
	}

	// Revoked at Entra: the imported account now needs a sign-in, exit 3.
	entra.RevokeAll()
	r = c.run(ctx, env, "token", "--scope", "https://vault.azure.net/.default")
	want(t, r, ExitInteractionRequired, "token after revocation")
}

// TestImportConcurrentBinary: imports running at once into one Tokendesk directory
// (two users' caches, each imported by two processes) lose nothing: the merge is one
// write under the cache's cross-process lock.
func TestImportConcurrentBinary(t *testing.T) {
	requireMSALPython(t)
	testenv.RequireKeyring(t)
	bin := buildBinary(t)
	ctx := e2eContext(t)
	entra := testenv.NewEntra(t)
	users := []testenv.EntraUser{peerUser, {OID: "1f4880d8-80ba-4c40-97bc-f7a23c703085", TenantID: peerUser.TenantID,
		Username: "Quinn.Second@Contoso.com", Name: "Quinn Second"}}
	var files []string
	for i, u := range users {
		cache, _ := azureCLICacheOf(t, entra, u)
		f := filepath.Join(t.TempDir(), fmt.Sprintf("cache%d.json", i))
		os.WriteFile(f, cache, 0o600)
		files = append(files, f)
	}
	c := cliProc{t: t, bin: bin, home: t.TempDir()}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := c.run(ctx, nil, "import", "--msal-cache", files[i%2]); r.code != ExitOK {
				t.Errorf("concurrent import %d: %v", i, r)
			}
		}()
	}
	wg.Wait()
	r := c.run(ctx, nil, "accounts", "--json")
	var accts []accountRow
	if err := json.Unmarshal([]byte(r.stdout), &accts); err != nil || len(accts) != 2 {
		t.Fatalf("after concurrent imports: %v, %d accounts\n%s", err, len(accts), r.stdout)
	}
	for _, a := range accts {
		if a.Status != "valid" && a.Status != "refreshable" {
			t.Errorf("%s lost its tokens: %s", a.Username, a.Status)
		}
	}
}

// TestImportBadInput: what is not an MSAL cache, or holds nothing a profile can use,
// is refused with a clear message, and Tokendesk's own cache is left as it was.
func TestImportBadInputBinary(t *testing.T) {
	testenv.RequireKeyring(t)
	bin := buildBinary(t)
	ctx := e2eContext(t)
	home := t.TempDir()
	c := cliProc{t: t, bin: bin, home: home}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	for _, tc := range []struct {
		name, body string
		code       int
		says       string
	}{
		{"kubeconfig.yaml", "apiVersion: v1\nkind: Config\n", ExitError, "not valid"},
		{"truncated.json", `{"RefreshToken": {"x": {"secret": "abc"`, ExitError, "not valid"},
		{"array.json", `[]`, ExitError, "not valid"},
		{"empty.json", ``, ExitNotFound, "no account"},
		{"other-client.json", `{"RefreshToken": {"k": {"credential_type": "RefreshToken", "secret": "s", "home_account_id": "u.t",
			"environment": "login.microsoftonline.com", "client_id": "11111111-2222-3333-4444-555555555555", "target": ""}}}`,
			ExitNotFound, "client id 11111111-2222-3333-4444-555555555555"},
	} {
		r := c.run(ctx, nil, "import", "--msal-cache", write(tc.name, tc.body))
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, tc.name) && tc.code == ExitError {
			t.Errorf("import %s: %v", tc.name, r)
		}
	}
	r := c.run(ctx, nil, "accounts", "--json")
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("bad imports left accounts: %s", r.stdout)
	}
}

// redactForm shows a token request without its secrets.
func redactForm(reqs []url.Values) string {
	var b strings.Builder
	for _, f := range reqs {
		fmt.Fprintf(&b, "[grant %v client %v scope %v] ", f["grant_type"], f["client_id"], f["scope"])
	}
	return b.String()
}
