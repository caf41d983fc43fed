package loopback

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkListenerReady measures Listen until the listener answers a request: the
// cost a sign-in pays before the browser may be opened.
func BenchmarkListenerReady(b *testing.B) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for b.Loop() {
		l, err := Listen(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		resp, err := c.Get(l.RedirectURI() + "favicon.ico")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		l.Close()
	}
}

// BenchmarkRedirect measures one full exchange: Listen, a redirect delivered, Wait
// returning and the port freed.
func BenchmarkRedirect(b *testing.B) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for b.Loop() {
		l, err := Listen(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := l.Wait(context.Background(), "s")
			done <- err
		}()
		resp, err := c.Get(l.RedirectURI() + "?code=c&state=s")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
