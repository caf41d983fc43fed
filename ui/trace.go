package ui

import (
	"image"
	"image/color"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
)

// frameProbe is a 1×1 transparent raster whose generator runs when the GL painter
// draws it: the first call marks the window's first frame (start-up work waits for
// it, see UI.AfterFirstFrame); when tracing, later calls report the events queued by
// expect (the first frame that shows the accounts).
type frameProbe struct {
	raster  *canvas.Raster
	mu      sync.Mutex
	painted bool     // the first frame has been drawn
	after   []func() // run once the first frame has been drawn
	pending []string // trace events to report at the next paint
	report  func(event string)
}

// newFrameProbe returns a probe; report (nil: no tracing) receives trace events.
func newFrameProbe(report func(string)) *frameProbe {
	p := &frameProbe{report: report}
	if report != nil {
		p.pending = []string{"first-frame"}
	}
	p.raster = canvas.NewRaster(func(w, h int) image.Image {
		p.mu.Lock()
		ev, after := p.pending, p.after
		p.pending, p.after, p.painted = nil, nil, true
		p.mu.Unlock()
		for _, e := range ev {
			p.report(e)
		}
		for _, f := range after {
			go f() // never hold up the paint
		}
		img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
		img.Set(0, 0, color.Transparent)
		return img
	})
	p.raster.SetMinSize(fyne.NewSize(1, 1))
	return p
}

// expect reports event at the next paint (tracing only).
func (p *frameProbe) expect(event string) {
	if p.report == nil {
		return
	}
	p.mu.Lock()
	p.pending = append(p.pending, event)
	p.mu.Unlock()
	p.raster.Refresh()
}

// afterFirstFrame runs f on its own goroutine once the first frame has been drawn.
func (p *frameProbe) afterFirstFrame(f func()) {
	p.mu.Lock()
	done := p.painted
	if !done {
		p.after = append(p.after, f)
	}
	p.mu.Unlock()
	if done {
		go f()
	}
}
