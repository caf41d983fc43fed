//go:build (linux || freebsd || openbsd || netbsd) && !android

package systray

// Tokendesk patch (see PATCHES.md): a menu set whole, with caller-chosen stable ids,
// announced with at most one signal per change; an icon offered in several sizes; a
// settable item Id and IconName.

import (
	"bytes"
	"image"
	"image/draw"
	"log"
	"reflect"
	"slices"

	"github.com/godbus/dbus/v5"

	"fyne.io/systray/internal/generated/menu"
	"fyne.io/systray/internal/generated/notifier"
)

// MenuNode is one item of a menu set whole with SetMenu.
type MenuNode struct {
	// ID identifies the item for as long as it means the same thing: a host holding an
	// older layout still clicks the right item. Non-zero, unique in the menu, at most
	// 1<<31-1, and clear of the small ids AddMenuItem hands out (do not mix the two).
	ID uint32
	// Label is the text shown.
	Label string
	// Disabled greys the item out.
	Disabled bool
	// Separator makes the item a separator line (Label is ignored).
	Separator bool
	// Children make the item a submenu.
	Children []MenuNode
}

// SetMenu replaces the whole menu with nodes in one step, under the menu lock, so a
// host never reads a half-built menu. It compares the new menu with the one served:
// nothing changed sends nothing; only labels or enabled states changed sends one
// ItemsPropertiesUpdated for exactly those items (the layout revision stays); a changed
// structure bumps the revision once and sends one LayoutUpdated naming the submenu
// that changed (0, the root, when several did). onClick receives the ID of each
// clicked item, on a D-Bus goroutine. It reports whether anything was sent.
func SetMenu(nodes []MenuNode, onClick func(id uint32)) bool {
	menuItemsLock.Lock()
	treeClick = onClick
	menuItemsLock.Unlock()

	root := &menuLayout{
		V0: 0,
		V1: map[string]dbus.Variant{"children-display": dbus.MakeVariant("submenu")},
		V2: layoutsOf(nodes),
	}
	instance.menuLock.Lock()
	defer instance.menuLock.Unlock()
	var d layoutDiff
	d.compare(instance.menu, root)
	if len(d.parents) == 0 && len(d.props) == 0 {
		return false
	}
	instance.menu = root
	if instance.conn == nil || instance.menuProps == nil {
		return false // not exported yet: the host will read the whole menu anyway
	}
	if len(d.parents) == 0 {
		err := menu.Emit(instance.conn, &menu.Dbusmenu_ItemsPropertiesUpdatedSignal{
			Path: menuPath,
			Body: &menu.Dbusmenu_ItemsPropertiesUpdatedSignalBody{
				UpdatedProps: d.props,
				RemovedProps: []struct {
					V0 int32
					V1 []string
				}{},
			},
		})
		if err != nil {
			log.Printf("systray error: failed to emit items properties updated signal: %v\n", err)
		}
		return true
	}
	parent := int32(0)
	if len(d.parents) == 1 && len(d.props) == 0 {
		parent = d.parents[0]
	}
	announceLayout(parent)
	return true
}

// layoutsOf turns nodes into dbusmenu layouts.
func layoutsOf(nodes []MenuNode) []dbus.Variant {
	out := make([]dbus.Variant, 0, len(nodes))
	for _, n := range nodes {
		l := &menuLayout{V0: int32(n.ID), V1: map[string]dbus.Variant{}, V2: []dbus.Variant{}}
		if n.Separator {
			l.V1["type"] = dbus.MakeVariant("separator")
		} else {
			l.V1["label"] = dbus.MakeVariant(n.Label)
			l.V1["enabled"] = dbus.MakeVariant(!n.Disabled)
		}
		if len(n.Children) > 0 {
			l.V1["children-display"] = dbus.MakeVariant("submenu")
			l.V2 = layoutsOf(n.Children)
		}
		out = append(out, dbus.MakeVariant(l))
	}
	return out
}

// layoutDiff is what changed between two menus: the items whose list of children
// changed, and the properties of the items that kept their place.
type layoutDiff struct {
	parents []int32
	props   []struct {
		V0 int32
		V1 map[string]dbus.Variant
	}
}

func (d *layoutDiff) compare(old, cur *menuLayout) {
	if !slices.Equal(childIDs(old), childIDs(cur)) {
		d.parents = append(d.parents, cur.V0)
		return // the host re-reads this whole submenu
	}
	for i := range cur.V2 {
		o, c := old.V2[i].Value().(*menuLayout), cur.V2[i].Value().(*menuLayout)
		if !reflect.DeepEqual(o.V1, c.V1) {
			d.props = append(d.props, struct {
				V0 int32
				V1 map[string]dbus.Variant
			}{c.V0, c.V1})
		}
		d.compare(o, c)
	}
}

