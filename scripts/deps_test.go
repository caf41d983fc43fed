package scripts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The stand-ins a simulated machine puts first on PATH. They log every call to
// $DEPS_LOG; dpkg knows the packages listed in $DEPS_STATE, and apt-get install adds to
// that list, as on a real machine.
var stubs = map[string]string{
	"dpkg": `echo "dpkg $*" >> "$DEPS_LOG"
if [[ $1 == -s ]]; then
	if /usr/bin/grep -qx -- "$2" "$DEPS_STATE"; then
		printf 'Package: %s\nStatus: install ok installed\n' "$2"
		exit 0
	fi
	echo "dpkg-query: package '$2' is not installed and no information is available" >&2
	exit 1
fi
exit 2`,
	"apt-get": `echo "apt-get $*" >> "$DEPS_LOG"
for a in "$@"; do
	case $a in
	update) exit "${DEPS_APT_UPDATE_RC:-0}" ;;
	install)
		if [[ ${DEPS_APT_INSTALL_RC:-0} != 0 ]]; then
			echo "E: Unable to locate package" >&2
			exit "$DEPS_APT_INSTALL_RC"
		fi ;;
	-*) ;;
	*) [[ " ${DEPS_APT_BROKEN:-} " == *" $a "* ]] || echo "$a" >> "$DEPS_STATE" ;;
	esac
done`,
	"sudo": `echo "sudo $*" >> "$DEPS_LOG"
exec "$@"`,
	"id":   `echo "${DEPS_UID:-0}"`,
	"go":   `[[ "$*" == "env GOVERSION" ]] && echo "$DEPS_GOVERSION"`,
	"node": `exit 0`,
	"npm":  `exit 0`,
}

// realTools are the real programs the script itself runs besides those stand-ins.
var realTools = []string{"bash", "env", "sed", "sort", "head", "dirname", "uname"}

// machine is one simulated machine: which stand-ins exist and how they behave.
type machine struct {
	name      string
	installed func(all []string) []string // packages dpkg lists at the start
	without   []string                    // stand-ins this machine lacks
	env       []string                    // DEPS_* settings of the stand-ins
}

type outcome struct {
	code           int
	stdout, stderr string
	log            []string // every stand-in call, in order
	installedAfter []string
}

