package cli

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// TestExecCredentialPlugin runs the real tokendesk binary as a Kubernetes exec
// credential plugin under the code kubectl runs for one: client-go's exec authenticator
// (k8s.io/client-go/plugin/pkg/client/auth/exec, through internal/kubeexec, built from
// the module proxy, so it runs on every machine), and the real kubectl when one is
// installed. Each peer is its own subtest: a missing kubectl skips only its own.
func TestExecCredentialPlugin(t *testing.T) {
	bin := buildBinary(t)
	p := testenv.Provider(t)
	testenv.RequireKeyring(t)
	ctx := e2eContext(t)
	home := t.TempDir()
	writeConfig(t, home, p)
	c := cliProc{t: t, bin: bin, home: home}
	key, err := c.login(ctx, p, "erin")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	r := c.run(ctx, nil, "token", "--scope", e2eScope, "--account", key)
	want(t, r, ExitOK, "token")
	token := strings.TrimSpace(r.stdout)

	peers := []struct {
		name string
		cmd  func(t *testing.T, ctx context.Context, kubeconfig string) *exec.Cmd
	}{
		{"client-go", func(t *testing.T, ctx context.Context, kubeconfig string) *exec.Cmd {
			return exec.CommandContext(ctx, buildKubeexec(t), "--kubeconfig", kubeconfig, "/tokendesk-check")
		}},
		{"kubectl", func(t *testing.T, ctx context.Context, kubeconfig string) *exec.Cmd {
			kubectl, err := exec.LookPath("kubectl")
			if err != nil {
				// make deps cannot install one (Debian's kubernetes-client predates
				// ExecCredential v1); the client-go subtest runs the same plugin code.
				t.Skip("kubectl is not installed: the client-go subtest ran the same exec plugin code")
			}
			return exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/tokendesk-check")
		}},
	}
	for _, peer := range peers {
		t.Run(peer.name, func(t *testing.T) {
			// Plugins' stderr reaches the user through kubectl: in the C locale of
			// container images it must carry nothing but tokendesk's own lines.
			for _, lang := range []string{"C.UTF-8", ""} {
				out := execPluginUsesToken(t, ctx, peer.cmd, bin, home, key, token, "LANG="+lang, "LC_ALL=")
				if s := strings.TrimSpace(out); s != `{"ok":true}` {
					t.Errorf("LANG=%q: %s printed more than the API's answer:\n%s", lang, peer.name, s)
				}
			}
		})
	}

	// A revoked grant: the plugin cannot get a token without the user (exit 3), and
	// what it says reaches the user through the peer.
	restore := snapshotCache(t, home)
	r = c.run(ctx, nil, "token", "--scope", e2eScope, "--account", key, "--force-refresh")
	want(t, r, ExitOK, "refresh that rotates the refresh token")
	restore()
	r = c.run(ctx, nil, "token", "--scope", e2eScope, "--account", key, "--force-refresh")
	want(t, r, ExitInteractionRequired, "refresh with a rotated-away refresh token")
	t.Run("client-go/sign-in-needed", func(t *testing.T) {
		out, err := runPeer(t, ctx, peers[0].cmd, bin, home, key, nil, "--force-refresh")
		if err == nil {
			t.Fatalf("client-go got a token from a revoked grant:\n%s", out)
		}
		if !strings.Contains(out, "tokendesk login") {
			t.Errorf("the user is not told to sign in again:\n%s", out)
		}
	})
}

// buildKubeexec builds internal/kubeexec (its own module, client-go from the module
// proxy) into the test's temporary directory.
func buildKubeexec(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeexec")
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = filepath.Join("..", "internal", "kubeexec")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building internal/kubeexec (client-go's exec plugin runner; needs the Go module proxy): %v\n%s", err, out)
	}
	return path
}

// execPluginUsesToken runs a peer (kubectl or client-go) with tokendesk as its exec
// credential plugin against a loopback stand-in for the Kubernetes API server, checks
// the peer sent wantToken as its bearer token (the peer itself validates the
// ExecCredential), and returns what the peer printed.
func execPluginUsesToken(t *testing.T, ctx context.Context, peer func(*testing.T, context.Context, string) *exec.Cmd,
	bin, home, account, wantToken string, env ...string) string {
	t.Helper()
	var got atomic.Value
	out, err := runPeer(t, ctx, peer, bin, home, account, func(auth string) { got.Store(auth) }, env...)
	if err != nil {
		t.Fatalf("%v with the tokendesk plugin: %v\n%s", env, err, strings.ReplaceAll(out, wantToken, "[token]"))
	}
	if auth, _ := got.Load().(string); auth != "Bearer "+wantToken {
		t.Errorf("%v: the peer did not send tokendesk's token (Authorization header of %d bytes)", env, len(auth))
	}
	return strings.ReplaceAll(out, wantToken, "[token]")
}

// runPeer writes a kubeconfig whose user runs bin as its exec plugin (extra args after
// env entries are tokendesk arguments), runs the peer with it, and returns its combined
// output. seen receives each request's Authorization header.
func runPeer(t *testing.T, ctx context.Context, peer func(*testing.T, context.Context, string) *exec.Cmd,
	bin, home, account string, seen func(string), envOrArgs ...string) (string, error) {
	t.Helper()
	var env, extra []string
	for _, s := range envOrArgs {
		if strings.HasPrefix(s, "--") {
			extra = append(extra, s)
		} else {
			env = append(env, s)
		}
	}
	// TLS, because client-go runs exec plugins only for TLS connections.
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if seen != nil {
			seen(auth)
		}
		if auth == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer api.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})

	args := []string{"token", "--output", "exec-credential", "--scope", e2eScope, "--account", account}
	args = append(args, extra...)
	var quoted []string
	for _, a := range args {
		quoted = append(quoted, fmt.Sprintf("%q", a))
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: me
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %s
      args: [%s]
      env:
      - name: TOKENDESK_HOME
        value: %q
      interactiveMode: Never
contexts:
- name: local
  context: {cluster: local, user: me}
current-context: local
`, api.URL, base64.StdEncoding.EncodeToString(caPEM), bin, strings.Join(quoted, ", "), home)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := peer(t, ctx, kubeconfig)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
