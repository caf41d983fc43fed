package storage

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/tokendesk/tokendesk/identity"
)

// File names inside the store's directory.
const (
	// IndexFileName is the sealed index of the token cache: which accounts it holds and
	// where each one's sealed record lies. The records are in a data file it names,
	// "cache.d-<16 hex digits>".
	IndexFileName = "cache.idx"
	// PlaintextIndexFileName is the index of WithPlaintext's unencrypted cache (data
	// files "cache-plaintext.d-<hex>"). It has its own name so switching the setting
	// never reads one kind of file as the other.
	PlaintextIndexFileName = "cache-plaintext.idx"
	// CacheFileName is the sealed token cache of format 1 (one file holding every
	// account), converted on first use and then kept as cache.bin.migrated.
	CacheFileName = "cache.bin"
	// PlaintextCacheFileName is format 1's unencrypted cache of WithPlaintext.
	PlaintextCacheFileName = "cache-plaintext.bin"
	// LockFileName is the cross-process lock; it is never removed.
	LockFileName = "cache.lock"
)

// DefaultLockTimeout bounds how long an operation waits for another Tokendesk process
// (or goroutine) to finish with the cache.
const DefaultLockTimeout = 10 * time.Second

// lockRetry is how often a busy lock file is tried again. Lock holders only do
// in-memory work and one file write, so waits are short.
const lockRetry = 2 * time.Millisecond

// ErrLockTimeout means the cache stayed locked for longer than the lock timeout,
// usually by a stuck Tokendesk process.
var ErrLockTimeout = errors.New("storage: the token cache stayed locked by another Tokendesk process; " +
	"close other Tokendesk windows or CLI commands that hang, then try again")

// NoticeKind classifies a Notice.
type NoticeKind string

// Notice kinds.
const (
	// NoticeCacheCorrupt: the cache file could not be read back (wrong key, tampering,
	// truncation) and was moved aside; the user has to sign in again.
	NoticeCacheCorrupt NoticeKind = "cache-corrupt"
	// NoticePlaintextLeftover: a plaintext cache from an earlier allow_plaintext_cache
	// setting is still on disk although the store now encrypts.
	NoticePlaintextLeftover NoticeKind = "plaintext-leftover"
)

// Notice is something the user should be told about, such as a cache moved aside. The
// UI and CLI show Message; Path names the file concerned.
type Notice struct {
	Time    time.Time
	Kind    NoticeKind
	Message string
	Path    string
}

// StoreOption configures OpenCacheStore.
type StoreOption func(*storeConfig)

type storeConfig struct {
	plaintext   bool
	lockTimeout time.Duration
	onNotice    func(Notice)
	now         func() time.Time
	keyService  string
	keyUser     string
}

// WithKeyringEntry stores the cache key under another keyring service and user than
// KeyringService and CacheKeyUser, for a second, independent Tokendesk home
// (TOKENDESK_HOME) and for tests.
func WithKeyringEntry(service, user string) StoreOption {
	return func(c *storeConfig) { c.keyService, c.keyUser = service, user }
}

// WithPlaintext stores the cache unencrypted and never asks the keyring: the explicit
// opt-in (config allow_plaintext_cache) for machines without any keyring. Anyone who can
// read the file can use the tokens in it; the UI must warn while it is on (Plaintext).
func WithPlaintext() StoreOption { return func(c *storeConfig) { c.plaintext = true } }

// WithLockTimeout sets how long an operation waits for the cache lock (default
// DefaultLockTimeout) before failing with ErrLockTimeout.
func WithLockTimeout(d time.Duration) StoreOption {
	return func(c *storeConfig) { c.lockTimeout = d }
}

// WithNoticeFunc calls f for every new Notice as it happens, in the goroutine of the
// cache operation and with the cache locked: f must return quickly and must not use the
// store. Notices also stays available.
func WithNoticeFunc(f func(Notice)) StoreOption { return func(c *storeConfig) { c.onNotice = f } }

