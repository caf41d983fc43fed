package cli

// End-to-end tests against the real parts: the OpenID provider of internal/testenv on
// 127.0.0.1, the real OS keyring (gnome-keyring's Secret Service), the real storage and
// identity packages. TestEndToEndInProcess drives Run's command handling in this process
// (so the browser sign-in can use the scripted browser); TestEndToEndBinary runs the
// real tokendesk binary, as scripts and kubectl do.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/app"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// e2eScopes are the test API's scopes every profile here asks for at sign-in, so the
// grant covers them when tokens are later asked for silently.
var e2eScopes = []string{"api://tokendesk-cli/read", "api://tokendesk-cli/write"}

const e2eScope = "api://tokendesk-cli/read"

func e2eContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newDesk builds a Desk the way main does: the encrypted cache store in home with its
// key in the OS keyring, one shared token cache hooked to it, and config.json in home
// holding a profile for p.
func newDesk(t *testing.T, home string, p *testenv.OIDCProvider, opener usecase.Opener) *usecase.Desk {
	t.Helper()
	store, err := storage.OpenCacheStore(home, storage.SystemKeyring(3*time.Second))
	if err != nil {
		t.Fatalf("OpenCacheStore: %v", err)
	}
	cache := identity.NewTokenCache(identity.WithCacheHook(store))
	writeConfig(t, home, p)
	desk, err := usecase.New(usecase.Deps{
		Config: app.StorageConfig(home),
		Cache:  cache,
		Opener: opener,
	})
	if err != nil {
		t.Fatalf("usecase.New: %v", err)
	}
	return desk
}

// result is one command's outcome.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %d bytes, stderr:\n%s", r.code, len(r.stdout), r.stderr)
}

// inProcess runs a command line against desk; DISPLAY is set so login uses the browser
// (the scripted one the desk was built with).
func inProcess(ctx context.Context, desk *usecase.Desk, args ...string) result {
	var out, errb bytes.Buffer
	vars := map[string]string{"DISPLAY": ":0"}
	code := run(ctx, args, &env{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return vars[k] },
		desk:   desk,
	})
	return result{code, out.String(), errb.String()}
}

func want(t *testing.T, r result, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: want exit %d, got %v", what, code, r)
	}
}

func TestEndToEndInProcess(t *testing.T) {
	p := testenv.Provider(t)
	testenv.RequireKeyring(t)
	ctx := e2eContext(t)
	home := t.TempDir()
	// The opener returns at once, as launching a browser does; the scripted user signs
	// in meanwhile.
	browserErr := make(chan error, 1)
	desk := newDesk(t, home, p, func(ctx context.Context, authURL string) error {
		go func() { browserErr <- p.LoginAndDeliver(ctx, authURL, "dora") }()
		return nil
	})

	r := inProcess(ctx, desk, "accounts")
	want(t, r, ExitOK, "accounts before login")
	if r.stdout != "" || !strings.Contains(r.stderr, "tokendesk login") {
		t.Errorf("empty accounts: %v", r)
	}

	r = inProcess(ctx, desk, "login", "--profile", "lab")
	want(t, r, ExitOK, "login through the scripted browser")
	if err := <-browserErr; err != nil {
		t.Fatalf("scripted browser: %v", err)
	}
	key := strings.TrimSpace(r.stdout)
	if key == "" || !strings.Contains(r.stderr, p.Issuer) {
		t.Errorf("login printed key %q; stderr should show the sign-in URL:\n%s", key, r.stderr)
	}

	r = inProcess(ctx, desk, "accounts", "--json")
	want(t, r, ExitOK, "accounts --json")
	var accts []accountRow
	if err := json.Unmarshal([]byte(r.stdout), &accts); err != nil {
		t.Fatalf("accounts --json: %v\n%s", err, r.stdout)
	}
	if len(accts) != 1 || accts[0].Key != key || accts[0].Username != "dora@example.test" || accts[0].Profile != "lab" {
		t.Fatalf("accounts --json = %+v, want one account %q", accts, key)
	}

	checkTokens(t, func(args ...string) result { return inProcess(ctx, desk, args...) }, key, "dora@example.test")

	r = inProcess(ctx, desk, "logout", "dora@example.test")
	want(t, r, ExitOK, "logout by username")
	r = inProcess(ctx, desk, "accounts", "--json")
	if r.code != ExitOK || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("accounts after logout: %v\n%s", r, r.stdout)
	}
	r = inProcess(ctx, desk, "token", "--scope", e2eScope, "--account", key)
	want(t, r, ExitNotFound, "token after logout")
}

