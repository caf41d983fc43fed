package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

const (
	windowName  = "Tokendesk"
	convertPath = "/usr/bin/convert" // ImageMagick by full path, as documented
	// minColours is how many distinct colours the window must show: a blank or
	// single-colour window has one or two, a rendered label and buttons many more.
	minColours = 8
)

// moduleRoot finds the repository from this file, so the test builds the real app
// whatever directory go test runs it in.
func moduleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		t.Fatal("cannot locate the module root from the test's source path (built with -trimpath?)")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}

func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run `make deps`", name)
	}
	return p
}

func TestSmokeMainWindow(t *testing.T) {
	requireDisplay(t)
	seed := os.Getenv("TOKENDESK_SMOKE_SEED")
	shot, _ := runSmoke(t, seed)
	if out := os.Getenv("TOKENDESK_SCREENSHOT_OUT"); out != "" {
		if out == "1" {
			out = filepath.Join(moduleRoot(t), "docs", "screenshot-main.png")
		}
		savePNG(t, out, shot)
		t.Logf("screenshot saved to %s", out)
	}
}

// TestSmokeSeededWindow opens the real binary on a profile of 1,000 accounts written
// through storage (encrypted, key in the real keyring) by internal/demoseed: the window
// must report, through its start-up trace, that it painted the loaded account list,
// and the CLI on the same profile must count all 1,000 accounts.
func TestSmokeSeededWindow(t *testing.T) {
	requireDisplay(t)
	const accounts = 1000
	seed := t.TempDir()
	gen := exec.Command(requireTool(t, "go"), "run", "./internal/demoseed", "-dir", seed, "-n", strconv.Itoa(accounts))
	gen.Dir = moduleRoot(t)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("demoseed: %v\n%s", err, out)
	}
	_, run := runSmoke(t, seed, "TOKENDESK_TRACE_STARTUP=1")
	if !strings.Contains(run.output, "tokendesk-trace accounts-frame") {
		t.Errorf("the window never painted its loaded account list\n%s", tail(run.output))
	}
	if strings.Contains(run.output, "moved aside") || strings.Contains(run.output, "corrupt") {
		t.Errorf("the seeded cache was not readable by the app\n%s", tail(run.output))
	}

	list := exec.Command(run.bin, "accounts", "--json")
	list.Env = run.env
	out, err := list.Output()
	if err != nil {
		t.Fatalf("tokendesk accounts --json: %v", err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("tokendesk accounts --json: %v", err)
	}
	if len(got) != accounts {
		t.Errorf("the seeded profile lists %d accounts, want %d", len(got), accounts)
	}
}

func requireDisplay(t testing.TB) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	if os.Getenv("TOKENDESK_SKIP_SMOKE") == "1" && !ci {
		t.Skip("TOKENDESK_SKIP_SMOKE=1")
	}
	if os.Getenv("DISPLAY") == "" {
		if ci {
			t.Fatal("DISPLAY is not set in CI: run the tests through `make test`, which starts Xvfb")
		}
		t.Skip("no DISPLAY: run `make test` (private Xvfb) or set TOKENDESK_SKIP_SMOKE=1")
	}
}

// smokeRun is what a smoke run leaves for further checks: the binary, the environment
// it ran with (its profile), and everything it printed.
type smokeRun struct {
	bin    string
	env    []string
	output string
}

