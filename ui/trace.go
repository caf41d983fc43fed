package ui

import (
	"image"
	"image/color"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
)

// frameProbe is a 1×1 raster whose generator runs when the GL painter draws it: the
// first call marks the window's first frame; after a Refresh, the next call marks the
// first frame that shows the accounts. It costs one pixel and runs only when tracing.
type frameProbe struct {
	raster  *canvas.Raster
	mu      sync.Mutex
	pending []string // events to report at the next paint
	report  func(event string)
}

func newFrameProbe(report func(string)) *frameProbe {
	p := &frameProbe{report: report, pending: []string{"first-frame"}}
	p.raster = canvas.NewRaster(func(w, h int) image.Image {
		p.mu.Lock()
		ev := p.pending
		p.pending = nil
		p.mu.Unlock()
		for _, e := range ev {
			p.report(e)
		}
		img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
		img.Set(0, 0, color.Transparent)
		return img
	})
	p.raster.SetMinSize(fyne.NewSize(1, 1))
	return p
}

// expect reports event at the next paint.
func (p *frameProbe) expect(event string) {
	p.mu.Lock()
	p.pending = append(p.pending, event)
	p.mu.Unlock()
	p.raster.Refresh()
}
