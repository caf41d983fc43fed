package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/internal/trayhost"
)

// trayApp is the real binary running on a seeded profile, registered with a test
// StatusNotifier host.
type trayApp struct {
	t          testing.TB
	bin, seed  string // the app and demoseed binaries
	dir        string // the profile (TOKENDESK_HOME)
	env        []string
	cmd        *exec.Cmd
	exited     chan error
	out        *testenv.Buffer
	host       *trayhost.Host
	started    time.Time
	registered time.Time
}

// toolsDir holds buildTools' binaries; TestMain removes it when the run ends.
var toolsDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if toolsDir != "" {
		os.RemoveAll(toolsDir)
	}
	os.Exit(code)
}

// buildTools builds the app and internal/demoseed once per test binary run.
var buildTools = func() func(t testing.TB) (bin, seed string) {
	var bin, seed string
	var err error
	var out []byte
	done := false
	return func(t testing.TB) (string, string) {
		t.Helper()
		if !done {
			done = true
			dir, derr := os.MkdirTemp("", "tokendesk-tray-")
			if derr != nil {
				t.Fatal(derr)
			}
			toolsDir = dir
			bin, seed = filepath.Join(dir, "tokendesk"), filepath.Join(dir, "demoseed")
			for _, b := range [][2]string{{bin, "."}, {seed, "./internal/demoseed"}} {
				cmd := exec.Command(requireTool(t, "go"), "build", "-o", b[0], b[1])
				cmd.Dir = moduleRoot(t)
				if out, err = cmd.CombinedOutput(); err != nil {
					break
				}
			}
		}
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		if other := os.Getenv("TOKENDESK_TRAY_BIN"); other != "" {
			return other, seed // BenchmarkTrayRegister against another build
		}
		return bin, seed
	}
}()

// startTrayApp seeds n demo accounts, starts a tray host and then the app, and waits
// for its item to register.
func startTrayApp(t testing.TB, n int, clearSeconds int) *trayApp {
	t.Helper()
	return startTrayAppOn(t, n, clearSeconds, "")
}

// startTrayAppOn is startTrayApp with the host and the app on the bus at busAddr (""
// for the session bus); seeding still uses the session bus's keyring.
func startTrayAppOn(t testing.TB, n int, clearSeconds int, busAddr string) *trayApp {
	t.Helper()
	requireTool(t, "xclip")
	bin, seed := buildTools(t)
	tmp := t.TempDir()
	a := &trayApp{t: t, bin: bin, seed: seed, dir: filepath.Join(tmp, "profile"), out: &testenv.Buffer{}}
	home := filepath.Join(tmp, "home")
	a.env = append(os.Environ(),
		"TOKENDESK_HOME="+a.dir, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"), "LANG=en_US.UTF-8")
	a.seedAccounts(n)
	a.setConfig("clipboard_clear_seconds", clearSeconds)

	a.host = trayhost.Start(t, busAddr)
	a.cmd = exec.Command(bin)
	a.cmd.Env = a.env
	if busAddr != "" {
		a.cmd.Env = append(slices.Clone(a.env), "DBUS_SESSION_BUS_ADDRESS="+busAddr)
	}
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	a.started = time.Now()
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.exited = make(chan error, 1)
	go func() { a.exited <- a.cmd.Wait() }()
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			_ = a.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-a.exited:
			case <-time.After(5 * time.Second):
				_ = a.cmd.Process.Kill()
				<-a.exited
			}
		}
		if t.Failed() {
			t.Log(tail(a.out.String()))
		}
	})
	a.registered = a.host.WaitItem(60 * time.Second)
	return a
}

// seedAccounts writes n demo accounts into the profile through storage, as another
// Tokendesk process would (it replaces the cache).
func (a *trayApp) seedAccounts(n int) {
	a.t.Helper()
	cmd := exec.Command(a.seed, "-dir", a.dir, "-n", strconv.Itoa(n))
	cmd.Env = a.env
	if out, err := cmd.CombinedOutput(); err != nil {
		a.t.Fatalf("demoseed: %v\n%s", err, out)
	}
}

// setConfig sets one field of config.json.
func (a *trayApp) setConfig(field string, v any) {
	a.t.Helper()
	p := filepath.Join(a.dir, "config.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		a.t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		a.t.Fatal(err)
	}
	m[field] = v
	raw, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(p, raw, 0o600); err != nil {
		a.t.Fatal(err)
	}
}

// cli runs the CLI on the same profile (another process) and returns its stdout.
func (a *trayApp) cli(args ...string) string {
	a.t.Helper()
	cmd := exec.Command(a.bin, args...)
	cmd.Env = a.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		a.t.Fatalf("tokendesk %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// cliAccount is one account of `tokendesk accounts --json`.
type cliAccount struct {
	Key, Name, Username, Status string
}

func (a *trayApp) accounts() []cliAccount {
	a.t.Helper()
	var out []cliAccount
	if err := json.Unmarshal([]byte(a.cli("accounts", "--json")), &out); err != nil {
		a.t.Fatal(err)
	}
	return out
}

// trayLabel is how the tray must list an account: name, username, status in words.
func trayLabel(c cliAccount) string {
	l := c.Name
	if l == "" {
		l = c.Username
	}
	if c.Username != "" && c.Username != l {
		l += " (" + c.Username + ")"
	}
	switch c.Status {
	case "valid":
		return l + " — signed in"
	case "refreshable":
		return l + " — token expired, renews on copy"
	default:
		return l + " — needs sign-in"
	}
}

// accountLabels are the tray labels of the CLI's accounts, in the CLI's order.
func accountLabels(accs []cliAccount) []string {
	var out []string
	for _, c := range accs {
		out = append(out, trayLabel(c))
	}
	return out
}

// menuAccounts are the top-level items of f that open an account's submenu.
func menuAccounts(f trayhost.Fetch) []string {
	var out []string
	for _, c := range f.Root.Children {
		if len(c.Children) > 0 {
			out = append(out, c.Label)
		}
	}
	return out
}

// clipboard reads the X clipboard ("" when nobody owns it).
func clipboard(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "xclip", "-o", "-selection", "clipboard").Output()
	return string(out)
}

// waitClipboard polls the clipboard until cond holds (at most timeout) and returns
// its content and when cond first held.
func waitClipboard(t testing.TB, timeout time.Duration, cond func(string) bool) (string, time.Time, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := clipboard(t)
		if cond(c) {
			return c, time.Now(), true
		}
		if time.Now().After(deadline) {
			return c, time.Now(), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quit clicks Quit in the tray and waits for a clean exit, then releases the host.
func (a *trayApp) quit() {
	a.t.Helper()
	f := a.host.Layout()
	a.host.ClickQuit(f.Find("Quit").ID)
	select {
	case err := <-a.exited:
		if err != nil {
			a.t.Fatalf("exit after Quit: %v\n%s", err, tail(a.out.String()))
		}
	case <-time.After(10 * time.Second):
		a.t.Fatalf("still running 10 s after Quit\n%s", a.dump())
	}
	a.host.Close()
}

// dump has the app print its goroutines (SIGQUIT) and returns the end of its output.
func (a *trayApp) dump() string {
	_ = a.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
	}
	s := a.out.String()
	if i := strings.Index(s, "goroutine "); i > 0 {
		s = s[i:]
	}
	if len(s) > 30000 {
		s = s[:30000]
	}
	return s
}
