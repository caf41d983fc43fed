package trayhost

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/systray"
	"github.com/godbus/dbus/v5"
)

// menu builds a SetMenu tree from a compact description: items "id:label", a submenu
// as "id:label>" followed by its children and "<".
func menu(spec ...string) []systray.MenuNode {
	var parse func(i int) ([]systray.MenuNode, int)
	parse = func(i int) ([]systray.MenuNode, int) {
		var out []systray.MenuNode
		for i < len(spec) {
			s := spec[i]
			i++
			if s == "<" {
				return out, i
			}
			var n systray.MenuNode
			id, label, _ := strings.Cut(s, ":")
			fmt.Sscan(id, &n.ID)
			n.Label = strings.TrimSuffix(label, ">")
			n.Separator = label == "-"
			if strings.HasSuffix(label, ">") {
				n.Children, i = parse(i)
			}
			out = append(out, n)
		}
		return out, i
	}
	out, _ := parse(0)
	return out
}

// labels renders a fetched layout the way menu describes one.
func describe(it Item) []string {
	var out []string
	for _, c := range it.Children {
		l := c.Label
		if c.Sep {
			l = "-"
		}
		if len(c.Children) > 0 {
			out = append(out, fmt.Sprintf("%d:%s>", c.ID, l))
			out = append(out, describe(c)...)
			out = append(out, "<")
			continue
		}
		out = append(out, fmt.Sprintf("%d:%s", c.ID, l))
	}
	return out
}

// TestPatchedSystray checks third_party/systray's additions over D-Bus, as a host sees
// them: SetMenu sends nothing for an unchanged menu, one ItemsPropertiesUpdated (same
// revision) for a label change, one LayoutUpdated naming the changed submenu for a
// structural change there, one naming the root for a rebuild; a host reading while
// menus are swapped never sees a mix; clicks reach the callback by stable id; the icon
// is offered at 32, 64 and 256 px.
func TestPatchedSystray(t *testing.T) {
	// A bus of its own: the smoke tests' host owns the watcher name on the session bus,
	// maybe at this very moment (go test runs packages in parallel). The tray in this
	// process connects to whatever DBUS_SESSION_BUS_ADDRESS says when it starts.
	bus := PrivateBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	h := Start(t, bus)
	var clicked atomic.Int64
	onClick := func(id uint32) { clicked.Store(int64(id)) }

	base := []string{"1000001:Copy Graph token", "1000002:Alice>", "1000003:Copy A", "1000004:Copy B", "<",
		"1000005:Bob>", "1000006:Copy C", "<", "1000007:-", "1000008:Open Tokendesk", "1000009:Quit"}
	systray.SetID("trayhost-test")
	systray.SetIcon(testPNG(t, 512))
	systray.SetMenu(menu(base...), onClick)
	start, _ := systray.RunWithExternalLoop(nil, nil)
	start()
	h.WaitItem(10 * time.Second)

	f := h.Layout()
	if got := describe(f.Root); !slices.Equal(got, base) {
		t.Fatalf("served\n%q\nwant\n%q", got, base)
	}
	rev := f.Revision
	quiet := func(what string) {
		t.Helper()
		l0, p0 := h.Signals()
		time.Sleep(200 * time.Millisecond)
		if l, p := h.Signals(); l != l0 || p != p0 {
			t.Errorf("%s: %d layout and %d property signals", what, l-l0, p-p0)
		}
	}
	// expect waits for exactly the given signals after a SetMenu.
	expect := func(what string, sent bool, layout, props int, f func() bool) {
		t.Helper()
		l0, p0 := h.Signals()
		if got := f(); got != sent {
			t.Errorf("%s: SetMenu reported sent=%v", what, got)
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			l, p := h.Signals()
			if l-l0 >= layout && p-p0 >= props || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		if l, p := h.Signals(); l-l0 != layout || p-p0 != props {
			t.Errorf("%s: %d LayoutUpdated and %d ItemsPropertiesUpdated, want %d and %d", what, l-l0, p-p0, layout, props)
		}
	}

	expect("the same menu again", false, 0, 0, func() bool { return systray.SetMenu(menu(base...), onClick) })
	quiet("after an unchanged menu")

	relabel := slices.Clone(base)
	relabel[3] = "1000004:Copy B (renamed)"
	expect("a label changed", true, 0, 1, func() bool { return systray.SetMenu(menu(relabel...), onClick) })
	if f := h.Layout(); f.Revision != rev || f.Find("Copy B (renamed)") == nil {
		t.Errorf("after a label change: revision %d → %d, label found %v", rev, f.Revision, f.Find("Copy B (renamed)") != nil)
	}

	grown := slices.Insert(slices.Clone(relabel), 7, "1000010:Copy D")
	expect("a scope added under Bob", true, 1, 0, func() bool { return systray.SetMenu(menu(grown...), onClick) })
	if p := h.LastLayoutParent(); p != 1000005 {
		t.Errorf("LayoutUpdated named parent %d, want Bob's submenu 1000005", p)
	}
	if f := h.Layout(); f.Revision != rev+1 || !slices.Equal(describe(f.Root), grown) {
		t.Errorf("after one structural change: revision %d (want %d), menu %q", f.Revision, rev+1, describe(f.Root))
	}

	shrunk := append([]string{"1000001:Copy Graph token"}, grown[5:]...) // Alice and her items gone
	expect("an account removed", true, 1, 0, func() bool { return systray.SetMenu(menu(shrunk...), onClick) })
	if p := h.LastLayoutParent(); p != 0 {
		t.Errorf("LayoutUpdated named parent %d, want the root", p)
	}

	// Clicks reach the callback by the item's own id, also for a nested item.
	h.Click(1000010)
	for deadline := time.Now().Add(2 * time.Second); clicked.Load() != 1000010 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := clicked.Load(); got != 1000010 {
		t.Errorf("click on 1000010 reached the callback as %d", got)
	}

	// A host reading while menus are swapped sees one menu or the other, whole.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				systray.SetMenu(menu(base...), onClick)
			} else {
				systray.SetMenu(menu(shrunk...), onClick)
			}
		}
	}()
	for range 200 {
		got := describe(h.Layout().Root)
		if !slices.Equal(got, base) && !slices.Equal(got, shrunk) {
			t.Errorf("a host read a mixed menu: %q", got)
			break
		}
	}
	close(stop)
	<-done

	var px []struct {
		W, H int32
		Pix  []byte
	}
	if err := dbus.Store([]any{h.ItemProps()["IconPixmap"].Value()}, &px); err != nil {
		t.Fatal(err)
	}
	var sizes []int32
	for _, p := range px {
		sizes = append(sizes, p.W)
		if len(p.Pix) != int(p.W*p.H*4) {
			t.Errorf("%d px pixmap has %d bytes", p.W, len(p.Pix))
		}
	}
	if !slices.Equal(sizes, []int32{32, 64, 256}) {
		t.Errorf("IconPixmap sizes %v, want [32 64 256]", sizes)
	}
	// The scaled pixels keep the colour: the test icon is opaque red on the left
	// half, transparent on the right.
	if p := px[0].Pix; !bytes.Equal(p[:4], []byte{255, 255, 0, 0}) || p[31*4] != 0 {
		t.Errorf("32 px pixmap: first pixel ARGB %v, last of row alpha %d", p[:4], p[31*4])
	}
}

// testPNG is a size×size PNG, opaque red on the left half, transparent on the right.
func testPNG(t *testing.T, size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size / 2 {
			img.Set(x, y, color.NRGBA{R: 255, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
