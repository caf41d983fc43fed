// Package assets embeds Tokendesk's images: the app icon, as its SVG source and the
// 512×512 PNG rendered from it (PNG because every platform's icon path, fyne package
// and the X11 window icon take it).
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

// Regenerate the PNG after editing the SVG (rsvg-convert is in Debian's librsvg2-bin).
//go:generate rsvg-convert -w 512 -h 512 icon.svg -o icon.png

// IconPNG is the app icon, 512×512 PNG with transparency.
//
//go:embed icon.png
var IconPNG []byte

// IconSVG is the icon's source, for scalable uses such as About dialogs.
//
//go:embed icon.svg
var IconSVG []byte

// Icon is the app icon as a Fyne resource, for App.SetIcon, windows and the tray.
var Icon fyne.Resource = fyne.NewStaticResource("tokendesk.png", IconPNG)

// IconScalable is the SVG icon as a Fyne resource; Fyne renders it at any size.
var IconScalable fyne.Resource = fyne.NewStaticResource("tokendesk.svg", IconSVG)
