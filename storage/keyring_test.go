package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

func TestSystemKeyringHoldsTheCacheKey(t *testing.T) {
	testenv.RequireKeyring(t)
	ctx := context.Background()
	dir := t.TempDir()
	user := testKeyUser(t)
	kr := &countingKeyring{Keyring: SystemKeyring(DefaultKeyringTimeout)}
	s, err := OpenCacheStore(dir, kr, WithKeyringEntry(KeyringService, user))
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, s, newMapCache(), "at", knownToken); err != nil {
		t.Fatal(err)
	}

	// The key is in the OS keyring, as the user's own tools see it.
	stored := secretToolLookup(t, KeyringService, user)
	key, err := base64.StdEncoding.DecodeString(stored)
	if err != nil || len(key) != keyLen {
		t.Fatalf("keyring entry is not a %d-byte key (len %d, err %v)", keyLen, len(key), err)
	}
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(knownToken)) || bytes.Contains(raw, []byte("storage-test-known-token")) {
		t.Fatal("cache file holds the token in plaintext")
	}
	if bytes.Contains(raw, []byte(stored)) || bytes.Contains(raw, key) {
		t.Fatal("cache file holds its own key")
	}

	// Another process start reads the key with exactly one keyring call, however many
	// operations follow.
	kr2 := &countingKeyring{Keyring: SystemKeyring(DefaultKeyringTimeout)}
	s2, err := OpenCacheStore(dir, kr2, WithKeyringEntry(KeyringService, user))
	if err != nil {
		t.Fatal(err)
	}
	c := newMapCache()
	for range 10 {
		if err := load(ctx, s2, c); err != nil {
			t.Fatal(err)
		}
	}
	if c.get("at") != knownToken {
		t.Fatal("second store did not decrypt the cache")
	}
	if kr2.gets != 1 || kr2.sets != 0 {
		t.Fatalf("keyring calls: %d gets, %d sets; want 1 get", kr2.gets, kr2.sets)
	}
}

func TestProfileSecretGoesToKeyring(t *testing.T) {
	testenv.RequireKeyring(t)
	kr := SystemKeyring(DefaultKeyringTimeout)
	name := fmt.Sprintf("storage test %d", os.Getpid())
	const secret = "storage-test-client-secret-value"
	t.Cleanup(func() { DeleteProfileSecret(kr, name) })
	if err := SetProfileSecret(kr, name, secret); err != nil {
		t.Fatal(err)
	}
	if got := secretToolLookup(t, KeyringService, "profile-secret:"+name); got != secret {
		t.Fatal("secret-tool does not see the profile secret under profile-secret:<name>")
	}
	if got, err := ProfileSecret(kr, name); err != nil || got != secret {
		t.Fatalf("ProfileSecret: err %v, match %v", err, got == secret)
	}
	if err := DeleteProfileSecret(kr, name); err != nil {
		t.Fatal(err)
	}
	if _, err := ProfileSecret(kr, name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := DeleteProfileSecret(kr, name); err != nil {
		t.Fatalf("deleting a missing secret: %v", err)
	}
}

// TestNoSecretService runs the keyring in child processes whose D-Bus environment has
// no Secret Service, each a way a real desktop can lack one.
func TestNoSecretService(t *testing.T) {
	cases := map[string][]string{
		"no session bus at the address": {"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")},
		"no session bus address at all": {"DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=" + t.TempDir()},
	}
	addr := privateBus(t)
	if addr == "" {
		t.Fatal("dbus-daemon is missing: run `make deps` (dbus)")
	}
	cases["a session bus without a Secret Service"] = []string{"DBUS_SESSION_BUS_ADDRESS=" + addr}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := child(t, "keyring-get", append(env, "STORE_DIR="+t.TempDir(), "KEY_USER=cache-key-test-nosecret")...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.HasPrefix(string(out), "unavailable=true timeout=false") {
				t.Fatalf("want ErrKeyringUnavailable, child said:\n%s", out)
			}
			if !strings.Contains(string(out), "start gnome-keyring") || !strings.Contains(string(out), "allow_plaintext_cache") {
				t.Fatalf("error does not name the fix:\n%s", out)
			}
		})
	}
}

