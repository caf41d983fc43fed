package smoke

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tokendesk/tokendesk/internal/trayhost"
)

// BenchmarkTray measures, on the real binary with 3 seeded accounts and the test
// StatusNotifier host, the time from process start to the tray item registered, to
// the accounts in its menu, and from a click on "Copy … token" to the token on the X
// clipboard. One op is one whole run (build excluded).
func BenchmarkTray(b *testing.B) {
	requireDisplay(b)
	const scope = "api://contoso/files.read"
	var reg, menu, clip time.Duration
	for b.Loop() {
		a := startTrayApp(b, 3, 0)
		reg += a.registered.Sub(a.started)
		f, _, ok := a.host.WaitMenu(30*time.Second, func(f trayhost.Fetch) bool { return len(menuAccounts(f)) == 3 })
		if !ok {
			b.Fatalf("menu never listed the accounts:%s", f.Root)
		}
		menu += time.Since(a.started)
		var item *trayhost.Item
		for i := range f.Root.Children {
			if it := f.Root.Children[i].Find("Copy " + scope + " token"); it != nil && item == nil && strings.Contains(f.Root.Children[i].Label, "signed in") {
				item = it
			}
		}
		if item == nil {
			b.Fatalf("no copy item for %s:%s", scope, f.Root)
		}
		before := clipboard(b)
		clicked := time.Now()
		a.host.Click(item.ID)
		if _, at, ok := waitClipboard(b, 5*time.Second, func(c string) bool { return c != "" && c != before }); ok {
			clip += at.Sub(clicked)
		} else {
			b.Fatal("the click put nothing on the clipboard")
		}
		a.quit()
	}
	n := float64(b.N)
	b.ReportMetric(float64(reg.Milliseconds())/n, "ms-start-to-item")
	b.ReportMetric(float64(menu.Milliseconds())/n, "ms-start-to-accounts-in-menu")
	b.ReportMetric(float64(clip.Microseconds())/1000/n, "ms-click-to-clipboard")
}

// BenchmarkTrayItemProperties measures what a panel pays to read the item's
// properties (GetAll, as hosts do on registration and each NewIcon): the icon pixmaps
// dominate. Reported as bytes of pixmap per read.
func BenchmarkTrayItemProperties(b *testing.B) {
	requireDisplay(b)
	a := startTrayApp(b, 3, 0)
	a.host.WaitMenu(30*time.Second, func(f trayhost.Fetch) bool { return len(menuAccounts(f)) == 3 })
	time.Sleep(time.Second) // start-up work done: what follows is the reads
	var px int
	cpu0 := processCPU(b, a.cmd.Process.Pid)
	for b.Loop() {
		props := a.host.ItemProps()
		var pixmaps []struct {
			W, H int32
			Pix  []byte
		}
		if err := dbus.Store([]any{props["IconPixmap"].Value()}, &pixmaps); err != nil {
			b.Fatal(err)
		}
		px = 0
		for _, p := range pixmaps {
			px += len(p.Pix)
		}
	}
	b.ReportMetric(float64(px), "pixmap-bytes/read")
	b.ReportMetric(float64((processCPU(b, a.cmd.Process.Pid)-cpu0).Microseconds())/1000/float64(b.N), "app-cpu-ms/read")
	a.quit()
}

// processCPU is the user+system CPU time pid has used (/proc, clock ticks of 10 ms).
func processCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// BenchmarkTrayRegister times start → item registered alone, which any build can do:
// TOKENDESK_TRAY_BIN=path runs it against another binary (an older release) for a
// comparison on the same machine and load.
func BenchmarkTrayRegister(b *testing.B) {
	requireDisplay(b)
	var reg time.Duration
	for b.Loop() {
		a := startTrayApp(b, 3, 0)
		reg += a.registered.Sub(a.started)
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		<-a.exited
		a.host.Close()
	}
	b.ReportMetric(float64(reg.Milliseconds())/float64(b.N), "ms-start-to-item")
}
