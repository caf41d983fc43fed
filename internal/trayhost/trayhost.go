// Package trayhost is a StatusNotifier host for tests: it owns
// org.kde.StatusNotifierWatcher on a (private, test) D-Bus session bus the way a
// panel's watcher does, records the item that registers, reads its menu with
// com.canonical.dbusmenu.GetLayout, clicks with Event, and counts the menu signals
// the item sends. internal/smoke drives the real binary's tray with it; its own tests
// check the patched fyne.io/systray in third_party/systray directly.
package trayhost

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Host is a StatusNotifier host for tests: it owns org.kde.StatusNotifierWatcher
// on the (private, test) session bus the way a panel's watcher does, records the items
// that register, reads their menus with com.canonical.dbusmenu.GetLayout, clicks with
// Event, and counts the menu signals each item sends.
type Host struct {
	t    testing.TB
	conn *dbus.Conn

	mu          sync.Mutex
	item        string    // the registered item's bus name
	itemPath    string    // its object path
	registered  time.Time // when it registered
	regCh       chan struct{}
	layoutSigs  int   // LayoutUpdated signals received
	lastParent  int32 // the parent id of the last LayoutUpdated
	tooltipSigs int   // NewToolTip signals received
	propSigs    int   // ItemsPropertiesUpdated signals received
	sigCh       chan struct{}
	fetches     []Fetch // every layout read, in order
}

// Fetch is one GetLayout answer.
type Fetch struct {
	Revision uint32
	Root     Item
}

// Item is a dbusmenu layout node: its id, label, enabled state, whether it is a
// separator, and its submenu.
type Item struct {
	ID       int32
	Label    string
	Enabled  bool
	Sep      bool
	Children []Item
}

// watcher is the exported org.kde.StatusNotifierWatcher object.
type watcher struct{ h *Host }

// RegisterStatusNotifierItem is what fyne.io/systray calls with its object path.
func (w watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	w.h.item, w.h.itemPath = string(sender), service
	if !strings.HasPrefix(service, "/") {
		w.h.item, w.h.itemPath = service, "/StatusNotifierItem"
	}
	w.h.registered = time.Now()
	select {
	case w.h.regCh <- struct{}{}:
	default:
	}
	return nil
}

