package main

import (
	"context"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/app"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

// openDesk opens dir the way main does.
func openDesk(t *testing.T, dir string) *usecase.Desk {
	t.Helper()
	st, err := app.OpenDir(dir, storage.SystemKeyring(3*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Desk
}

func TestSeedReadsBackOffline(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		plaintext bool
	}{
		{"plaintext", 25, true},
		{"keyring", 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.plaintext {
				testenv.RequireKeyring(t)
			}
			ctx := context.Background()
			dir := t.TempDir()
			if err := seed(ctx, dir, tt.n, tt.plaintext, time.Now()); err != nil {
				t.Fatal(err)
			}
			d := openDesk(t, dir)
			accs, err := d.Accounts(ctx)
			if len(accs) != tt.n {
				t.Fatalf("listed %d accounts, want %d (err %v)", len(accs), tt.n, err)
			}
			count := map[usecase.Status]int{}
			for _, a := range accs {
				count[a.Status]++
			}
			if count[usecase.StatusValid] == 0 || count[usecase.StatusExpiredRefreshable] == 0 || count[usecase.StatusNeedsSignIn] == 0 {
				t.Errorf("status mix %v: the demo should show every status", count)
			}
			for _, a := range accs {
				if a.Status != usecase.StatusValid {
					continue
				}
				scopes, err := d.Scopes(ctx, a.Key)
				if err != nil || len(scopes) == 0 {
					t.Fatalf("scopes of %s: %v %v", a.Username, scopes, err)
				}
				res, err := d.Token(ctx, a.Key, []string{scopes[0].Name}, false)
				if err != nil || res.Source != identity.SourceCache {
					t.Fatalf("cached demo token of %s: source %v, %v", a.Username, res.Source, err)
				}
				if in := usecase.Inspect(res.AccessToken); !in.JWT {
					t.Errorf("demo access token does not decode: %s", in.Note)
				}
				break
			}
		})
	}
}
