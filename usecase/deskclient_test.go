package usecase

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
)

// The Desk's own client (discovery checks, userinfo with an access token) follows
// identity's redirect policy: nothing reaches another origin.
func TestDeskClientRedirects(t *testing.T) {
	var sinkHits atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sinkHits.Add(1) }))
	defer sink.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, sink.URL+"/userinfo", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, "/doc", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer srv.Close()
	d, err := New(Deps{Config: NewMemoryConfig(), Cache: identity.NewTokenCache()})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := d.getJSON(context.Background(), srv.URL+"/away", "an-access-token", &v); !errors.Is(err, identity.ErrRedirectRefused) {
		t.Errorf("cross-origin redirect with a bearer token: %v, want ErrRedirectRefused", err)
	}
	if n := sinkHits.Load(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
	if err := d.getJSON(context.Background(), srv.URL+"/here", "", &v); err != nil || v["ok"] != true {
		t.Errorf("same-origin redirect: %v %v", err, v)
	}
}
