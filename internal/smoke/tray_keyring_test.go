package smoke

import (
	"errors"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tokendesk/tokendesk/internal/trayhost"
)

// hungSecretService owns org.freedesktop.secrets on the bus at addr and never answers
// OpenSession: a keyring waiting for the user to unlock it, as go-keyring sees one.
type hungSecretService struct{ release chan struct{} }

// OpenSession blocks until the test ends.
func (h hungSecretService) OpenSession(algorithm string, input dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	<-h.release
	return dbus.MakeVariant(""), "/", dbus.MakeFailedError(errors.New("test over"))
}

// Unlock blocks until the test ends: the user never answers the unlock prompt.
func (h hungSecretService) Unlock(objects []dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	<-h.release
	return nil, "/", dbus.MakeFailedError(errors.New("test over"))
}

func startHungKeyring(t testing.TB, addr string) {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	h := hungSecretService{release: make(chan struct{})}
	if err := conn.Export(h, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.secrets", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.secrets: %v %v", reply, err)
	}
	t.Cleanup(func() { close(h.release); conn.Close() })
}

// TestSmokeTrayKeyringLocked: with a keyring that never answers (locked, waiting for
// the user), the menu says "Loading…" while the app waits, then a disabled item says
// the keyring is locked; "Open Tokendesk" and "Quit" stay, and Quit exits 0.
func TestSmokeTrayKeyringLocked(t *testing.T) {
	requireDisplay(t)
	bus := trayhost.PrivateBus(t)
	startHungKeyring(t, bus)
	a := startTrayAppOn(t, 3, 0, bus)
	const locked = "Keyring locked or unavailable: unlock it, then restart Tokendesk"
	f, took, ok := a.host.WaitMenu(20*time.Second, func(f trayhost.Fetch) bool { return f.Find(locked) != nil })
	if !ok {
		t.Fatalf("no keyring item within 20 s:%s", f.Root)
	}
	t.Logf("keyring item %v after registering", took.Round(time.Millisecond))
	if it := f.Find(locked); it.Enabled {
		t.Error("the keyring item is enabled: clicking it does nothing")
	}
	var sawLoading bool
	for _, f := range a.host.Fetches() {
		switch {
		case f.Find("Loading…") != nil:
			sawLoading = true
		case f.Find(locked) == nil:
			t.Errorf("revision %d is neither loading nor the keyring problem:%s", f.Revision, f.Root)
		}
	}
	// The keyring gives up after 3 s; an item that registered later than that (a
	// heavily loaded machine) never had a Loading… menu to show.
	switch reg := a.registered.Sub(a.started); {
	case !sawLoading && reg < 3*time.Second:
		t.Error("the menu never said Loading… while the keyring did not answer")
	case !sawLoading:
		t.Logf("item registered %v after start, after the keyring timeout: Loading… not observable", reg.Round(time.Millisecond))
	}
	a.quit()
}