// checkTokens exercises "token" for the signed-in account key: cache hit, forced
// refresh, and every output shape.
func checkTokens(t *testing.T, cmd func(args ...string) result, key, username string) {
	t.Helper()
	r1 := cmd("token", "--scope", e2eScope, "--account", key)
	want(t, r1, ExitOK, "token")
	r2 := cmd("token", "--scope", e2eScope, "--account", username)
	want(t, r2, ExitOK, "token by username")
	tok := strings.TrimSpace(r1.stdout)
	if tok == "" || strings.ContainsAny(tok, " \t\n") || r1.stdout != tok+"\n" {
		t.Fatalf("bare token output is not one token and a newline (%d bytes)", len(r1.stdout))
	}
	if r2.stdout != r1.stdout {
		t.Error("a second token call did not return the cached token")
	}
	if strings.Contains(r1.stderr+r2.stderr, tok) {
		t.Error("the token appeared on stderr")
	}

	r := cmd("token", "--scope", e2eScope, "--account", key, "--output", "json")
	want(t, r, ExitOK, "--output json")
	var js map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("--output json: %v", err)
	}
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(js["expiresOn"]))
	if js["accessToken"] != tok || js["account"] != key || err != nil || time.Until(exp) < 30*time.Minute {
		t.Errorf("--output json: account %v, expiresOn %v (%v), token matches %v", js["account"], js["expiresOn"], err, js["accessToken"] == tok)
	}

	r = cmd("token", "--scope", e2eScope, "--account", key, "--output", "az")
	want(t, r, ExitOK, "--output az")
	var az map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &az); err != nil {
		t.Fatalf("--output az: %v", err)
	}
	for _, k := range []string{"accessToken", "expiresOn", "expires_on", "tenant", "tokenType"} {
		if _, ok := az[k]; !ok {
			t.Errorf("--output az lacks %q", k)
		}
	}
	local, err := time.ParseInLocation(azTimeLayout, fmt.Sprint(az["expiresOn"]), time.Local)
	epoch, _ := az["expires_on"].(float64)
	if err != nil || az["accessToken"] != tok || az["tokenType"] != "Bearer" || local.Unix() != int64(epoch) {
		t.Errorf("--output az: expiresOn %v (%v), expires_on %v, tokenType %v", az["expiresOn"], err, az["expires_on"], az["tokenType"])
	}

	r = cmd("token", "--scope", e2eScope, "--account", key, "--output", "exec-credential")
	want(t, r, ExitOK, "--output exec-credential")
	validateExecCredential(t, []byte(r.stdout), execCredentialV1, tok, exp)

	// Last, as a failure here leaves the checks above still meaningful.
	r3 := cmd("token", "--scope", e2eScope, "--account", key, "--force-refresh")
	if r3.code != ExitOK {
		t.Errorf("token --force-refresh: want exit 0, got %v", r3)
		return
	}
	fresh := strings.TrimSpace(r3.stdout)
	if fresh == "" || fresh == tok {
		t.Error("--force-refresh returned the cached token")
	}
	r4 := cmd("token", "--scope", e2eScope, "--account", key)
	want(t, r4, ExitOK, "token after refresh")
	if strings.TrimSpace(r4.stdout) != fresh {
		t.Error("the refreshed token was not cached")
	}
}

// binary is the tokendesk binary, built once for the test binary's run.
// buildBinary builds the module root into the test's own temporary directory, the
// way users get the CLI. Each test builds its own (the build cache makes the second
// one quick), so no test can remove a binary another still runs.
func buildBinary(t *testing.T) string {
	t.Helper()
	main, err := os.ReadFile(filepath.Join("..", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(main, []byte("cli.Run(")) {
		t.Skip("main.go does not call cli.Run yet: the binary-level test needs the wiring (see issue 8)")
	}
	path := filepath.Join(t.TempDir(), "tokendesk")
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// cliProc runs the binary with TOKENDESK_HOME=home and no display (so login uses the
// device code, as over SSH).
type cliProc struct {
	t    *testing.T
	bin  string
	home string
}

func (c cliProc) env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "TOKENDESK_HOME", "DISPLAY", "WAYLAND_DISPLAY", "KUBERNETES_EXEC_INFO":
			continue
		}
		out = append(out, kv)
	}
	return append(append(out, "TOKENDESK_HOME="+c.home), extra...)
}

func (c cliProc) run(ctx context.Context, extraEnv []string, args ...string) result {
	c.t.Helper()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env(extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(""), &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("running tokendesk %s: %v", args[0], err)
	}
	return result{code, out.String(), errb.String()}
}

// deviceCodeLine is how login prints the code (printDeviceCode).
var deviceCodeLine = regexp.MustCompile(`enter the code (\S+)`)