// CacheStore persists an identity.TokenCache in one file shared by every Tokendesk
// process. It implements identity.CacheHook; pass it with identity.WithCacheHook. It is
// safe for concurrent use.
type CacheStore struct {
	dir        string
	path       string // the index
	v1path     string // a format-1 cache to migrate
	dataPrefix string // data files are dataPrefix + 16 hex digits
	kr         Keyring
	cfg        storeConfig
	lock       *flock.Flock

	// sem serializes cache operations within the process. It is a channel rather than a
	// sync.Mutex so the wait can give up at the lock timeout or context end.
	sem chan struct{}

	// Owned by whoever holds sem.
	aead   cipher.AEAD
	held   *holding
	synced []syncEntry
	idx    *storeIndex // the index last read or written, at idxSig
	idxSig fileSig
	// lastWhole: the last whole save changed most records; wholeHint: saveChanged
	// left the save to the whole one because most accounts changed (expectWhole).
	lastWhole, wholeHint bool

	mu      sync.Mutex // guards notices and the held pointer's identity for AfterAccess
	notices []Notice

	// accountSaves counts saves that wrote only the accounts that changed (saveChanged),
	// so tests can tell them from whole saves, which write the same bytes.
	accountSaves int
	// layoutSplits counts whole saves split by identity's layout (splitLayout).
	layoutSplits int

	// testHookCorrupt, when set, runs after a lock-free read found the file unreadable,
	// to let a test replace the file at exactly that moment.
	testHookCorrupt func()
}

// holding describes the operation between BeforeAccess and AfterAccess.
type holding struct {
	cache cacheData
	write bool
	scope *scope
}

// syncEntry remembers which version of the index a cache was last loaded from or saved
// as, and which records it holds. A few entries cover the few caches a process has.
type syncEntry struct {
	cache      cacheData
	sig        fileSig
	generation uint64
	scope      *scope
}

// scope says which records a cache holds: every one (the store as the hook), those of
// some home accounts and the shared one (AccountsHook), or only the Account entries
// the index keeps (AccountsView, read-only).
type scope struct {
	homes        map[string]bool // nil: every record
	accountsOnly bool
}

// fullScope is the scope of a cache that holds everything.
var fullScope = &scope{}

// selects reports whether the record of e is in the scope.
func (sc *scope) selects(e *indexEntry) bool {
	if sc.accountsOnly {
		return false
	}
	return sc.homes == nil || e.home == "" || sc.homes[e.home]
}

const maxSynced = 8

// cacheData is what the store needs of a cache. *identity.TokenCache provides it; tests
// of this package use raw bytes.
type cacheData interface {
	Serialize() ([]byte, error)
	Deserialize(data []byte) error
}

var (
	_ identity.CacheHook = (*CacheStore)(nil)
	_ cacheData          = (*identity.TokenCache)(nil)
)

// OpenCacheStore returns the store for the cache file in dir, creating dir (mode 0700)
// when missing. kr holds the encryption key; it is asked on the first cache operation
// only (and not at all with WithPlaintext, where kr may be nil). Pass
// SystemKeyring(DefaultKeyringTimeout) for the OS keyring.
func OpenCacheStore(dir string, kr Keyring, opts ...StoreOption) (*CacheStore, error) {
	cfg := storeConfig{
		lockTimeout: DefaultLockTimeout,
		now:         time.Now,
		keyService:  KeyringService,
		keyUser:     CacheKeyUser,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.lockTimeout <= 0 {
		cfg.lockTimeout = DefaultLockTimeout
	}
	if kr == nil && !cfg.plaintext {
		return nil, errors.New("storage: OpenCacheStore needs a Keyring unless WithPlaintext is set")
	}
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	name, v1, data := IndexFileName, CacheFileName, "cache.d-"
	if cfg.plaintext {
		name, v1, data = PlaintextIndexFileName, PlaintextCacheFileName, "cache-plaintext.d-"
	}
	s := &CacheStore{
		dir:        dir,
		path:       filepath.Join(dir, name),
		v1path:     filepath.Join(dir, v1),
		dataPrefix: filepath.Join(dir, data),
		kr:         kr,
		cfg:        cfg,
		lock:       newFileLock(filepath.Join(dir, LockFileName)),
		sem:        make(chan struct{}, 1),
	}
	if !cfg.plaintext {
		for _, name := range []string{PlaintextIndexFileName, PlaintextCacheFileName} {
			leftover := filepath.Join(dir, name)
			if _, err := os.Stat(leftover); err != nil {
				continue
			}
			s.notify(NoticePlaintextLeftover, leftover,
				"an unencrypted token cache from the plaintext cache setting is still on disk; "+
					"delete it (and the cache-plaintext.d-* files beside it) unless you switch that setting back on")
			break
		}
	}
	return s, nil
}

// Path returns the path of the cache's index file.
func (s *CacheStore) Path() string { return s.path }

// Plaintext reports whether the cache is stored unencrypted (WithPlaintext), so the UI
// can show a warning while it is.
func (s *CacheStore) Plaintext() bool { return s.cfg.plaintext }

// Notices returns every notice since the store was opened, oldest first.
func (s *CacheStore) Notices() []Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notice(nil), s.notices...)
}