// RegisterStatusNotifierHost accepts any host.
func (w watcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// startTrayHost connects to the session bus and owns the watcher name. It fails the
// test when the name is taken (a real panel on the bus: tests need a private one).
// busAddr "" means the session bus.
func Start(t testing.TB, busAddr string) *Host {
	t.Helper()
	var conn *dbus.Conn
	var err error
	if busAddr == "" {
		conn, err = dbus.ConnectSessionBus()
	} else {
		conn, err = dbus.Connect(busAddr)
	}
	if err != nil {
		t.Fatalf("session bus: %v (run under scripts/ci-session.sh)", err)
	}
	h := &Host{t: t, conn: conn, regCh: make(chan struct{}, 1), sigCh: make(chan struct{}, 64)}
	const name, path = "org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher"
	if err := conn.Export(watcher{h}, path, name); err != nil {
		t.Fatal(err)
	}
	if _, err := prop.Export(conn, path, map[string]map[string]*prop.Prop{name: {
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
	}}); err != nil {
		t.Fatal(err)
	}
	// A host closed just before (the previous benchmark round) may still hold the
	// name for a moment.
	var reply dbus.RequestNameReply
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		reply, err = conn.RequestName(name, dbus.NameFlagDoNotQueue)
		if err == nil && reply == dbus.RequestNameReplyPrimaryOwner {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cannot own %s (reply %v, %v): another host on this bus?", name, reply, err)
		}
	}
	for _, iface := range []string{"com.canonical.dbusmenu", "org.kde.StatusNotifierItem"} {
		if err := conn.AddMatchSignal(dbus.WithMatchInterface(iface)); err != nil {
			t.Fatal(err)
		}
	}
	sigs := make(chan *dbus.Signal, 256)
	conn.Signal(sigs)
	go func() {
		for s := range sigs {
			h.mu.Lock()
			switch s.Name {
			case "com.canonical.dbusmenu.LayoutUpdated":
				h.layoutSigs++
				if len(s.Body) == 2 {
					h.lastParent, _ = s.Body[1].(int32)
				}
			case "com.canonical.dbusmenu.ItemsPropertiesUpdated":
				h.propSigs++
			case "org.kde.StatusNotifierItem.NewToolTip":
				h.tooltipSigs++
			}
			h.mu.Unlock()
			select {
			case h.sigCh <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return h
}

// waitItem waits for an item to register and returns when it did.
func (h *Host) WaitItem(timeout time.Duration) time.Time {
	h.t.Helper()
	select {
	case <-h.regCh:
	case <-time.After(timeout):
		h.t.Fatalf("no StatusNotifierItem registered within %v", timeout)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.registered
}

// itemProps reads every property of the registered item.
func (h *Host) ItemProps() map[string]dbus.Variant {
	h.t.Helper()
	var out map[string]dbus.Variant
	h.mu.Lock()
	item, path := h.item, h.itemPath
	h.mu.Unlock()
	err := h.conn.Object(item, dbus.ObjectPath(path)).Call("org.freedesktop.DBus.Properties.GetAll", 0, "org.kde.StatusNotifierItem").Store(&out)
	if err != nil {
		h.t.Fatalf("item properties: %v", err)
	}
	return out
}

// menuObject is the item's dbusmenu object.
func (h *Host) menuObject() dbus.BusObject {
	h.mu.Lock()
	item := h.item
	h.mu.Unlock()
	return h.conn.Object(item, "/StatusNotifierMenu")
}

// layout reads the whole menu, records the fetch and checks "Open Tokendesk" and
// "Quit" are in it (they must be in every revision served).
func (h *Host) Layout() Fetch {
	h.t.Helper()
	var rev uint32
	var raw []any
	call := h.menuObject().Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		h.t.Fatalf("GetLayout: %v", call.Err)
	}
	if len(call.Body) != 2 {
		h.t.Fatalf("GetLayout answered %d values", len(call.Body))
	}
	rev = call.Body[0].(uint32)
	raw = call.Body[1].([]any)
	f := Fetch{Revision: rev, Root: parseLayout(h.t, raw)}
	h.mu.Lock()
	h.fetches = append(h.fetches, f)
	h.mu.Unlock()
	if f.Find("Open Tokendesk") == nil || f.Find("Quit") == nil {
		h.t.Errorf("revision %d lacks Open Tokendesk or Quit: %s", rev, f.Root)
	}
	return f
}

func parseLayout(t testing.TB, raw []any) Item {
	t.Helper()
	if len(raw) != 3 {
		t.Fatalf("layout node has %d fields", len(raw))
	}
	it := Item{ID: raw[0].(int32), Enabled: true}
	for k, v := range raw[1].(map[string]dbus.Variant) {
		switch k {
		case "label":
			it.Label = v.Value().(string)
		case "enabled":
			it.Enabled = v.Value().(bool)
		case "type":
			it.Sep = v.Value().(string) == "separator"
		}
	}
	for _, c := range raw[2].([]dbus.Variant) {
		it.Children = append(it.Children, parseLayout(t, c.Value().([]any)))
	}
	return it
}

// find returns the first item labelled label (depth first), or nil.
func (f Fetch) Find(label string) *Item { return f.Root.Find(label) }

func (m *Item) Find(label string) *Item {
	for i := range m.Children {
		c := &m.Children[i]
		if c.Label == label {
			return c
		}
		if r := c.Find(label); r != nil {
			return r
		}
	}
	return nil
}

// topLabels are the labels of the top level ("-" for separators).
func (f Fetch) TopLabels() []string {
	var out []string
	for _, c := range f.Root.Children {
		if c.Sep {
			out = append(out, "-")
		} else {
			out = append(out, c.Label)
		}
	}
	return out
}

func (m Item) String() string {
	var b strings.Builder
	var walk func(m Item, depth int)
	walk = func(m Item, depth int) {
		for _, c := range m.Children {
			label := c.Label
			if c.Sep {
				label = "----"
			}
			fmt.Fprintf(&b, "\n%s%s [%d]", strings.Repeat("  ", depth), label, c.ID)
			walk(c, depth+1)
		}
	}
	walk(m, 0)
	return b.String()
}

// click sends the "clicked" event for id, as a panel does.
func (h *Host) Click(id int32) {
	h.t.Helper()
	if err := h.send(id); err != nil {
		h.t.Fatalf("Event(%d, clicked): %v", id, err)
	}
}

// clickQuit clicks the Quit item with id: the app may exit before its D-Bus reply
// leaves (panels send Event without waiting for one), so no reply is fine.
func (h *Host) ClickQuit(id int32) {
	h.t.Helper()
	err := h.send(id)
	var derr *dbus.Error
	if err != nil && !(errors.As(err, &derr) && derr.Name == "org.freedesktop.DBus.Error.NoReply") {
		h.t.Fatalf("Event(%d, clicked) on Quit: %v", id, err)
	}
}

func (h *Host) send(id int32) error {
	return h.menuObject().Call("com.canonical.dbusmenu.Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
}

// signals returns how many LayoutUpdated and ItemsPropertiesUpdated signals came.
func (h *Host) Signals() (layout, props int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.layoutSigs, h.propSigs
}

// waitMenu fetches the layout until cond holds, at most timeout; it returns the
// matching fetch and how long it took.
func (h *Host) WaitMenu(timeout time.Duration, cond func(Fetch) bool) (Fetch, time.Duration, bool) {
	h.t.Helper()
	start := time.Now()
	for {
		f := h.Layout()
		if cond(f) {
			return f, time.Since(start), true
		}
		if time.Since(start) > timeout {
			return f, time.Since(start), false
		}
		select {
		case <-h.sigCh:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// LastLayoutParent is the parent id named by the last LayoutUpdated signal.
func (h *Host) LastLayoutParent() int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastParent
}

// Fetches returns every layout read so far, in order.
func (h *Host) Fetches() []Fetch {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Fetch(nil), h.fetches...)
}

// Close releases the watcher name and the connection (the next Start may own it).
func (h *Host) Close() { h.conn.Close() }

// PrivateBus starts a D-Bus session daemon of the test's own and returns its address.
func PrivateBus(t testing.TB) string {
	t.Helper()
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make([]byte, 0, 256)
	buf := make([]byte, 1)
	for {
		if _, err := out.Read(buf); err != nil {
			t.Fatalf("dbus-daemon printed no address: %v", err)
		}
		if buf[0] == '\n' {
			break
		}
		line = append(line, buf[0])
	}
	return strings.TrimSpace(string(line))
}

// ToolTip reads the item's tooltip title and how many NewToolTip signals came so far.
func (h *Host) ToolTip() (title string, signals int) {
	h.t.Helper()
	var tip struct {
		Name  string
		Icons []struct {
			W, H int32
			Pix  []byte
		}
		Title  string
		Detail string
	}
	if err := dbus.Store([]any{h.ItemProps()["ToolTip"].Value()}, &tip); err != nil {
		h.t.Fatalf("ToolTip: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return tip.Title, h.tooltipSigs
}
