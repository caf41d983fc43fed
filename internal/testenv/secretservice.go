//go:build unix

package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SecretService is a gnome-keyring-daemon of one test on a D-Bus of its own, so the test
// can hang it (Stop) without touching the keyring every other test shares.
type SecretService struct {
	// BusAddress is the private bus; pass it to processes as DBUS_SESSION_BUS_ADDRESS.
	BusAddress string
	daemon     *exec.Cmd
}

// PrivateSecretService starts dbus-daemon and an unlocked gnome-keyring-daemon (secrets
// component) on it, both stopped in t.Cleanup. It skips like RequireKeyring.
func PrivateSecretService(t testing.TB) *SecretService {
	t.Helper()
	skipIfAllowed(t, "TOKENDESK_SKIP_KEYRING")
	for _, bin := range []string{"dbus-daemon", "gnome-keyring-daemon", "dbus-send"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("testenv: %s is missing (make deps installs it)", bin)
		}
	}
	bus := exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1")
	// Without a service directory the bus cannot activate another keyring behind ours.
	bus.Env = append(os.Environ(), "XDG_DATA_DIRS="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	stdout, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("testenv: dbus-daemon: %v", err)
	}
	s := &SecretService{BusAddress: strings.TrimSpace(line)}
	s.daemon = exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	s.daemon.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+s.BusAddress,
		"XDG_DATA_HOME="+t.TempDir(), "XDG_RUNTIME_DIR="+t.TempDir())
	s.daemon.Stdin = strings.NewReader("private-test-password")
	if err := s.daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.daemon.Process.Signal(syscall.SIGCONT)
		s.daemon.Process.Kill()
		s.daemon.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := exec.Command("dbus-send", "--bus="+s.BusAddress, "--print-reply", "--dest=org.freedesktop.DBus",
			"/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets").Output()
		if strings.Contains(string(out), "boolean true") {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("testenv: gnome-keyring-daemon did not take org.freedesktop.secrets on the private bus")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Env returns the environment entry that points a process at this Secret Service.
func (s *SecretService) Env() string { return "DBUS_SESSION_BUS_ADDRESS=" + s.BusAddress }

// Stop freezes the daemon (SIGSTOP): calls reach it and are never answered, as with a
// hung keyring. Cleanup resumes and ends it.
func (s *SecretService) Stop(t testing.TB) {
	t.Helper()
	if err := s.daemon.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}
