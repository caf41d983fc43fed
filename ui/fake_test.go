package ui

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/usecase"
)

// fakeDesk is a hand-written Desk for the window's own behaviour (layout, dialogs,
// clipboard timing). The real use-case layer against the real provider is in
// provider_test.go.
type fakeDesk struct {
	mu       sync.Mutex
	accounts []usecase.AccountView
	scopes   map[string][]usecase.Scope
	tokenErr error
	subs     []func()
	signedIn usecase.AccountView
	signErr  error
	reSigned []string // "key scope" of each SignInForScopes

	gate         chan struct{} // when set, Accounts waits for it to close
	accountCalls int
}

func (f *fakeDesk) Profiles(ctx context.Context) ([]profile.Profile, error) {
	return []profile.Profile{{Name: "Entra"}, {Name: "Local"}}, nil
}
func (f *fakeDesk) AddProfile(ctx context.Context, p profile.Profile) error { return nil }
func (f *fakeDesk) Accounts(ctx context.Context) ([]usecase.AccountView, error) {
	f.mu.Lock()
	f.accountCalls++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.accounts), nil
}
func (f *fakeDesk) ScopesOf(ctx context.Context, accs []usecase.AccountView) (map[string][]usecase.Scope, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]usecase.Scope{}
	for _, a := range accs {
		out[a.Key] = f.scopes[a.Key]
	}
	return out, nil
}
func (f *fakeDesk) AddScope(ctx context.Context, key, scope string) error {
	f.mu.Lock()
	f.scopes[key] = append(f.scopes[key], usecase.Scope{Name: scope, Favourite: true})
	f.mu.Unlock()
	f.notify()
	return nil
}
func (f *fakeDesk) RemoveScope(ctx context.Context, key, scope string) error {
	f.mu.Lock()
	f.scopes[key] = slices.DeleteFunc(f.scopes[key], func(s usecase.Scope) bool { return s.Name == scope })
	f.mu.Unlock()
	f.notify()
	return nil
}
func (f *fakeDesk) Token(ctx context.Context, key string, scopes []string, force bool) (identity.Result, error) {
	if f.tokenErr != nil {
		return identity.Result{}, f.tokenErr
	}
	return identity.Result{AccessToken: "fake-token-" + key + "-" + scopes[0], ExpiresOn: time.Now().Add(time.Hour)}, nil
}
func (f *fakeDesk) SignIn(ctx context.Context, profile string, o usecase.SignInOptions) (usecase.AccountView, error) {
	if o.OnAuthURL != nil {
		o.OnAuthURL("http://127.0.0.1:1/auth?x=1")
	}
	if f.signErr != nil {
		return usecase.AccountView{}, f.signErr
	}
	f.mu.Lock()
	f.accounts = append(f.accounts, f.signedIn)
	f.mu.Unlock()
	f.notify()
	return f.signedIn, nil
}
func (f *fakeDesk) SignInWithDeviceCode(ctx context.Context, profile string, o usecase.DeviceCodeOptions) (usecase.AccountView, error) {
	o.OnCode(usecase.DeviceCode{UserCode: "WXYZ-1234", VerificationURI: "http://127.0.0.1:1/device"})
	<-ctx.Done()
	return usecase.AccountView{}, ctx.Err()
}
func (f *fakeDesk) SignOut(ctx context.Context, key string) error {
	f.mu.Lock()
	f.accounts = slices.DeleteFunc(f.accounts, func(a usecase.AccountView) bool { return a.Key == key })
	f.mu.Unlock()
	f.notify()
	return nil
}
func (f *fakeDesk) Subscribe(fn func()) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
	return func() {}
}
func (f *fakeDesk) notify() {
	f.mu.Lock()
	subs := slices.Clone(f.subs)
	f.mu.Unlock()
	for _, s := range subs {
		s()
	}
}

func (f *fakeDesk) SignInForScopes(ctx context.Context, key string, scopes []string, claims string, o usecase.SignInOptions) (identity.Result, error) {
	f.mu.Lock()
	f.reSigned = append(f.reSigned, key+" "+scopes[0])
	f.mu.Unlock()
	return identity.Result{AccessToken: "fake-token-" + key + "-" + scopes[0] + "-consented", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