// privateBus starts a D-Bus session daemon that has no Secret Service on it and returns
// its address ("" when dbus-daemon is not installed).
func privateBus(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		return ""
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1")
	// Without a service directory the bus cannot activate gnome-keyring either.
	cmd.Env = append(os.Environ(), "XDG_DATA_DIRS="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestProcessesDoNotLoseWrites runs 20 real processes, each adding 50 entries through
// its own read-modify-write cycles on one cache file at the same time.
func TestProcessesDoNotLoseWrites(t *testing.T) {
	testenv.RequireKeyring(t)
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	const procs, writes = 20, 50
	dir := t.TempDir()
	user := testKeyUser(t)
	var wg sync.WaitGroup
	errs := make(chan string, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Odd writers see only their own account (and must not drop the others').
			cmd := child(t, "writer", "STORE_DIR="+dir, "KEY_USER="+user,
				fmt.Sprintf("WRITER_ID=%02d", p), fmt.Sprintf("WRITES=%d", writes), fmt.Sprintf("NARROW=%d", p%2))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Sprintf("writer %d: %v\n%s", p, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), WithKeyringEntry(KeyringService, user))
	if err != nil {
		t.Fatal(err)
	}
	c := newMapCache()
	if err := load(context.Background(), s, c); err != nil {
		t.Fatal(err)
	}
	if n := len(c.keys()); n != 2*procs*writes {
		t.Fatalf("cache holds %d entries after %d processes x %d writes: writes were lost", n, procs, writes)
	}
	for p := range procs {
		for i := range writes {
			if k := fmt.Sprintf("w%02d-%03d", p, i); c.get(k) != fmt.Sprintf("token-%02d", p) {
				t.Fatalf("entry %s missing or wrong", k)
			}
			if k := fmt.Sprintf("all-%02d-%03d", p, i); c.get(k) != fmt.Sprintf("shared-%02d", p) {
				t.Fatalf("entry %s of the shared account missing or wrong", k)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cache.*"))
	for _, f := range files {
		if raw, _ := os.ReadFile(f); bytes.Contains(raw, []byte("token-00")) {
			t.Fatalf("%s holds an entry in plaintext", f)
		}
	}
}

// TestKilledWriterLeavesReadableCache kills a process with SIGKILL while it rewrites a
// multi-megabyte cache in a loop, at random moments, and checks each time that the file
// on disk is a whole version.
func TestKilledWriterLeavesReadableCache(t *testing.T) {
	testenv.RequireKeyring(t)
	dir := t.TempDir()
	user := testKeyUser(t)
	ctx := context.Background()
	const rounds = 8
	midWrite := 0
	defer func() { t.Logf("%d of %d kills landed inside a write", midWrite, rounds) }()
	for round := range rounds {
		killMidChurn(t, round, "churn", dir, user)
		if killLandedInWrite(t, dir, user) {
			midWrite++
		}

		s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), WithKeyringEntry(KeyringService, user))
		if err != nil {
			t.Fatal(err)
		}
		c := newMapCache()
		if err := load(ctx, s, c); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if ns := s.Notices(); len(ns) > 0 {
			t.Fatalf("round %d: the killed writer left an unreadable cache: %+v", round, ns)
		}
		if len(c.keys()) != 64 {
			t.Fatalf("round %d: %d entries, want 64", round, len(c.keys()))
		}
		gen, _, _ := strings.Cut(c.get("e00"), ":")
		for _, k := range c.keys() {
			if g, _, _ := strings.Cut(c.get(k), ":"); g != gen {
				t.Fatalf("round %d: torn cache: %s is from version %s, e00 from %s", round, k, g, gen)
			}
		}
	}
}

// dataTail returns how many bytes of the data file no block of the index covers.
func dataTail(t *testing.T, dir, user string) int64 {
	t.Helper()
	s, err := OpenCacheStore(dir, SystemKeyring(DefaultKeyringTimeout), WithKeyringEntry(KeyringService, user))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.loadKey(context.Background(), context.Background()); err != nil {
		t.Fatal(err)
	}
	x, _, err := s.readIndex()
	if err != nil || x == nil {
		return 0
	}
	var end uint64
	for _, bl := range x.blocks {
		end = max(end, bl.offset+bl.length)
	}
	fi, err := os.Stat(filepath.Join(dir, x.dataName))
	if err != nil {
		return 0
	}
	return fi.Size() - int64(end)
}

// TestHungSecretServiceTimesOut stops (SIGSTOP) a real gnome-keyring-daemon on a private
// bus, so calls reach a Secret Service that never answers, and checks SystemKeyring
// gives up with ErrKeyringTimeout instead of blocking forever as go-keyring would.
func TestHungSecretServiceTimesOut(t *testing.T) {
	testenv.RequireKeyring(t) // the same packages; skips under the same rule
	addr := privateBus(t)
	if addr == "" {
		t.Fatal("dbus-daemon is missing (make deps installs it)")
	}
	gk := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	gk.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr,
		"XDG_DATA_HOME="+t.TempDir(), "XDG_RUNTIME_DIR="+t.TempDir())
	gk.Stdin = strings.NewReader("hung-test-password")
	if err := gk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		gk.Process.Signal(syscall.SIGCONT)
		gk.Process.Kill()
		gk.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("dbus-send", "--bus="+addr, "--print-reply", "--dest=org.freedesktop.DBus",
			"/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets").Output()
		if strings.Contains(string(out), "boolean true") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gnome-keyring-daemon did not take org.freedesktop.secrets on the private bus")
		}
		time.Sleep(50 * time.Millisecond)
	}
	run := func() string {
		cmd := child(t, "keyring-get", "DBUS_SESSION_BUS_ADDRESS="+addr, "STORE_DIR="+t.TempDir(), "KEY_USER=cache-key-hung-test")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return string(out)
	}
	// The daemon answers while running: the child creates its key.
	if out := run(); !strings.HasPrefix(out, "unavailable=false timeout=false") {
		t.Fatalf("running daemon: child said\n%s", out)
	}
	if err := gk.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := run()
	if !strings.HasPrefix(out, "unavailable=false timeout=true") {
		t.Fatalf("hung daemon: want ErrKeyringTimeout, child said\n%s", out)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("hung daemon: the child took %v to give up (timeout 2s)", d)
	}
}