func (s *CacheStore) notify(kind NoticeKind, path, msg string) {
	n := Notice{Time: s.cfg.now(), Kind: kind, Message: msg, Path: path}
	s.mu.Lock()
	s.notices = append(s.notices, n)
	s.mu.Unlock()
	if s.cfg.onNotice != nil {
		s.cfg.onNotice(n)
	}
}

// BeforeAccess prepares an operation on cache: it loads the file into cache if the file
// changed since cache last saw it, and for a write (a read-modify-write) takes the
// exclusive cross-process lock, held until AfterAccess. Reads take no file lock: writers
// replace the file atomically, so a reader always sees a whole version. On error nothing
// stays locked.
func (s *CacheStore) BeforeAccess(ctx context.Context, cache *identity.TokenCache, write bool) error {
	if cache == nil {
		return errors.New("storage: nil token cache")
	}
	return s.before(ctx, cache, write, fullScope)
}

// AfterAccess saves cache when the operation changed it, then unlocks. A failed save
// leaves the previous file intact and is returned.
func (s *CacheStore) AfterAccess(ctx context.Context, cache *identity.TokenCache, write, changed bool) error {
	if cache == nil {
		return errors.New("storage: nil token cache")
	}
	return s.after(ctx, cache, changed)
}

func (s *CacheStore) before(ctx context.Context, cache cacheData, write bool, sc *scope) (err error) {
	if write && sc.accountsOnly {
		return errors.New("storage: the account listing is read-only")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The deadline timer is made only when something has to wait: an uncontended
	// operation is a few syscalls, and a timer would be a good part of its cost.
	var lctx context.Context
	var cancel context.CancelFunc
	deadline := func() context.Context {
		if lctx == nil {
			lctx, cancel = context.WithTimeout(ctx, s.cfg.lockTimeout)
		}
		return lctx
	}
	defer func() {
		if cancel != nil {
			cancel()
		}
	}()
	select {
	case s.sem <- struct{}{}:
	default:
		select {
		case s.sem <- struct{}{}:
		case <-deadline().Done():
			return s.lockErr(ctx, "waiting for another operation in this process")
		}
	}
	defer func() {
		if err != nil {
			<-s.sem
		}
	}()
	if !s.cfg.plaintext && s.aead == nil {
		if err := s.loadKey(deadline(), ctx); err != nil {
			return err
		}
	}
	switch {
	case write:
		err = s.lockFileFast(deadline, ctx)
	case !lockFreeReads:
		err = s.lockFile(deadline(), ctx, false)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.lock.Unlock()
		}
	}()
	if err := s.refresh(ctx, deadline, cache, write, sc); err != nil {
		return err
	}
	s.mu.Lock()
	s.held = &holding{cache: cache, write: write, scope: sc}
	s.mu.Unlock()
	return nil
}