func (m machine) run(t *testing.T, args ...string) outcome {
	t.Helper()
	dir := t.TempDir()
	stubDir := filepath.Join(dir, "stub")
	baseDir := filepath.Join(dir, "base")
	for _, d := range []string{stubDir, baseDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range stubs {
		if slices.Contains(m.without, name) {
			continue
		}
		if err := os.WriteFile(filepath.Join(stubDir, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range realTools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s not found: the deps script needs it", tool)
		}
		if err := os.Symlink(p, filepath.Join(baseDir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(dir, "dpkg-state")
	logFile := filepath.Join(dir, "calls.log")
	var pre []string
	if m.installed != nil {
		pre = m.installed(allPackages(t))
	}
	if err := os.WriteFile(state, []byte(strings.Join(pre, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("./ci-deps.sh", args...)
	cmd.Env = append([]string{
		"PATH=" + stubDir + ":" + baseDir,
		"HOME=" + dir,
		"DEPS_STATE=" + state,
		"DEPS_LOG=" + logFile,
		"DEPS_GOVERSION=go1.99.0",
	}, m.env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	o := outcome{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		o.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running ci-deps.sh: %v", err)
	}
	o.log = readLines(t, logFile)
	o.installedAfter = readLines(t, state)
	return o
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// allPackages is the script's own list on a machine without node (so with nodejs, npm).
func allPackages(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("./ci-deps.sh", "--list").Output()
	if err != nil {
		t.Fatalf("ci-deps.sh --list: %v", err)
	}
	pkgs := strings.Fields(string(out))
	for _, p := range []string{"nodejs", "npm"} {
		if !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// installCalls returns the packages of every apt-get install call in the log, and
// whether each went through sudo.
func installCalls(log []string) (pkgs [][]string, viaSudo []bool) {
	for i, l := range log {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "apt-get" || !slices.Contains(f, "install") {
			continue
		}
		var ps []string
		for _, a := range f[slices.Index(f, "install")+1:] {
			if !strings.HasPrefix(a, "-") {
				ps = append(ps, a)
			}
		}
		pkgs = append(pkgs, ps)
		viaSudo = append(viaSudo, i > 0 && strings.HasPrefix(log[i-1], "sudo ") && strings.Contains(log[i-1], " install "))
	}
	return pkgs, viaSudo
}

func without(all []string, drop ...string) []string {
	var out []string
	for _, p := range all {
		if !slices.Contains(drop, p) {
			out = append(out, p)
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// keyTools are packages whose programs tests run: a fresh machine must be given each.
var keyTools = []string{"gcc", "libgl1-mesa-dev", "xvfb", "gnome-keyring", "chromium", "python3-msal",
	"python3-azure", "xclip", "e2fsprogs", "desktop-file-utils", "gcc-mingw-w64-x86-64", "nodejs", "npm"}

func TestDepsScript(t *testing.T) {
	all := allPackages(t)
	someMissing := []string{"xclip", "python3-azure", "gcc-mingw-w64-x86-64"}
	for _, tc := range []struct {
		machine
		code        int
		install     []string // the one apt-get install's packages; nil: no install
		sudo        bool     // apt-get runs through sudo
		stdout      []string // lines of stdout that must appear
		stderr      []string // and of stderr; on success stderr must be empty
		installedOK bool     // every package is installed afterwards
	}{{
		machine: machine{name: "fresh machine, user with sudo, no node",
			without: []string{"node", "npm"}, env: []string{"DEPS_UID=1000"}},
		install: all, sudo: true, installedOK: true,
		stdout: []string{fmt.Sprintf("deps: installing %d packages: ", len(all)), "deps: installed "},
	}, {
		machine: machine{name: "some missing, root",
			installed: func(all []string) []string { return without(all, someMissing...) }},
		install: someMissing, installedOK: true,
		stdout: []string{"deps: installing 3 packages: xclip python3-azure gcc-mingw-w64-x86-64"},
	}, {
		machine: machine{name: "everything present",
			installed: func(all []string) []string { return all }},
		installedOK: true,
		stdout:      []string{"deps: all system packages present"},
	}, {
		machine: machine{name: "apt-get install fails",
			installed: func(all []string) []string { return without(all, someMissing...) },
			env:       []string{"DEPS_APT_INSTALL_RC=100"}},
		code: 1, install: someMissing,
		stderr: []string{"E: Unable to locate package",
			"deps: `apt-get install` of xclip python3-azure gcc-mingw-w64-x86-64 failed",
			"deps: fix: fix what apt-get said, or install them yourself: apt-get install --no-install-recommends xclip python3-azure gcc-mingw-w64-x86-64"},
	}, {
		machine: machine{name: "apt-get update fails",
			installed: func(all []string) []string { return without(all, "xclip") },
			env:       []string{"DEPS_APT_UPDATE_RC=100", "DEPS_UID=1000"}},
		code:   1,
		stderr: []string{"deps: `sudo apt-get update` failed", "deps: fix: check the network and the sources in /etc/apt/sources.list.d"},
	}, {
		machine: machine{name: "apt-get succeeds but a package is not installed",
			installed: func(all []string) []string { return without(all, someMissing...) },
			env:       []string{"DEPS_APT_BROKEN=xclip"}},
		code: 1, install: someMissing,
		stderr: []string{"deps: apt-get succeeded but dpkg still does not list as installed: xclip", "deps: fix: "},
	}, {
		machine: machine{name: "not root and no sudo",
			installed: func(all []string) []string { return without(all, "xclip") },
			without:   []string{"sudo"}, env: []string{"DEPS_UID=1000"}},
		code:   1,
		stderr: []string{"deps: 1 packages are missing (xclip) and installing them needs root, but sudo is not installed", "deps: fix: run `make deps` as root once"},
	}, {
		machine: machine{name: "no Go", without: []string{"go"}},
		code:    1,
		stderr:  []string{"deps: Go is not installed (go.mod needs Go 1.", "deps: fix: download https://go.dev/dl/go1.", "/usr/local/go/bin on PATH"},
	}, {
		machine: machine{name: "Debian's old Go", env: []string{"DEPS_GOVERSION=go1.19.8"}},
		code:    1,
		stderr:  []string{"deps: Go 1.19.8 at ", " is older than the Go 1.", "deps: fix: download https://go.dev/dl/go1."},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.run(t)
			report := fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s\ncalls:\n%s", o.code, o.stdout, o.stderr, strings.Join(o.log, "\n"))
			if o.code != tc.code {
				t.Fatalf("want exit %d; %s", tc.code, report)
			}
			calls, viaSudo := installCalls(o.log)
			switch {
			case tc.install == nil && len(calls) != 0:
				t.Errorf("apt-get install should not run; %s", report)
			case tc.install != nil && len(calls) != 1:
				t.Errorf("want one apt-get install; %s", report)
			case tc.install != nil:
				if !slices.Equal(sorted(calls[0]), sorted(tc.install)) {
					t.Errorf("asked apt-get install for %v, want %v", calls[0], tc.install)
				}
				if viaSudo[0] != tc.sudo {
					t.Errorf("apt-get install through sudo: %v, want %v; %s", viaSudo[0], tc.sudo, report)
				}
				if !slices.Contains(o.log, strings.TrimSpace(map[bool]string{true: "sudo ", false: ""}[tc.sudo]+"apt-get update -qq")) {
					t.Errorf("no apt-get update before installing; %s", report)
				}
			}
			for _, s := range tc.stdout {
				if !strings.Contains(o.stdout, s) {
					t.Errorf("stdout lacks %q; %s", s, report)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(o.stderr, s) {
					t.Errorf("stderr lacks %q; %s", s, report)
				}
			}
			if tc.code == 0 && o.stderr != "" {
				t.Errorf("stderr on success; %s", report)
			}
			if tc.installedOK {
				for _, p := range all {
					if p == "nodejs" || p == "npm" {
						continue // only asked for where node is missing
					}
					if !slices.Contains(o.installedAfter, p) {
						t.Errorf("%s is not installed afterwards", p)
					}
				}
			}
		})
	}
	for _, p := range keyTools {
		if !slices.Contains(all, p) {
			t.Errorf("a fresh machine is not given %s", p)
		}
	}
}

// TestDepsCoverTestTools: every program a test or make target runs comes from a package
// in the deps list. The oracle is this machine's dpkg: the package that owns the program
// must be listed, or be a direct dependency of one that is (imagemagick → its
// versioned package, dbus → dbus-daemon).
func TestDepsCoverTestTools(t *testing.T) {
	out, err := exec.Command("./ci-deps.sh", "--list").Output()
	if err != nil {
		t.Fatalf("ci-deps.sh --list: %v", err)
	}
	listed := strings.Fields(string(out))
	for _, tool := range []string{
		"chattr", "xclip", "desktop-file-validate", "gio", "x86_64-w64-mingw32-gcc", "secret-tool",
		"gnome-keyring-daemon", "dbus-daemon", "dbus-send", "dbus-run-session", "Xvfb", "xauth",
		"xdotool", "xwd", "xwininfo", "/usr/bin/convert", "chromium", "xz", "make", "git", "gcc", "pkg-config",
	} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Errorf("%s not found: tests need it; run `make deps`", tool)
			continue
		}
		owner := dpkgOwner(t, path)
		if owner == "" {
			t.Errorf("%s (%s): dpkg -S names no package", tool, path)
			continue
		}
		if !slices.Contains(listed, owner) && !slices.ContainsFunc(listed, func(p string) bool { return dependsOn(t, p, owner) }) {
			t.Errorf("%s comes from Debian package %s, which scripts/ci-deps.sh does not install", tool, owner)
		}
	}
	python := exec.Command("/usr/bin/python3", "-c", "import msal, azure.identity")
	if out, err := python.CombinedOutput(); err != nil {
		t.Errorf("/usr/bin/python3 -c 'import msal, azure.identity' (python3-msal, python3-azure): %v\n%s", err, out)
	}
}

// dpkgOwner is the package owning path, following symlinks (alternatives) until dpkg
// knows the file.
func dpkgOwner(t *testing.T, path string) string {
	t.Helper()
	for i := 0; i < 8; i++ {
		out, err := exec.Command("dpkg", "-S", path).Output()
		if err == nil {
			pkg, _, _ := strings.Cut(strings.TrimSpace(string(out)), ":")
			return pkg
		}
		next, err := os.Readlink(path)
		if err != nil {
			return ""
		}
		if !filepath.IsAbs(next) {
			next = filepath.Join(filepath.Dir(path), next)
		}
		path = next
	}
	return ""
}

// dependsOn says whether installed package pkg directly depends on dep.
func dependsOn(t *testing.T, pkg, dep string) bool {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Depends} ${Pre-Depends}", pkg).Output()
	if err != nil {
		return false
	}
	for _, alt := range strings.FieldsFunc(string(out), func(r rune) bool { return r == ',' || r == '|' }) {
		name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		name, _, _ = strings.Cut(name, ":")
		if name == dep {
			return true
		}
	}
	return false
}
