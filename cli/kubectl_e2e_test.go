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
)

// kubectlUsesToken runs the real kubectl with tokendesk as its exec credential plugin
// against a loopback stand-in for the Kubernetes API server, and checks kubectl sent
// wantToken as its bearer token: kubectl itself validates the ExecCredential.
func kubectlUsesToken(t *testing.T, ctx context.Context, bin, home, account, wantToken string) {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the ExecCredential is still checked against its schema above")
	}
	var got atomic.Value
	// TLS, because client-go runs exec plugins only for TLS connections.
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		got.Store(auth)
		if auth == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer api.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})

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
      args: [token, --output, exec-credential, --scope, %q, --account, %q]
      env:
      - name: TOKENDESK_HOME
        value: %q
      interactiveMode: Never
contexts:
- name: local
  context: {cluster: local, user: me}
current-context: local
`, api.URL, base64.StdEncoding.EncodeToString(caPEM), bin, e2eScope, account, home)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/tokendesk-check")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl with the tokendesk plugin: %v\n%s", err, strings.ReplaceAll(string(out), wantToken, "[token]"))
	}
	if auth, _ := got.Load().(string); auth != "Bearer "+wantToken {
		t.Errorf("kubectl did not send tokendesk's token (Authorization header of %d bytes)", len(auth))
	}
}