// login runs "tokendesk login --device-code" and approves its code as username at the
// provider, like a user on a second device; it returns the new account's key.
func (c cliProc) login(ctx context.Context, p *testenv.OIDCProvider, username string) (string, error) {
	cmd := exec.CommandContext(ctx, c.bin, "login", "--device-code", "--profile", "lab")
	cmd.Env = c.env()
	cmd.Stdin = strings.NewReader("") // not a terminal, as in a script
	var out, errTail bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	sc := bufio.NewScanner(stderr)
	var code string
	for code == "" && sc.Scan() {
		// The code lines stay out of what a failure prints.
		if m := deviceCodeLine.FindStringSubmatch(sc.Text()); m != nil {
			code = m[1]
		} else if !strings.Contains(sc.Text(), "user_code=") {
			errTail.WriteString(sc.Text() + "\n")
		}
	}
	approveErr := errors.New("login printed no device code")
	if code != "" {
		approveErr = p.ApproveDeviceCode(ctx, code, username)
	}
	if approveErr != nil {
		cmd.Process.Kill() // it would poll until the code expires
	}
	// Read stderr to its end before Wait, which closes the pipe.
	io.Copy(&errTail, stderr)
	waitErr := cmd.Wait()
	if approveErr != nil {
		return "", fmt.Errorf("approving the device code: %v (login: %v)\n%s", approveErr, waitErr, errTail.String())
	}
	if waitErr != nil {
		return "", fmt.Errorf("login: %v\n%s", waitErr, errTail.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// writeConfig writes the config.json main reads: one profile for the provider.
func writeConfig(t *testing.T, home string, p *testenv.OIDCProvider) {
	t.Helper()
	err := storage.SaveConfig(home, &storage.Config{Profiles: []profile.Profile{{
		Name:            "lab",
		Issuer:          p.Issuer,
		ClientID:        p.PublicClientID,
		RedirectURI:     "http://127.0.0.1/",
		SignInScopes:    e2eScopes,
		FavouriteScopes: e2eScopes,
	}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEndToEndBinary(t *testing.T) {
	bin := buildBinary(t)
	p := testenv.Provider(t)
	testenv.RequireKeyring(t)
	ctx := e2eContext(t)
	home := t.TempDir()
	writeConfig(t, home, p)
	c := cliProc{t: t, bin: bin, home: home}

	r := c.run(ctx, nil, "version")
	want(t, r, ExitOK, "version")
	r = c.run(ctx, nil, "tokne")
	want(t, r, ExitUsage, "unknown command")
	r = c.run(ctx, nil, "profiles")
	want(t, r, ExitOK, "profiles")
	if !strings.Contains(r.stdout, "lab") || !strings.Contains(r.stdout, p.Issuer) {
		t.Errorf("profiles:\n%s", r.stdout)
	}

	// Two logins at once against one TOKENDESK_HOME: both accounts must survive the
	// concurrent read-modify-write of the shared cache.
	var wg sync.WaitGroup
	keys := map[string]string{}
	var mu sync.Mutex
	for _, user := range []string{"erin", "frank"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, err := c.login(ctx, p, user)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("login as %s: %v", user, err)
				return
			}
			keys[user] = key
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	r = c.run(ctx, nil, "accounts")
	want(t, r, ExitOK, "accounts")
	for _, u := range []string{"erin", "frank"} {
		if !strings.Contains(r.stdout, keys[u]) || !strings.Contains(r.stdout, u+"@example.test") {
			t.Errorf("accounts table lacks %s (%s):\n%s", u, keys[u], r.stdout)
		}
	}
	r = c.run(ctx, nil, "accounts", "--json")
	want(t, r, ExitOK, "accounts --json")
	var accts []accountRow
	if err := json.Unmarshal([]byte(r.stdout), &accts); err != nil || len(accts) != 2 {
		t.Fatalf("accounts --json: %v, %d accounts\n%s", err, len(accts), r.stdout)
	}

	// The window's view of the same TOKENDESK_HOME (a Desk in this process, built as
	// main builds it) sees the accounts the CLI added, and serves the same cached token.
	window := newDesk(t, home, p, nil)
	views, err := window.Accounts(ctx)
	if err != nil || len(views) != 2 {
		t.Fatalf("the window's Desk sees %d accounts (%v), want the CLI's 2", len(views), err)
	}
	winTok, err := window.Token(ctx, keys["erin"], []string{e2eScope}, false)
	if err != nil {
		t.Fatalf("window Token: %v", err)
	}
	r = c.run(ctx, nil, "token", "--scope", e2eScope, "--account", keys["erin"])
	if r.code != ExitOK || strings.TrimSpace(r.stdout) != winTok.AccessToken {
		t.Errorf("CLI and window disagree on erin's cached token: %v", r)
	}

	// Without --account, two accounts are ambiguous: a usage error listing both keys.
	r = c.run(ctx, nil, "token", "--scope", e2eScope)
	want(t, r, ExitUsage, "token without --account among two")
	if !strings.Contains(r.stderr, keys["erin"]) || !strings.Contains(r.stderr, keys["frank"]) {
		t.Errorf("ambiguity error does not list the keys:\n%s", r.stderr)
	}

	checkTokens(t, func(args ...string) result { return c.run(ctx, nil, args...) }, keys["erin"], "erin@example.test")

	// kubectl asking for v1beta1 through KUBERNETES_EXEC_INFO.
	r = c.run(ctx, []string{`KUBERNETES_EXEC_INFO={"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`},
		"token", "--scope", e2eScope, "--account", keys["erin"], "--output", "exec-credential")
	want(t, r, ExitOK, "exec-credential v1beta1")
	var cred execCredential
	if err := json.Unmarshal([]byte(r.stdout), &cred); err != nil || cred.APIVersion != execCredentialV1beta1 {
		t.Errorf("exec-credential for v1beta1: %v, apiVersion %q", err, cred.APIVersion)
	}

	// kubectl and client-go running tokendesk as their exec plugin: TestExecCredentialPlugin.

	// Several processes reading tokens at once while another refreshes: every one
	// succeeds and the cache stays readable.
	var pwg sync.WaitGroup
	for i := 0; i < 4; i++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			args := []string{"token", "--scope", e2eScope, "--account", keys["erin"]}
			if r := c.run(ctx, nil, args...); r.code != ExitOK {
				t.Errorf("concurrent token: %v", r)
			}
		}()
	}
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		if r := c.run(ctx, nil, "token", "--scope", e2eScope, "--account", keys["frank"], "--force-refresh"); r.code != ExitOK {
			t.Errorf("concurrent refresh: %v", r)
		}
	}()
	pwg.Wait()

	// A refresh token the provider has revoked: restore an older cache (holding a
	// refresh token that was rotated away since) and force a refresh. Reusing a rotated
	// refresh token revokes the grant, so only a new sign-in helps: exit 3.
	restore := snapshotCache(t, home)
	r = c.run(ctx, nil, "token", "--scope", e2eScope, "--account", keys["frank"], "--force-refresh")
	if r.code != ExitOK {
		t.Errorf("refresh that rotates frank's refresh token: %v", r)
	} else {
		restore()
		r = c.run(ctx, nil, "token", "--scope", e2eScope, "--account", keys["frank"], "--force-refresh")
		if r.code != ExitInteractionRequired {
			t.Errorf("refresh with a rotated-away refresh token: want exit %d, got %v", ExitInteractionRequired, r)
		}
		if r.stdout != "" || !strings.Contains(r.stderr, "tokendesk login") {
			t.Errorf("interaction required: stdout %d bytes, stderr:\n%s", len(r.stdout), r.stderr)
		}
	}

	r = c.run(ctx, nil, "logout", keys["erin"])
	want(t, r, ExitOK, "logout erin")
	r = c.run(ctx, nil, "token", "--scope", e2eScope, "--account", keys["erin"])
	want(t, r, ExitNotFound, "token after logout")
	r = c.run(ctx, nil, "logout", "frank@example.test")
	want(t, r, ExitOK, "logout frank by username")
	r = c.run(ctx, nil, "accounts", "--json")
	if r.code != ExitOK || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("accounts after logging everyone out: %v\n%s", r, r.stdout)
	}
	r = c.run(ctx, nil, "token", "--scope", e2eScope)
	want(t, r, ExitNotFound, "token with nobody signed in")
}

// TestEndToEndBinaryForegroundLauncher: "tokendesk login" opens the system browser
// through an xdg-open that stays in the foreground until the redirect has been
// answered, as xdg-open does in generic mode (i3, sway, $BROWSER). The binary must
// serve the redirect meanwhile and finish.
func TestEndToEndBinaryForegroundLauncher(t *testing.T) {
	bin := buildBinary(t)
	p := testenv.Provider(t)
	testenv.RequireKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	home := t.TempDir()
	writeConfig(t, home, p)
	l := p.NewForegroundLauncher(t, "kim")
	c := cliProc{t: t, bin: bin, home: home}
	r := c.run(ctx, []string{"PATH=" + l.PathEnv(), "DISPLAY=:0"}, "login", "--profile", "lab")
	want(t, r, ExitOK, "login through a foreground launcher")
	if err := <-l.Logins(); err != nil {
		t.Fatalf("scripted browser: %v", err)
	}
	if !strings.Contains(r.stderr, "kim@example.test") {
		t.Errorf("login output: %v", r)
	}
}