// runSmoke builds the real app, starts it on a profile copied from seed (empty when
// seed is ""), waits for its window, checks a screenshot is not blank, and stops it
// with SIGTERM, requiring exit status 0. It returns the window's screenshot.
func runSmoke(t *testing.T, seed string, extraEnv ...string) (image.Image, smokeRun) {
	t.Helper()
	xdotool := requireTool(t, "xdotool")
	xwd := requireTool(t, "xwd")
	if _, err := os.Stat(convertPath); err != nil {
		t.Fatalf("%s (ImageMagick) not found: run `make deps`", convertPath)
	}
	root := moduleRoot(t)
	tmp := t.TempDir()

	bin := filepath.Join(tmp, "tokendesk")
	build := exec.Command(requireTool(t, "go"), "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	profile := filepath.Join(tmp, "profile")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	if seed != "" {
		if err := os.CopyFS(profile, os.DirFS(seed)); err != nil {
			t.Fatalf("copy the seeded profile: %v", err)
		}
	}
	home := filepath.Join(tmp, "home")
	env := append(os.Environ(),
		"TOKENDESK_HOME="+profile,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"LANG=en_US.UTF-8",
	)
	env = append(env, extraEnv...)

	var stderr testenv.Buffer
	app := exec.Command(bin)
	app.Dir = tmp
	app.Env = env
	app.Stdout = &stderr
	app.Stderr = &stderr
	start := time.Now()
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	t.Cleanup(func() {
		if app.ProcessState == nil {
			_ = app.Process.Kill()
			<-exited
		}
	})

	wid := waitWindow(t, xdotool, exited, &stderr)
	t.Logf("window %s after %v", wid, time.Since(start).Round(time.Millisecond))
	geom := windowGeometry(t, xdotool, wid)

	// The first frames may still be empty: retry until the window shows content.
	var shot image.Image
	var colours int
	deadline := time.Now().Add(15 * time.Second)
	for {
		full := screenshot(t, xwd, tmp)
		shot = crop(full, geom)
		colours = distinctColours(shot, 1000)
		if colours >= minColours || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if colours < minColours {
		t.Errorf("window %v shows %d distinct colours, want at least %d: blank window?", geom, colours, minColours)
	}
	if b := shot.Bounds(); b.Dx() < 100 || b.Dy() < 30 {
		t.Errorf("window is %dx%d, too small to be the main window", b.Dx(), b.Dy())
	}

	// SIGTERM is how a session manager or `kill` ends the app; it must quit cleanly
	// (exit status 0) even when closing the window would only hide it to the tray.
	if err := app.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("app exit after SIGTERM: %v; want status 0\n%s", err, tail(stderr.String()))
		}
	case <-time.After(5 * time.Second):
		t.Errorf("app still running 5 s after SIGTERM\n%s", tail(stderr.String()))
	}
	if s := stderr.String(); strings.Contains(s, "panic:") || strings.Contains(s, "fatal error:") {
		t.Errorf("app crashed:\n%s", tail(s))
	}
	return shot, smokeRun{bin: bin, env: env, output: stderr.String()}
}

// waitWindow polls for a visible window named Tokendesk, failing early if the app exits.
func waitWindow(t testing.TB, xdotool string, exited <-chan error, out *testenv.Buffer) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, _ := exec.CommandContext(ctx, xdotool, "search", "--onlyvisible", "--name", "^"+windowName).Output()
		cancel()
		if ids := strings.Fields(string(res)); len(ids) > 0 {
			return ids[0]
		}
		select {
		case err := <-exited:
			t.Fatalf("app exited before showing its window: %v\n%s", err, tail(out.String()))
		case <-deadline:
			t.Fatalf("no window named %q within 60 s\n%s", windowName, tail(out.String()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func windowGeometry(t *testing.T, xdotool, wid string) image.Rectangle {
	t.Helper()
	out, err := exec.Command(xdotool, "getwindowgeometry", "--shell", wid).Output()
	if err != nil {
		t.Fatalf("xdotool getwindowgeometry: %v", err)
	}
	v := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, val, ok := strings.Cut(line, "="); ok {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err == nil {
				v[k] = n
			}
		}
	}
	r := image.Rect(v["X"], v["Y"], v["X"]+v["WIDTH"], v["Y"]+v["HEIGHT"])
	if r.Empty() {
		t.Fatalf("window geometry %q", out)
	}
	return r
}

// screenshot grabs the whole X screen as xwd and converts it to PNG with ImageMagick.
func screenshot(t *testing.T, xwd, dir string) image.Image {
	t.Helper()
	xwdFile, pngFile := filepath.Join(dir, "shot.xwd"), filepath.Join(dir, "shot.png")
	raw, err := exec.Command(xwd, "-root", "-silent").Output()
	if err != nil {
		t.Fatalf("xwd: %v", err)
	}
	if err := os.WriteFile(xwdFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(convertPath, xwdFile, pngFile).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
	f, err := os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	return img
}

func crop(img image.Image, r image.Rectangle) image.Image {
	r = r.Intersect(img.Bounds())
	dst := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			dst.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	return dst
}

// distinctColours counts colours in img, stopping at limit.
func distinctColours(img image.Image, limit int) int {
	seen := map[[3]uint32]struct{}{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = struct{}{}
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tail is the end of the app's output, for failure messages.
func tail(s string) string {
	const max = 4000
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return fmt.Sprintf("--- app output ---\n%s", s)
}
