package cli

import (
	"bytes"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/storage"
)

// The real git, with the real tokendesk binary as its credential helper, against a
// loopback smart-HTTP server (git http-backend behind net/http/cgi) that takes Basic
// auth whose password must be an access token the Entra stand-in issued for Azure
// DevOps' resource.

const devOpsResource = "499b84ac-1321-427f-aa17-267ca6975798"

// gitServer is the loopback git host.
type gitServer struct {
	*httptest.Server
	mu      sync.Mutex
	refused map[string]bool // passwords it now rejects, as after a revocation
	used    []string        // passwords it accepted, in order
	denied  int             // 401s sent for a wrong or refused password
}

func newGitServer(t *testing.T, entra *testenv.Entra, root string) *gitServer {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git is not installed: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	s := &gitServer{refused: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, ok := r.BasicAuth()
		s.mu.Lock()
		good := ok && !s.refused[pw] && entra.Valid(pw, devOpsResource)
		if good {
			s.used = append(s.used, pw)
		} else if ok {
			s.denied++
		}
		s.mu.Unlock()
		if !good {
			w.Header().Set("WWW-Authenticate", `Basic realm="tokendesk test git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *gitServer) lastPassword() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.used) == 0 {
		return ""
	}
	return s.used[len(s.used)-1]
}

func (s *gitServer) refuse(pw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[pw] = true
}

func TestGitCredentialHelperBinary(t *testing.T) {
	requireMSALPython(t)
	testenv.RequireKeyring(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	bin := buildBinary(t)
	ctx := e2eContext(t)
	entra := testenv.NewEntra(t)

	// A repository on the server, with one commit.
	root := t.TempDir()
	seed := t.TempDir()
	gitIn := func(dir string, env []string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	gitHome := t.TempDir()
	home := t.TempDir()
	baseEnv := entra.Environ("HOME="+gitHome, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.test", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.test",
		"TOKENDESK_HOME="+home, "DISPLAY=", "WAYLAND_DISPLAY=")
	must := func(out string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	must(gitIn(seed, baseEnv, "init", "-q", "-b", "main"))
	os.WriteFile(filepath.Join(seed, "README"), []byte("hello\n"), 0o600)
	must(gitIn(seed, baseEnv, "add", "README"))
	must(gitIn(seed, baseEnv, "commit", "-q", "-m", "first"))
	must(gitIn(root, baseEnv, "clone", "-q", "--bare", seed, "repo.git"))
	must(gitIn(filepath.Join(root, "repo.git"), baseEnv, "config", "http.receivepack", "true"))
	srv := newGitServer(t, entra, root)
	host := strings.TrimPrefix(srv.URL, "http://")

	// Tokendesk: Azure CLI's sign-in imported, and the server's host mapped to Azure
	// DevOps' scope.
	cache, _ := azureCLICache(t, entra)
	cacheFile := filepath.Join(t.TempDir(), "msal_token_cache.json")
	os.WriteFile(cacheFile, cache, 0o600)
	if err := storage.SaveConfig(home, &storage.Config{ClipboardClearSeconds: 60,
		CredentialHosts: []storage.CredentialHost{{Host: host, Scope: devOpsResource + "/.default"}}}); err != nil {
		t.Fatal(err)
	}
	c := cliProc{t: t, bin: bin, home: home}
	want(t, c.run(ctx, entra.Env, "import", "--msal-cache", cacheFile), ExitOK, "import")

	// Only our helper: the empty value resets any inherited list.
	helper := []string{"-c", "credential.helper=", "-c", "credential.helper=!'" + bin + "' credential"}
	gitCmd := func(dir string, args ...string) (string, error) {
		return gitIn(dir, baseEnv, append(append([]string(nil), helper...), args...)...)
	}
	requests := func() int { return len(entra.TokenRequests()) }

	// Clone: the helper redeems the imported refresh token for a DevOps token.
	work := filepath.Join(t.TempDir(), "work")
	n := requests()
	must(gitCmd(".", "clone", "-q", srv.URL+"/repo.git", work))
	if got := requests() - n; got != 1 {
		t.Fatalf("clone: %d token requests, want 1 (a refresh)", got)
	}
	first := srv.lastPassword()
	if first == "" {
		t.Fatal("the server never saw a good password")
	}

	// Push: the token comes from the cache, no request.
	os.WriteFile(filepath.Join(work, "README"), []byte("hello again\n"), 0o600)
	must(gitCmd(work, "commit", "-q", "-am", "second"))
	n = requests()
	must(gitCmd(work, "push", "-q", "origin", "main"))
	if got := requests() - n; got != 0 {
		t.Errorf("push: %d token requests, want 0 (the cached token)", got)
	}
	if srv.lastPassword() != first {
		t.Error("push did not use the cached token")
	}
	if out, err := gitIn(filepath.Join(root, "repo.git"), baseEnv, "log", "--oneline", "main"); err != nil || !strings.Contains(out, "second") {
		t.Errorf("the push did not arrive: %v\n%s", err, out)
	}

	// The server refuses the token: git says so with "erase", and fails this once.
	srv.refuse(first)
	out, err := gitCmd(work, "fetch", "-q", "origin")
	if err == nil {
		t.Fatal("fetch with a refused token succeeded")
	}
	if strings.Contains(out, first) {
		t.Error("git printed the token")
	}
	// The next try refreshes: a new token, one request.
	n = requests()
	must(gitCmd(work, "fetch", "-q", "origin"))
	if got := requests() - n; got != 1 {
		t.Errorf("fetch after erase: %d token requests, want 1 (a refresh)", got)
	}
	if pw := srv.lastPassword(); pw == first || pw == "" {
		t.Error("fetch after erase reused the refused token")
	}

	// A host Tokendesk does not serve: the helper answers nothing, so git (with no
	// other helper and no terminal) gives up asking for a username.
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	n = requests()
	out, err = gitCmd(".", "ls-remote", other+"/repo.git")
	if err == nil || !strings.Contains(out, "Username") || requests() != n {
		t.Errorf("unmapped host: err %v, %d requests, output:\n%s", err, requests()-n, out)
	}
}