func (s *CacheStore) after(_ context.Context, cache cacheData, changed bool) error {
	s.mu.Lock()
	h := s.held
	if h == nil || h.cache != cache {
		// BeforeAccess failed (and already unlocked) or was never called.
		s.mu.Unlock()
		return nil
	}
	s.held = nil
	s.mu.Unlock()
	defer func() { <-s.sem }()
	defer s.lock.Unlock()
	if !changed {
		return nil
	}
	if !h.write {
		return errors.New("storage: the token cache changed during a read-only access and was not saved")
	}
	return s.save(cache, h.scope)
}

// lockFileFast tries the exclusive cross-process lock once before waiting for it within
// the deadline.
func (s *CacheStore) lockFileFast(deadline func() context.Context, ctx context.Context) error {
	ok, err := s.lock.TryLock()
	if ok {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: locking %s: %w", s.lock.Path(), err)
	}
	return s.lockFile(deadline(), ctx, true)
}

// lockFreeReads says lookups may skip the file lock. On Windows a reader's open file
// makes the writer's rename over it fail, so readers there hold a shared lock, which
// keeps writers out while they read.
const lockFreeReads = runtime.GOOS != "windows"

// lockFile takes the cross-process lock, exclusive or shared, within lctx.
func (s *CacheStore) lockFile(lctx, ctx context.Context, exclusive bool) error {
	try := s.lock.TryRLockContext
	if exclusive {
		try = s.lock.TryLockContext
	}
	ok, err := try(lctx, lockRetry)
	if ok {
		return nil
	}
	if err != nil && lctx.Err() == nil {
		return fmt.Errorf("storage: locking %s: %w", s.lock.Path(), err)
	}
	return s.lockErr(ctx, "waiting for "+s.lock.Path())
}

// lockErr tells a caller's cancellation apart from the store's own lock timeout.
func (s *CacheStore) lockErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", what, err)
	}
	return fmt.Errorf("%w (%s for %s)", ErrLockTimeout, what, s.cfg.lockTimeout)
}

// loadKey reads the cache key from the keyring, creating it on first use. Creation runs
// under the exclusive file lock with a second look, so two first-time processes cannot
// each store a different key and make the other's file unreadable.
func (s *CacheStore) loadKey(lctx, ctx context.Context) error {
	v, err := s.kr.Get(s.cfg.keyService, s.cfg.keyUser)
	if errors.Is(err, ErrNotFound) {
		if err := s.lockFile(lctx, ctx, true); err != nil {
			return err
		}
		defer s.lock.Unlock()
		v, err = s.kr.Get(s.cfg.keyService, s.cfg.keyUser)
		if errors.Is(err, ErrNotFound) {
			key := make([]byte, keyLen)
			if _, err := rand.Read(key); err != nil {
				return fmt.Errorf("storage: generating the cache key: %w", err)
			}
			v = base64.StdEncoding.EncodeToString(key)
			err = s.kr.Set(s.cfg.keyService, s.cfg.keyUser, v)
		}
	}
	if err != nil {
		// The keyring's errors already say what was read and how to fix it.
		return err
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) != keyLen {
		return fmt.Errorf("storage: the keyring entry %s/%s is not a Tokendesk cache key; "+
			"delete it (the cached sign-ins are then lost)", s.cfg.keyService, s.cfg.keyUser)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	s.aead = aead
	return nil
}

func (s *CacheStore) entry(cache cacheData) *syncEntry {
	for i := range s.synced {
		if s.synced[i].cache == cache {
			return &s.synced[i]
		}
	}
	return nil
}

func (s *CacheStore) remember(cache cacheData, sig fileSig, gen uint64, sc *scope) {
	if e := s.entry(cache); e != nil {
		e.sig, e.generation, e.scope = sig, gen, sc
		return
	}
	if len(s.synced) == maxSynced {
		s.synced = s.synced[1:]
	}
	s.synced = append(s.synced, syncEntry{cache: cache, sig: sig, generation: gen, scope: sc})
}
