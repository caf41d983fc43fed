package usecase

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
)

// Two Desks of one process without a Tokendesk directory (no Deps.RefreshLocks) still
// take turns for one account: the window and the tray must not refresh it twice.
func TestTokenCallsOfOneAccountTakeTurns(t *testing.T) {
	fc := &fakeClient{accounts: []identity.Account{alice},
		tokens: map[string]identity.Result{AccountKey(alice): {AccessToken: "at"}}}
	desks := []*Desk{newFakeDesk(NewMemoryConfig(entra), fc, nil), newFakeDesk(NewMemoryConfig(entra), fc, nil)}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := desks[i%2].Token(context.Background(), AccountKey(alice), []string{"s"}, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if fc.most != 1 {
		t.Errorf("%d acquisitions for one account ran at once, want 1", fc.most)
	}
}

// Deps.Timeout bounds a Token call whose provider never answers.
func TestTokenTimeout(t *testing.T) {
	fc := &fakeClient{accounts: []identity.Account{alice}, hang: true}
	d := newFakeDesk(NewMemoryConfig(entra), fc, nil)
	d.timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := d.Token(context.Background(), AccountKey(alice), []string{"s"}, false)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	// A caller's own deadline wins over Deps.Timeout, longer or shorter.
	long, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := d.Token(long, AccountKey(alice), []string{"s"}, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with the caller's deadline: %v", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("gave up after %v: Deps.Timeout cut the caller's longer deadline", took)
	}
	// A second caller waiting behind a stuck one gives up at its own deadline too.
	fc.mu.Lock()
	fc.hang = false
	fc.mu.Unlock()
	unlock, err := d.refreshLocks.LockRefresh(context.Background(), refreshKey(alice))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := d.Token(context.Background(), AccountKey(alice), []string{"s"}, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting behind a held lock: %v, want DeadlineExceeded", err)
	}
}
