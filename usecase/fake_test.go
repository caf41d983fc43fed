package usecase

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// fakeClient is a hand-written stand-in for identity.PublicClient, for the use cases'
// own logic (lookup, favourites, errors). The real provider is exercised in
// provider_test.go.
type fakeClient struct {
	mu       sync.Mutex
	accounts []identity.Account
	tokens   map[string]identity.Result // by AccountKey
	err      error                      // returned by AcquireTokenSilentWithError
	removed  []string
	lastOpts int
	// hang makes AcquireTokenSilentWithError wait for its context's end, as a call to a
	// stalled token endpoint would.
	hang bool
	// inside counts AcquireTokenSilentWithError calls running now; most is its peak.
	inside, most int
}

func (f *fakeClient) Accounts(ctx context.Context, username string) (identity.AccountList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return identity.NewAccountList(f.accounts...), nil
}

func (f *fakeClient) AcquireTokenSilentWithError(ctx context.Context, scopes []string, account identity.Account, opts ...identity.CallOption) (identity.Result, error) {
	f.mu.Lock()
	f.inside++
	f.most = max(f.most, f.inside)
	hang := f.hang
	f.mu.Unlock()
	time.Sleep(time.Millisecond) // long enough for an unserialized caller to overlap
	defer func() {
		f.mu.Lock()
		f.inside--
		f.mu.Unlock()
	}()
	if hang {
		<-ctx.Done()
		return identity.Result{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastOpts = len(opts)
	if f.err != nil {
		return identity.Result{}, f.err
	}
	r, ok := f.tokens[AccountKey(account)]
	if !ok {
		return identity.Result{}, identity.ErrInteractionRequired
	}
	r.Scopes = scopes
	return r, nil
}

func (f *fakeClient) RemoveAccount(ctx context.Context, account identity.Account) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := AccountKey(account)
	f.removed = append(f.removed, k)
	f.accounts = slices.DeleteFunc(f.accounts, func(a identity.Account) bool { return AccountKey(a) == k })
	return nil
}

func (f *fakeClient) interactive(ctx context.Context, scopes []string, o SignInOptions, opener Opener) (identity.Result, error) {
	if o.OnAuthURL != nil {
		o.OnAuthURL("http://127.0.0.1:1/auth")
	}
	if opener != nil {
		if err := opener(ctx, "http://127.0.0.1:1/auth"); err != nil {
			return identity.Result{}, err
		}
	}
	a := identity.Account{HomeAccountID: "new", Environment: "127.0.0.1", Username: o.LoginHint}
	f.mu.Lock()
	f.accounts = append(f.accounts, a)
	f.mu.Unlock()
	return identity.Result{Account: a}, nil
}

func (f *fakeClient) deviceCode(ctx context.Context, scopes []string, onCode func(DeviceCode)) (identity.Result, error) {
	onCode(DeviceCode{UserCode: "ABCD-EFGH", VerificationURI: "http://127.0.0.1:1/device"})
	a := identity.Account{HomeAccountID: "dev", Environment: "127.0.0.1", Username: "device@example.com"}
	f.mu.Lock()
	f.accounts = append(f.accounts, a)
	f.mu.Unlock()
	return identity.Result{Account: a}, nil
}

// newFakeDesk returns a Desk whose every profile uses fc.
func newFakeDesk(cfg ConfigStore, fc *fakeClient, states map[string]tokenState) *Desk {
	d, err := New(Deps{Config: cfg, Cache: identity.NewTokenCache()})
	if err != nil {
		panic(err)
	}
	d.makeClient = func(profile.Profile) (client, error) { return fc, nil }
	d.inspect = func(context.Context) (cacheSummary, error) {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return cacheSummary{accounts: len(fc.accounts), states: states}, nil
	}
	return d
}
