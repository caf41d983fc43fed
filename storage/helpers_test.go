package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/testenv"
)

// envChild selects a child-process role: the test binary re-executes itself so tests
// can run real concurrent processes and kill one mid-write.
const envChild = "TOKENDESK_STORAGE_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(envChild); role != "" {
		os.Exit(runChild(role))
	}
	testenv.Main(m)
}

// child starts this test binary in the given role with extra environment.
func child(t testing.TB, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+role)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// mapCache is a cacheData holding string entries, standing in for identity.TokenCache
// so the store is tested on its own.
type mapCache struct {
	mu           sync.Mutex
	m            map[string]string
	deserialized int
}

func newMapCache() *mapCache { return &mapCache{m: map[string]string{}} }

// mapEntry is how mapCache stores a value: as an MSAL access token of the home
// account named by the key up to its first "-", so the store splits a mapCache into
// per-account records as it splits a real cache ("w3-001" and "w3-002" share a record).
type mapEntry struct {
	Home   string `json:"home_account_id"`
	Env    string `json:"environment"`
	Secret string `json:"secret"`
}

func mapHome(k string) string {
	h, _, _ := strings.Cut(k, "-")
	return h
}

func (c *mapCache) Serialize() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sec := make(map[string]mapEntry, len(c.m))
	for k, v := range c.m {
		sec[k] = mapEntry{Home: mapHome(k), Env: "login.test", Secret: v}
	}
	return json.Marshal(map[string]any{"AccessToken": sec})
}

func (c *mapCache) Deserialize(data []byte) error {
	var doc struct {
		AccessToken map[string]mapEntry
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &doc); err != nil {
			return err
		}
	}
	m := map[string]string{}
	for k, e := range doc.AccessToken {
		m[k] = e.Secret
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = m
	c.deserialized++
	return nil
}

func (c *mapCache) set(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = v
}

func (c *mapCache) get(k string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *mapCache) keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ks []string
	for k := range c.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// put runs one read-modify-write through the store, as identity does after a token
// response.
func put(ctx context.Context, s *CacheStore, c *mapCache, k, v string) error {
	if err := s.before(ctx, c, true, fullScope); err != nil {
		return err
	}
	c.set(k, v)
	return s.after(ctx, c, true)
}

// load runs one read access, loading c if the file changed.
func load(ctx context.Context, s *CacheStore, c cacheData) error {
	return bracket(ctx, s, c, false, false)
}

// bracket runs the hook's two calls around an operation that changed nothing or, with
// changed, everything (as identity does).
func bracket(ctx context.Context, s *CacheStore, c cacheData, write, changed bool) error {
	if err := s.before(ctx, c, write, fullScope); err != nil {
		return err
	}
	return s.after(ctx, c, changed)
}

// memKeyring is an in-memory Keyring that counts calls.
type memKeyring struct {
	mu    sync.Mutex
	m     map[string]string
	calls int
	err   error
}

func newMemKeyring() *memKeyring { return &memKeyring{m: map[string]string{}} }

func (k *memKeyring) Get(service, user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.err != nil {
		return "", k.err
	}
	v, ok := k.m[service+"/"+user]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (k *memKeyring) Set(service, user, secret string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.err != nil {
		return k.err
	}
	k.m[service+"/"+user] = secret
	return nil
}

func (k *memKeyring) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if _, ok := k.m[service+"/"+user]; !ok {
		return ErrNotFound
	}
	delete(k.m, service+"/"+user)
	return nil
}

func (k *memKeyring) callCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

// countingKeyring counts the calls that reach an underlying Keyring.
type countingKeyring struct {
	Keyring
	mu   sync.Mutex
	gets int
	sets int
}

func (k *countingKeyring) Get(service, user string) (string, error) {
	k.mu.Lock()
	k.gets++
	k.mu.Unlock()
	return k.Keyring.Get(service, user)
}

func (k *countingKeyring) Set(service, user, secret string) error {
	k.mu.Lock()
	k.sets++
	k.mu.Unlock()
	return k.Keyring.Set(service, user, secret)
}

// testKeyUser returns a keyring user unique to the test and deletes it afterwards, so
// tests never share or leave behind a cache key.
func testKeyUser(t testing.TB) string {
	t.Helper()
	user := fmt.Sprintf("cache-key-test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid())
	t.Cleanup(func() { keyring.Delete(KeyringService, user) })
	return user
}

// secretToolLookup reads a secret the way a user would, independently of go-keyring.
func secretToolLookup(t testing.TB, service, user string) string {
	t.Helper()
	out, err := exec.Command("secret-tool", "lookup", "service", service, "username", user).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) == 0 {
			return ""
		}
		t.Fatalf("secret-tool lookup: %v", err)
	}
	return string(out)
}

// blockingKeyring never answers, like a hung keyring daemon.
type blockingKeyring struct {
	block <-chan struct{}
	calls atomic.Int32
}

func (k *blockingKeyring) Get(string, string) (string, error) {
	k.calls.Add(1)
	<-k.block
	return "", errors.New("unblocked")
}

func (k *blockingKeyring) Set(string, string, string) error {
	k.calls.Add(1)
	<-k.block
	return errors.New("unblocked")
}

func (k *blockingKeyring) Delete(string, string) error {
	k.calls.Add(1)
	<-k.block
	return errors.New("unblocked")
}

// killMidChurn starts a child process in role (a writer saving in a loop), lets it
// finish its first write, then sends it SIGKILL at a random moment up to 150 ms later
// and reaps it: the kill -9 tests' one round.
func killMidChurn(t *testing.T, round int, role, dir, user string) {
	t.Helper()
	cmd := child(t, role, "STORE_DIR="+dir, "KEY_USER="+user)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("round %d: writer never finished its first write: %v\n%s", round, err, stderr.String())
	}
	time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// killLandedInWrite tells, after killMidChurn, whether the kill interrupted a save: a
// temporary file (index or compacted data file), a second data file no index names yet
// (a whole save writes its new data file under its final name), or bytes appended to
// the data file beyond what the index refers to.
func killLandedInWrite(t *testing.T, dir, user string) bool {
	t.Helper()
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(tmps) > 0 {
		return true
	}
	if data, _ := filepath.Glob(filepath.Join(dir, "cache.d-*")); len(data) > 1 {
		return true
	}
	return dataTail(t, dir, user) > 0
}

// saveTokenCache saves doc (an MSAL cache) through an identity.TokenCache hooked to s,
// as the window's first save does, and returns the cache for the test to change further.
func saveTokenCache(t *testing.T, s *CacheStore, doc []byte) *identity.TokenCache {
	t.Helper()
	ctx := context.Background()
	c := identity.NewTokenCache(identity.WithCacheHook(s))
	if err := s.BeforeAccess(ctx, c, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Deserialize(doc); err != nil {
		t.Fatal(err)
	}
	if err := s.AfterAccess(ctx, c, true, true); err != nil {
		t.Fatal(err)
	}
	return c
}
