package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

func TestProviderStopsCleanly(t *testing.T) {
	p := NewProvider(t)
	addr := strings.TrimPrefix(p.Issuer, "http://")
	p.stop()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("node still running after stop")
	}
	if st := p.cmd.ProcessState; st == nil || !st.Exited() || st.ExitCode() != 0 {
		t.Errorf("node did not exit by itself when stdin closed: %v", st)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("provider port still accepts connections after stop")
	}
}

// TestProviderDiesWithParent kills a test binary that started a provider, as a CI
// timeout or ^C would, and requires node to go with it: no orphan keeps a port.
func TestProviderDiesWithParent(t *testing.T) {
	if os.Getenv("TOKENDESK_TESTENV_CHILD") == "1" {
		p := NewProvider(t)
		fmt.Printf("issuer %s\n", p.Issuer)
		time.Sleep(2 * time.Minute) // the parent kills us long before
		return
	}
	skipIfAllowed(t, "TOKENDESK_SKIP_PROVIDER")
	child := exec.Command(os.Args[0], "-test.run=^TestProviderDiesWithParent$", "-test.v")
	child.Env = append(os.Environ(), "TOKENDESK_TESTENV_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "issuer "); ok {
				issuer <- rest
			}
		}
	}()
	var addr string
	select {
	case iss := <-issuer:
		addr = strings.TrimPrefix(iss, "http://")
	case <-time.After(90 * time.Second):
		_ = child.Process.Kill()
		t.Fatal("child test binary did not start a provider")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return // node is gone with its parent
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("provider at %s still answers 10 s after its parent was killed", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKeyring(t *testing.T) {
	RequireKeyring(t)
	secretTool, err := exec.LookPath("secret-tool")
	if err != nil {
		t.Fatal("secret-tool not found: run `make deps` (libsecret-tools)")
	}
	service, user, secret := "tokendesk-testenv", "user-"+randomString(t)[:8], randomString(t)
	if err := keyring.Set(service, user, secret); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keyring.Delete(service, user) })
	got, err := keyring.Get(service, user)
	if err != nil || got != secret {
		t.Fatalf("go-keyring read back match=%v err=%v", got == secret, err)
	}
	out, err := exec.Command(secretTool, "lookup", "service", service, "username", user).Output()
	if err != nil {
		t.Fatalf("secret-tool lookup: %v", err)
	}
	if strings.TrimSpace(string(out)) != secret {
		t.Fatal("secret-tool lookup returned a different secret than go-keyring stored")
	}
	if err := keyring.Delete(service, user); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(secretTool, "lookup", "service", service, "username", user).Run(); err == nil {
		t.Error("secret-tool still finds the secret after Delete")
	}
}
