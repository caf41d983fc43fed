package identity

// Tests of what the cache tells its hook (and HasChanged), and of concurrent use.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestCacheHasChanged(t *testing.T) {
	c := NewTokenCache()
	if c.HasChanged() {
		t.Fatal("new cache has changed")
	}
	mustStore(t, c, entraAuthority("organizations"), testClientID, userResponse(alice, "", "s", "at", "rt"))
	if !c.HasChanged() {
		t.Fatal("store did not mark the cache changed")
	}
	b, _ := c.Serialize()
	if c.HasChanged() {
		t.Fatal("Serialize did not clear the flag")
	}
	pc := newTestClient(t, c, entraAuthority("organizations"), nil)
	if _, err := pc.AcquireTokenSilent(context.Background(), []string{"s"}, Account{HomeAccountID: alice.home(), Environment: testHost, Realm: alice.utid}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Accounts(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if c.HasChanged() {
		t.Fatal("a cache hit or a listing marked the cache changed")
	}
	if err := pc.RemoveAccount(context.Background(), Account{HomeAccountID: "nobody", Environment: testHost}); err != nil {
		t.Fatal(err)
	}
	if c.HasChanged() {
		t.Fatal("removing nothing marked the cache changed")
	}
	mustStore(t, c, entraAuthority("organizations"), testClientID, userResponse(alice, "", "s", "at", "rt"))
	if err := c.Deserialize(b); err != nil || c.HasChanged() {
		t.Fatalf("Deserialize: err %v, changed %v", err, c.HasChanged())
	}
}

// recordingHook records the hook calls and checks they are balanced, and that the
// cache lock is not held while the hook runs (it may call Serialize/Deserialize).
type recordingHook struct {
	mu     sync.Mutex
	calls  []string
	depth  int
	failOn string
}

func (h *recordingHook) BeforeAccess(_ context.Context, c *TokenCache, write bool) error {
	if _, err := c.Serialize(); err != nil { // would deadlock if the lock were held
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.depth++
	h.calls = append(h.calls, fmt.Sprintf("before(write=%v)", write))
	if h.failOn == "before" {
		h.depth--
		return errors.New("hook failed")
	}
	return nil
}

func (h *recordingHook) AfterAccess(_ context.Context, c *TokenCache, write, changed bool) error {
	if changed {
		if _, err := c.Serialize(); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.depth--
	h.calls = append(h.calls, fmt.Sprintf("after(write=%v,changed=%v)", write, changed))
	return nil
}

func (h *recordingHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls
	h.calls = nil
	return c
}

func TestCacheHookBracketsEveryAccess(t *testing.T) {
	h := &recordingHook{}
	c := NewTokenCache(WithCacheHook(h))
	info := entraAuthority("organizations")
	sts := &fakeSTS{respond: func(tokenRequest) (*tokenResponse, error) {
		return userResponse(alice, "", "Mail.Read", "at-2", "rt-2"), nil
	}}
	pc := newTestClient(t, c, info, sts)
	acct := Account{HomeAccountID: alice.home(), Environment: testHost, Realm: alice.utid}
	ctx := context.Background()
	read := []string{"before(write=false)", "after(write=false,changed=false)"}
	write := []string{"before(write=true)", "after(write=true,changed=true)"}

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"store", func() error {
			mustStore(t, c, info, testClientID, userResponse(alice, "", "User.Read", "at", "rt"))
			return nil
		}, write},
		{"silent hit", func() error { _, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, acct); return err }, read},
		{"silent refresh: lookup, RT lookup, store", func() error {
			_, err := pc.AcquireTokenSilent(ctx, []string{"Mail.Read"}, acct)
			return err
		}, append(append(append([]string{}, read...), read...), write...)},
		{"accounts", func() error { _, err := pc.Accounts(ctx, ""); return err }, read},
		{"remove account", func() error { return pc.RemoveAccount(ctx, acct) }, write},
		{"remove nothing", func() error { return pc.RemoveAccount(ctx, acct) }, []string{"before(write=true)", "after(write=true,changed=false)"}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := h.take(); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: hook calls %v, want %v", s.name, got, s.want)
		}
		if h.depth != 0 {
			t.Fatalf("%s: unbalanced hook calls", s.name)
		}
	}
	h.failOn = "before"
	if _, err := pc.Accounts(ctx, ""); err == nil || !strings.Contains(err.Error(), "hook failed") {
		t.Fatalf("Accounts with a failing hook: %v", err)
	}
	if _, err := c.store(storeParams{authority: info, clientID: testClientID, response: userResponse(bob, "", "s", "a", "r")}); err == nil {
		t.Fatal("store with a failing hook succeeded")
	}
}

func TestCacheConcurrentSilentAndStore(t *testing.T) {
	c := NewTokenCache()
	info := entraAuthority("organizations")
	users := make([]user, 20)
	for i := range users {
		users[i] = user{fmt.Sprintf("uid%02d", i), alice.utid, fmt.Sprintf("u%02d@contoso.com", i)}
		mustStore(t, c, info, testClientID, userResponse(users[i], "", "User.Read", "at", "rt"))
	}
	sts := &fakeSTS{respond: func(req tokenRequest) (*tokenResponse, error) {
		return userResponse(users[0], "", "Mail.Read", "at-r", "rt-r"), nil
	}}
	pc := newTestClient(t, c, info, sts)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				u := users[(g+i)%len(users)]
				acct := Account{HomeAccountID: u.home(), Environment: testHost, Realm: u.utid}
				switch i % 5 {
				case 0:
					if _, err := c.store(storeParams{authority: info, clientID: testClientID, response: userResponse(u, "", "User.Read", "at", "rt")}); err != nil {
						errs <- err
					}
				case 1:
					if _, err := pc.Accounts(ctx, ""); err != nil {
						errs <- err
					}
				case 2:
					if _, err := c.Serialize(); err != nil {
						errs <- err
					}
				case 3:
					_, _ = pc.AcquireTokenSilent(ctx, []string{"Mail.Read"}, acct)
				default:
					if res, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, acct); err != nil || res.AccessToken != "at" {
						errs <- fmt.Errorf("silent hit: %v %q", err, res.AccessToken)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
