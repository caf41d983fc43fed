package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// Python azure-identity's AzureCliCredential (Debian python3-azure) runs
// "az account get-access-token --output json --resource R [--tenant T]" through
// /bin/sh; here "az" is a link to the real tokendesk binary, first on PATH.

const azurePeerScript = "testdata/azure_identity_peer.py"

func requireAzureIdentity(t *testing.T) {
	t.Helper()
	if err := exec.Command(peerPython, "-c", "import azure.identity").Run(); err != nil {
		msg := "Python azure-identity is not available (" + err.Error() + "); apt-get install -y python3-azure"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// azPeer runs azure_identity_peer.py with env and returns what it printed.
func azPeer(t *testing.T, env []string, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, peerPython, append([]string{azurePeerScript}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("azure_identity_peer.py %v: %v\n%s", args, err, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("azure_identity_peer.py printed %q: %v", out, err)
	}
	return res
}

// azLink puts a link named az to bin in a fresh directory and returns the directory.
func azLink(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "az")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAzureIdentityThroughAzLinkBinary(t *testing.T) {
	requireMSALPython(t)
	requireAzureIdentity(t)
	testenv.RequireKeyring(t)
	bin := buildBinary(t)
	ctx := e2eContext(t)
	entra := testenv.NewEntra(t)
	azDir := azLink(t, bin)

	home := t.TempDir()
	cache, _ := azureCLICache(t, entra)
	cacheFile := filepath.Join(t.TempDir(), "msal_token_cache.json")
	os.WriteFile(cacheFile, cache, 0o600)
	c := cliProc{t: t, bin: bin, home: home}
	want(t, c.run(ctx, entra.Env, "import", "--msal-cache", cacheFile), ExitOK, "import")

	envFor := func(home, tz string) []string {
		return entra.Environ("PATH="+azDir+":/usr/bin:/bin", "TOKENDESK_HOME="+home, "TZ="+tz,
			"DISPLAY=", "WAYLAND_DISPLAY=", "TOKENDESK_AZ_ACCOUNT=", "AZURE_CONFIG_DIR="+t.TempDir())
	}

	// The token tokendesk itself gives for Graph, and its expiry.
	r := c.run(ctx, entra.Env, "token", "--scope", graphScope, "--output", "json")
	want(t, r, ExitOK, "token --output json")
	var js struct {
		AccessToken string `json:"accessToken"`
		ExpiresOn   string `json:"expiresOn"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatal(err)
	}
	exp, _ := time.Parse(time.RFC3339, js.ExpiresOn)

	// AzureCliCredential reads az's local-time expiresOn: the same instant in any zone.
	for _, tz := range []string{"UTC", "America/Los_Angeles", "Asia/Kolkata"} {
		out := azPeer(t, envFor(home, tz), "cli", graphScope)
		if out["token"] != js.AccessToken || int64(out["expires_on"].(float64)) != exp.Unix() {
			t.Errorf("TZ=%s: AzureCliCredential got %v (expires_on %v, want %d): %v", tz,
				out["token"] == js.AccessToken, out["expires_on"], exp.Unix(), out["message"])
		}
	}

	// ARM, which it asks for by resource, and another tenant.
	out := azPeer(t, envFor(home, "UTC"), "cli", "https://management.azure.com/.default")
	if tok, _ := out["token"].(string); !entra.Valid(tok, "https://management.azure.com") {
		t.Errorf("ARM through az: %v", out)
	}
	n := len(entra.TokenRequests())
	out = azPeer(t, envFor(home, "UTC"), "cli", graphScope, "11111111-2222-3333-4444-555555555555")
	if tok, _ := out["token"].(string); !entra.Valid(tok, "https://graph.microsoft.com") || tok == js.AccessToken || len(entra.TokenRequests()) != n+1 {
		t.Errorf("Graph in another tenant through az: %v", out["message"])
	}

	// Nobody signed in: azure-identity sees "az login", so the chain moves on.
	empty := t.TempDir()
	out = azPeer(t, envFor(empty, "UTC"), "chain", graphScope)
	if out["token"] != "from-the-next-credential" {
		t.Errorf("chain with nobody signed in: %v", out)
	}
	out = azPeer(t, envFor(empty, "UTC"), "cli", graphScope)
	if out["error"] != "unavailable" {
		t.Errorf("AzureCliCredential with nobody signed in: %v", out)
	}
	// The refresh token revoked: only a sign-in helps, and the chain moves on too.
	entra.RevokeAll()
	out = azPeer(t, envFor(home, "UTC"), "chain", "https://vault.azure.net/.default")
	if out["token"] != "from-the-next-credential" {
		t.Errorf("chain with a revoked refresh token: %v", out)
	}
}

// TestAzureSDKForGoThroughAzLinkBinary: the Azure SDK for Go's AzureCLICredential
// (azidentity, in the separate module internal/azsdkcheck so this module does not
// depend on it) gets tokendesk's token through the az link; with nobody signed in its
// error says "az login" and DefaultAzureCredential's developer chain moves on.
func TestAzureSDKForGoThroughAzLinkBinary(t *testing.T) {
	requireMSALPython(t)
	testenv.RequireKeyring(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := buildBinary(t)
	ctx := e2eContext(t)
	modDir, _ := filepath.Abs(filepath.Join("..", "internal", "azsdkcheck"))
	// The toolchain fetches azidentity from the module proxy (a no-op once cached), as
	// it fetches this module's own dependencies; the test itself then runs offline.
	dl := exec.CommandContext(ctx, goBin, "mod", "download")
	dl.Dir = modDir
	if out, err := dl.CombinedOutput(); err != nil {
		t.Fatalf("go mod download in internal/azsdkcheck: %v\n%s", err, out)
	}
	entra := testenv.NewEntra(t)
	azDir := azLink(t, bin)
	home := t.TempDir()
	cache, _ := azureCLICache(t, entra)
	cacheFile := filepath.Join(t.TempDir(), "msal_token_cache.json")
	os.WriteFile(cacheFile, cache, 0o600)
	c := cliProc{t: t, bin: bin, home: home}
	want(t, c.run(ctx, entra.Env, "import", "--msal-cache", cacheFile), ExitOK, "import")
	r := c.run(ctx, entra.Env, "token", "--scope", graphScope, "--output", "json")
	want(t, r, ExitOK, "token --output json")
	var js struct {
		AccessToken string `json:"accessToken"`
		ExpiresOn   string `json:"expiresOn"`
	}
	json.Unmarshal([]byte(r.stdout), &js)
	exp, _ := time.Parse(time.RFC3339, js.ExpiresOn)

	sdk := func(mode, home string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, goBin, "test", "-v", "-count=1", "-run", "TestAzureCLICredential", ".")
		cmd.Dir = modDir
		cmd.Env = entra.Environ("PATH="+azDir+":"+filepath.Dir(goBin)+":/usr/bin:/bin", "GOPROXY=off", "GOFLAGS=-mod=mod",
			"TOKENDESK_HOME="+home, "DISPLAY=", "WAYLAND_DISPLAY=", "TOKENDESK_AZ_ACCOUNT=", "AZURE_TOKEN_CREDENTIALS=dev",
			"TOKENDESK_AZSDKCHECK="+mode, "TOKENDESK_AZSDKCHECK_SCOPE="+graphScope,
			"TOKENDESK_AZSDKCHECK_TOKEN="+js.AccessToken, "TOKENDESK_AZSDKCHECK_EXPIRES="+strconv.FormatInt(exp.Unix(), 10))
		out, err := cmd.CombinedOutput()
		// -v: a pass is printed; a skip or "no tests to run" must not count as one.
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestAzureCLICredential")) {
			t.Errorf("azidentity (%s): %v\n%s", mode, err, bytes.ReplaceAll(out, []byte(js.AccessToken), []byte("[token]")))
		}
	}
	sdk("token", home)
	sdk("nobody", t.TempDir())
}