func childIDs(l *menuLayout) []int32 {
	if l == nil {
		return nil
	}
	ids := make([]int32, len(l.V2))
	for i, v := range l.V2 {
		ids[i] = v.Value().(*menuLayout).V0
	}
	return ids
}

// announceLayout is refresh for one submenu: one revision, one signal. The caller
// holds instance.menuLock.
func announceLayout(parent int32) {
	instance.menuVersion++
	if err := instance.menuProps.Set("com.canonical.dbusmenu", "Version", dbus.MakeVariant(instance.menuVersion)); err != nil {
		log.Printf("systray error: failed to update menu version: %v\n", err)
		return
	}
	err := menu.Emit(instance.conn, &menu.Dbusmenu_LayoutUpdatedSignal{
		Path: menuPath,
		Body: &menu.Dbusmenu_LayoutUpdatedSignalBody{Revision: instance.menuVersion, Parent: parent},
	})
	if err != nil {
		log.Printf("systray error: failed to emit layout updated signal: %v\n", err)
	}
}

// iconSizes are the IconPixmap sizes SetIcon offers: hosts pick the nearest, and a
// 512 px pixmap alone made every property read 1 MiB on the bus and ~0.1 s of CPU in
// the app (godbus marshals byte arrays one element at a time).
var iconSizes = []int{32, 64, 256}

// pixmapCache keeps the last conversion: SetIcon and the property export both ask.
var pixmapCache struct {
	data []byte
	px   []PX
}

// pixmapsOf decodes an icon once and scales it to iconSizes (never up).
func pixmapsOf(data []byte) []PX {
	if len(data) == 0 {
		return []PX{}
	}
	if pixmapCache.px != nil && bytes.Equal(pixmapCache.data, data) {
		return pixmapCache.px
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		log.Printf("Failed to read icon format %v", err)
		return []PX{}
	}
	// One conversion to 8-bit premultiplied RGBA (draw's fast paths), then box
	// averages over its bytes: per-pixel img.At calls made this tens of ms.
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	var out []PX
	for _, s := range iconSizes {
		if s > b.Dx() || s > b.Dy() {
			continue
		}
		out = append(out, PX{s, s, argbScaled(src, s)})
	}
	if len(out) == 0 {
		out = append(out, PX{b.Dx(), b.Dy(), argbForImage(img)})
	}
	pixmapCache.data, pixmapCache.px = bytes.Clone(data), out
	return out
}

// argbScaled is src at size×size as ARGB32 (straight alpha, network byte order), each
// pixel the average of its source box, averaged premultiplied so transparent edges
// don't darken.
func argbScaled(src *image.RGBA, size int) []byte {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	out := make([]byte, size*size*4)
	i := 0
	for y := 0; y < size; y++ {
		y0, y1 := y*h/size, (y+1)*h/size
		for x := 0; x < size; x++ {
			x0, x1 := x*w/size, (x+1)*w/size
			var r, g, bl, a, n uint32
			for sy := y0; sy < y1; sy++ {
				row := src.Pix[sy*src.Stride+x0*4 : sy*src.Stride+x1*4]
				for p := 0; p+3 < len(row); p += 4 {
					r, g, bl, a = r+uint32(row[p]), g+uint32(row[p+1]), bl+uint32(row[p+2]), a+uint32(row[p+3])
					n++
				}
			}
			if n == 0 || a == 0 {
				i += 4
				continue
			}
			// Un-premultiply: the sums share n, so r/a scales straight to 0..255.
			out[i] = byte(a / n)
			out[i+1] = byte(min(r*255/a, 255))
			out[i+2] = byte(min(g*255/a, 255))
			out[i+3] = byte(min(bl*255/a, 255))
			i += 4
		}
	}
	return out
}

// SetID sets the item's Id property (a stable application name). Call it before the
// tray starts: hosts read it once.
func SetID(id string) {
	instance.lock.Lock()
	defer instance.lock.Unlock()
	instance.id = id
}

// SetIconName sets the IconName property: a host that finds the name in the icon
// theme draws that, at the panel's size, instead of the pixmaps.
func SetIconName(name string) {
	instance.lock.Lock()
	instance.iconName = name
	props, conn := instance.props, instance.conn
	instance.lock.Unlock()
	if props == nil {
		return
	}
	props.SetMust("org.kde.StatusNotifierItem", "IconName", name)
	if conn != nil {
		if err := notifier.Emit(conn, &notifier.StatusNotifierItem_NewIconSignal{
			Path: path,
			Body: &notifier.StatusNotifierItem_NewIconSignalBody{},
		}); err != nil {
			log.Printf("systray error: failed to emit new icon signal: %s\n", err)
		}
	}
}
