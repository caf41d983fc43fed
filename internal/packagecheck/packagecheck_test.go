//go:build packagecheck

package packagecheck

import (
	"bufio"
	"context"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// artifacts is what `make package-check` passes: the dist directory and the version
// stamp make package gave the binaries.
type artifacts struct {
	dist, stamp string
	version     string // FyneApp.toml's Version
	build       int    // and Build
	name, id    string // Details.Name and Details.ID
}

func load(t *testing.T) artifacts {
	t.Helper()
	a := artifacts{dist: os.Getenv("TOKENDESK_DIST"), stamp: os.Getenv("TOKENDESK_VERSION")}
	if a.dist == "" || a.stamp == "" {
		t.Fatal("TOKENDESK_DIST and TOKENDESK_VERSION are not set: run these tests with `make package-check`")
	}
	toml, err := os.ReadFile(filepath.Join("..", "..", "FyneApp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	field := func(key string) string {
		m := regexp.MustCompile(`(?m)^\s*` + key + `\s*=\s*"?([^"\n]*)"?\s*$`).FindSubmatch(toml)
		if m == nil {
			t.Fatalf("FyneApp.toml has no %s", key)
		}
		return string(m[1])
	}
	a.version, a.name, a.id = field("Version"), field("Name"), field("ID")
	if a.build, err = strconv.Atoi(field("Build")); err != nil {
		t.Fatalf("FyneApp.toml Build: %v", err)
	}
	return a
}

func TestWindowsExe(t *testing.T) {
	a := load(t)
	exe := filepath.Join(a.dist, a.name+".exe")
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("make package built no Windows executable: %v", err)
	}
	for _, err := range checkExe(exe, a.version, a.build, a.stamp) {
		t.Errorf("%s: %v", exe, err)
	}
}

// TestWindowsExeCheckRejects: the check above fails a console program with no
// resources and no version, so it is not a check that cannot fail.
func TestWindowsExeCheckRejects(t *testing.T) {
	a := load(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "console.exe")
	build := exec.Command("go", "build", "-o", exe, src)
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build a console exe: %v\n%s", err, out)
	}
	errs := checkExe(exe, a.version, a.build, a.stamp)
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"subsystem 3, want the Windows GUI", "resources: no .rsrc section"} {
		if !strings.Contains(all, want) {
			t.Errorf("checking a console exe without resources: no %q among\n%s", want, all)
		}
	}
}

// unpack extracts the tar.xz with the real tar, as a user would, and returns the
// directory holding its Makefile.
func unpack(t *testing.T, a artifacts) string {
	t.Helper()
	tarball := filepath.Join(a.dist, a.name+".tar.xz")
	if _, err := os.Stat(tarball); err != nil {
		t.Fatalf("make package built no Linux package: %v", err)
	}
	dir := t.TempDir()
	run(t, dir, nil, "tar", "-xJf", tarball)
	mk, err := filepath.Glob(filepath.Join(dir, "*", "Makefile"))
	if err != nil || len(mk) != 1 {
		t.Fatalf("%s holds %d Makefiles (%v), want one", tarball, len(mk), err)
	}
	return filepath.Dir(mk[0])
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run `make deps`", name)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// desktopEntry reads the [Desktop Entry] group of a .desktop file.
func desktopEntry(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entry := map[string]string{}
	group := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			group = line
		case group == "[Desktop Entry]":
			k, v, _ := strings.Cut(line, "=")
			entry[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return entry
}

// validate runs desktop-file-validate: no errors and no warnings (hints are advice).
func validate(t *testing.T, desktop string) {
	t.Helper()
	cmd := exec.Command("desktop-file-validate", desktop)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "error:") || strings.Contains(string(out), "warning:") {
		t.Errorf("desktop-file-validate %s: %v\n%s", desktop, err, out)
	}
}

// findIcon looks an icon up by name as GTK does: in each data directory's icons
// (hicolor theme, then unthemed) and pixmaps, $XDG_DATA_HOME first.
func findIcon(name string, dataDirs []string) string {
	for _, d := range dataDirs {
		var candidates []string
		for _, size := range []string{"scalable", "512x512", "256x256", "128x128", "64x64", "48x48"} {
			candidates = append(candidates, filepath.Join(d, "icons", "hicolor", size, "apps", name))
		}
		candidates = append(candidates, filepath.Join(d, "icons", name), filepath.Join(d, "pixmaps", name))
		for _, c := range candidates {
			for _, ext := range []string{".png", ".svg", ".xpm"} {
				if _, err := os.Stat(c + ext); err == nil {
					return c + ext
				}
			}
		}
	}
	return ""
}

func checkIcon(t *testing.T, icon string) {
	t.Helper()
	f, err := os.Open(icon)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("icon %s: %v", icon, err)
	}
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() < 128 {
		t.Errorf("icon %s is %dx%d, want a square of at least 128 px", icon, b.Dx(), b.Dy())
	}
}

