package assets

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"testing"
)

func TestIconPNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(IconPNG))
	if err != nil {
		t.Fatalf("icon.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
		t.Errorf("icon is %dx%d, want 512x512 (fyne package and stores expect a large square)", b.Dx(), b.Dy())
	}
	// Transparent corners: the rounded square must not be drawn on an opaque box.
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("corner alpha %d, want transparent", a)
	}
	if _, _, _, a := img.At(256, 256).RGBA(); a != 0xffff {
		t.Errorf("centre alpha %d, want opaque", a)
	}
}

func TestIconSVG(t *testing.T) {
	var svg struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
	}
	if err := xml.Unmarshal(IconSVG, &svg); err != nil {
		t.Fatalf("icon.svg: %v", err)
	}
	if svg.XMLName.Local != "svg" || svg.ViewBox != "0 0 512 512" {
		t.Errorf("root %q viewBox %q, want svg 0 0 512 512", svg.XMLName.Local, svg.ViewBox)
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"Icon", Icon.Content(), IconPNG},
		{"IconScalable", IconScalable.Content(), IconSVG},
	}
	for _, tt := range tests {
		if len(tt.want) == 0 || !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s content does not match the embedded file", tt.name)
		}
	}
}