// TestLinuxInstall installs the tar.xz with its Makefile the two ways its users do
// (`make install PREFIX=…`, and `make user-install` into ~/.local), validates the
// .desktop file, finds the icon by name and starts the app from the .desktop file
// with GLib's launcher, checking the window belongs to the installed binary.
func TestLinuxInstall(t *testing.T) {
	a := load(t)
	if os.Getenv("DISPLAY") == "" {
		t.Fatal("no DISPLAY: run through `make package-check`, which starts Xvfb")
	}
	for _, mode := range []string{"install", "user-install"} {
		t.Run(mode, func(t *testing.T) {
			src := unpack(t, a)
			tmp := t.TempDir()
			home := filepath.Join(tmp, "home")
			prefix := filepath.Join(tmp, "prefix")
			var dataDirs []string // where a desktop session looks, $XDG_DATA_HOME first
			var bin, desktop string
			switch mode {
			case "install":
				run(t, src, []string{"HOME=" + home}, "make", "install", "PREFIX="+prefix)
				bin = filepath.Join(prefix, "bin", "tokendesk")
				desktop = filepath.Join(prefix, "share", "applications", a.id+".desktop")
				dataDirs = []string{filepath.Join(home, ".local", "share"), filepath.Join(prefix, "share")}
			case "user-install":
				run(t, src, []string{"HOME=" + home}, "make", "user-install")
				bin = filepath.Join(home, ".local", "bin", "tokendesk")
				desktop = filepath.Join(home, ".local", "share", "applications", a.id+".desktop")
				dataDirs = []string{filepath.Join(home, ".local", "share")}
			}
			if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
				t.Fatalf("installed binary %s: %v (mode %v)", bin, err, fi)
			}
			validate(t, desktop)
			entry := desktopEntry(t, desktop)
			if entry["Type"] != "Application" || entry["Name"] != a.name {
				t.Errorf("%s: Type %q, Name %q", desktop, entry["Type"], entry["Name"])
			}

			// The installed binary is the stamped one, quiet in a container's locale.
			ver := exec.Command(bin, "version")
			ver.Env = append(os.Environ(), "LANG=C.UTF-8", "TOKENDESK_HOME="+t.TempDir())
			var stderr strings.Builder
			ver.Stderr = &stderr
			out, err := ver.Output()
			if err != nil || strings.TrimSpace(string(out)) != "tokendesk "+a.stamp || stderr.Len() != 0 {
				t.Errorf("LANG=C.UTF-8 %s version: %q (%v), want %q and nothing on stderr; stderr:\n%s",
					bin, out, err, "tokendesk "+a.stamp, stderr.String())
			}

			icon := findIcon(entry["Icon"], dataDirs)
			if icon == "" {
				t.Errorf("Icon=%s is not found by name under %v", entry["Icon"], dataDirs)
			} else {
				checkIcon(t, icon)
			}

			launch(t, desktop, bin, home, filepath.Dir(bin), dataDirs)
		})
	}
}

// launch starts the app from its .desktop file with `gio launch` (GLib's
// GDesktopAppInfo, what GNOME uses) with wantBin's directory on PATH, waits for the
// window and checks the process that owns it runs wantBin.
func launch(t *testing.T, desktop, wantBin, home, binDir string, dataDirs []string) {
	t.Helper()
	gio, err := exec.LookPath("gio")
	if err != nil {
		t.Fatal("gio not found (libglib2.0-bin): run `make deps`")
	}
	xdotool, err := exec.LookPath("xdotool")
	if err != nil {
		t.Fatal("xdotool not found: run `make deps`")
	}
	profile := t.TempDir()
	cmd := exec.Command(gio, "launch", desktop)
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"PATH="+binDir+":"+os.Getenv("PATH"),
		"XDG_DATA_HOME="+dataDirs[0],
		"XDG_DATA_DIRS="+strings.Join(dataDirs[1:], ":")+":/usr/share",
		"TOKENDESK_HOME="+profile,
		"LANG=C.UTF-8")
	// A file, not a pipe: the app inherits gio's output and outlives it.
	logFile := filepath.Join(t.TempDir(), "launch.log")
	logOut, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer logOut.Close()
	cmd.Stdout, cmd.Stderr = logOut, logOut
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logFile)
		t.Fatalf("gio launch %s: %v\n%s", desktop, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var pid int
	for pid == 0 {
		out, _ := exec.CommandContext(ctx, xdotool, "search", "--onlyvisible", "--name", "^Tokendesk$").Output()
		for _, wid := range strings.Fields(string(out)) {
			p, err := exec.Command(xdotool, "getwindowpid", wid).Output()
			if err != nil {
				continue
			}
			n, _ := strconv.Atoi(strings.TrimSpace(string(p)))
			exe, _ := os.Readlink("/proc/" + strconv.Itoa(n) + "/exe")
			if exe == wantBin {
				pid = n
			}
		}
		if pid == 0 {
			if ctx.Err() != nil {
				out, _ := os.ReadFile(logFile)
				t.Fatalf("no Tokendesk window of %s within 60 s after gio launch; it printed:\n%s", wantBin, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Quit it as a session ending would, and make sure it is gone.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		// Gone, or a zombie its new parent has yet to reap.
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if i == 100 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the launched app (pid %d) did not quit within 10 s of SIGTERM", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
