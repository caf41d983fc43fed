package storage

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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

	mu      sync.Mutex // guards notices and the held pointer's identity for AfterAccess
	notices []Notice

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

// maxCacheFile bounds what is read: a cache of 10,000 accounts is about 30 MB, and a
// bound keeps a foreign huge file from exhausting memory (it is moved aside instead).
const maxCacheFile = 1 << 30

// maxReadRetries bounds how often a lock-free reader starts over because a writer
// replaced the data file between its reading the index and the records.
const maxReadRetries = 8

// refresh loads the stored records sc selects into cache unless cache already holds
// this version of the index: the common case costs one stat. Reads take no file lock
// (exclusive says whether the caller holds the exclusive one): writers only ever
// rename a complete index into place and never change a byte an index refers to, so a
// reader sees one whole version. Only a holder of the exclusive lock migrates a
// format-1 file, or moves an unreadable index or record aside, after checking it is
// still the same index, so a reader can never push aside a good cache a writer has
// just put in place.
func (s *CacheStore) refresh(ctx context.Context, deadline func() context.Context, cache cacheData, exclusive bool, sc *scope) error {
	upgrade := func() error {
		if s.testHookCorrupt != nil {
			s.testHookCorrupt()
		}
		// Drop a shared lock first (Windows): it cannot be upgraded in place.
		s.lock.Unlock()
		if lerr := s.lockFile(deadline(), ctx, true); lerr != nil {
			return lerr
		}
		exclusive = true
		return nil
	}
	upgraded := false
	defer func() {
		if upgraded {
			s.lock.Unlock()
		}
	}()
	for attempt := 0; ; attempt++ {
		sig, err := statSig(s.path)
		if err != nil {
			return fmt.Errorf("storage: reading the token cache: %w", err)
		}
		if e := s.entry(cache); e != nil && e.sig == sig && e.scope == sc {
			return nil
		}
		if !sig.exists {
			if _, err := os.Stat(s.v1path); err == nil {
				// A cache in format 1: converted once, by a holder of the exclusive lock.
				if !exclusive {
					if err := upgrade(); err != nil {
						return err
					}
					upgraded = true
					continue
				}
				if err := s.migrate(); err != nil {
					return err
				}
				continue
			}
			// Nothing stored (yet, or any more): keep what the cache holds in memory.
			s.remember(cache, sig, 0, sc)
			return nil
		}
		var x *storeIndex
		var rsig fileSig
		if s.idx != nil && s.idxSig == sig {
			x, rsig = s.idx, sig
		} else {
			x, rsig, err = s.readIndex()
		}
		if err != nil && rsig == (fileSig{}) {
			return fmt.Errorf("storage: reading the token cache: %w", err)
		}
		if !rsig.exists {
			continue // removed between stat and open: look again
		}
		if _, probe := cache.(*nullCache); probe && err == nil {
			// Summaries: the index is all it needs.
			s.idx, s.idxSig = x, rsig
			s.remember(cache, rsig, x.generation, sc)
			return nil
		}
		var bad []string
		if err == nil {
			var doc []byte
			doc, bad, err = s.loadRecords(x, sc)
			if errors.Is(err, fs.ErrNotExist) && !exclusive && attempt < maxReadRetries {
				continue // a writer compacted the data file meanwhile: read the new index
			}
			if err == nil && len(bad) == 0 {
				if derr := cache.Deserialize(doc); derr != nil {
					bad = s.undecodable(cache, x, sc)
					if len(bad) == 0 {
						err = fmt.Errorf("%w: %w", errCorrupt, derr)
					}
				} else {
					s.idx, s.idxSig = x, rsig
					s.remember(cache, rsig, x.generation, sc)
					return nil
				}
			}
		}
		if !exclusive {
			if err := upgrade(); err != nil {
				return err
			}
			upgraded = true
			if cur, _ := statSig(s.path); cur != rsig {
				continue // replaced meanwhile: read the new index
			}
		}
		if err == nil && len(bad) > 0 {
			if err := s.dropRecords(x, bad); err != nil {
				return err
			}
			continue
		}
		return s.moveAside(cache, sc, err)
	}
}

// readIndex reads and opens the index file, with the signature of exactly the bytes
// read. A missing file gives a zero signature and no error; a file that cannot be read
// whole or opened gives its signature and an errCorrupt error.
func (s *CacheStore) readIndex() (*storeIndex, fileSig, error) {
	raw, sig, err := readFileSig(s.path)
	if err != nil || !sig.exists {
		return nil, sig, err
	}
	x, err := openIndex(s.aead, raw)
	return x, sig, err
}

// currentIndex returns the index on disk now (nil when there is none), reusing the
// last one read or written when the file is unchanged.
func (s *CacheStore) currentIndex() (*storeIndex, fileSig, error) {
	sig, err := statSig(s.path)
	if err != nil {
		return nil, sig, err
	}
	if !sig.exists {
		return nil, sig, nil
	}
	if s.idx != nil && s.idxSig == sig {
		return s.idx, sig, nil
	}
	x, rsig, err := s.readIndex()
	if err != nil {
		return nil, rsig, err
	}
	s.idx, s.idxSig = x, rsig
	return x, rsig, nil
}

// loadRecords decrypts the records sc selects and assembles them into one cache
// document, with each record's hash. Records that cannot be read are returned by key
// in bad; a missing data file is an fs.ErrNotExist error (a writer compacted it).
func (s *CacheStore) loadRecords(x *storeIndex, sc *scope) (doc []byte, bad []string, err error) {
	var groups [][]item
	if sc.accountsOnly {
		for i := range x.entries {
			acc, err := decodeItems(x.entries[i].accounts)
			if err != nil {
				bad = append(bad, x.entries[i].key)
				continue
			}
			groups = append(groups, acc)
		}
		return assemble(groups...), bad, nil
	}
	groups = make([][]item, 0, 2*len(x.entries))
	var need []*indexEntry
	var total uint64
	for i := range x.entries {
		if sc.selects(&x.entries[i]) {
			need = append(need, &x.entries[i])
			total += x.entries[i].length
		}
	}
	if len(need) == 0 {
		return assemble(), nil, nil
	}
	f, err := os.Open(filepath.Join(s.dir, x.dataName))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := uint64(fi.Size())
	// Many records: one read of the file beats a read per record.
	var whole []byte
	if total > size/4 && size <= maxCacheFile {
		whole = make([]byte, size)
		if _, err := io.ReadFull(f, whole); err != nil {
			return nil, nil, err
		}
	}
	for _, e := range need {
		if e.offset > size || e.length > size-e.offset {
			bad = append(bad, e.key)
			continue
		}
		var sealed []byte
		if whole != nil {
			sealed = whole[e.offset : e.offset+e.length]
		} else {
			sealed = make([]byte, e.length)
			if _, err := f.ReadAt(sealed, int64(e.offset)); err != nil {
				bad = append(bad, e.key)
				continue
			}
		}
		plain, err := openRecord(s.aead, e, sealed)
		if err != nil {
			bad = append(bad, e.key)
			continue
		}
		items, err1 := decodeItems(plain)
		acc, err2 := decodeItems(e.accounts)
		if err1 != nil || err2 != nil {
			bad = append(bad, e.key)
			continue
		}
		groups = append(groups, items, acc)
	}
	return assemble(groups...), bad, nil
}

// undecodable finds the records whose entries the cache cannot parse, by giving it
// each record on its own. Only a damaged store gets here.
func (s *CacheStore) undecodable(cache cacheData, x *storeIndex, sc *scope) []string {
	var bad []string
	for i := range x.entries {
		e := &x.entries[i]
		if !sc.accountsOnly && !sc.selects(e) {
			continue
		}
		one := &storeIndex{dataName: x.dataName, entries: []indexEntry{*e}}
		doc, b, err := s.loadRecords(one, &scope{})
		if err != nil || len(b) > 0 {
			continue
		}
		if cache.Deserialize(doc) != nil {
			bad = append(bad, e.key)
		}
	}
	cache.Deserialize(nil)
	return bad
}

// castagnoli is CRC-32C, which CPUs compute in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordHash is a checksum of a record's entries, kept in the index so a save can tell
// which records it would write unchanged and skip them: CRC-32C of the entries' bytes,
// and a mix of their lengths and order. It detects changes, not attackers: the
// records' integrity is GCM's job.
func recordHash(items, accounts []item) uint64 {
	const prime = 0x100000001b3
	var c uint32
	shape := uint64(len(items))<<32 | uint64(len(accounts))
	for _, group := range [][]item{items, accounts} {
		for _, it := range group {
			c = crc32.Update(c, castagnoli, it.section)
			c = crc32.Update(c, castagnoli, it.key)
			c = crc32.Update(c, castagnoli, it.value)
			shape = (shape ^ uint64(len(it.section))<<48 ^ uint64(len(it.key))<<32 ^ uint64(len(it.value))) * prime
		}
	}
	return uint64(c)<<32 | uint64(uint32(shape^shape>>32))
}

// readFileSig reads a file whole, with the signature of exactly the bytes read (from
// the open file, since a writer may rename a new file in at any moment). A missing
// file gives a zero signature and no error. A file that cannot be read whole gives its
// signature and an errCorrupt error.
func readFileSig(path string) ([]byte, fileSig, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, fileSig{}, nil
	}
	if err != nil {
		return nil, fileSig{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileSig{}, err
	}
	sig := sigOf(fi)
	if fi.Size() > maxCacheFile {
		return nil, sig, fmt.Errorf("%w: larger than %d MB", errCorrupt, maxCacheFile>>20)
	}
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, sig, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return buf, sig, nil
}

// corruptSuffix names a file moved aside.
func (s *CacheStore) corruptSuffix() string {
	return ".corrupt-" + s.cfg.now().UTC().Format("20060102T150405.000000000Z")
}

// moveAside renames an unreadable index, and every data file beside it, out of the way
// so a fresh cache can start, keeping them for inspection, and tells the user. The
// in-memory cache is kept as is.
func (s *CacheStore) moveAside(cache cacheData, sc *scope, cause error) error {
	suffix := s.corruptSuffix()
	aside := s.path + suffix
	if err := os.Rename(s.path, aside); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("storage: the token cache %s cannot be read (%v) and could not be moved aside: %w",
			s.path, cause, err)
	}
	data, _ := filepath.Glob(s.dataPrefix + "*")
	for _, d := range data {
		if !strings.Contains(d[len(s.dataPrefix):], ".") {
			os.Rename(d, d+suffix)
		}
	}
	s.idx = nil
	s.notify(NoticeCacheCorrupt, aside, fmt.Sprintf(
		"The token cache could not be read (%v). It was moved to %s and a new cache was started; "+
			"sign in again to the affected accounts.", cause, aside))
	s.remember(cache, fileSig{}, 0, sc)
	return nil
}

// dropRecords takes records that cannot be read out of the index (under the exclusive
// lock), writing their sealed bytes aside for inspection, and tells the user which
// accounts need a new sign-in. Every other record stays as it is.
func (s *CacheStore) dropRecords(x *storeIndex, bad []string) error {
	doomed := map[string]bool{}
	for _, k := range bad {
		doomed[k] = true
	}
	var keep []indexEntry
	var names []string
	var aside []byte
	f, _ := os.Open(filepath.Join(s.dir, x.dataName))
	for _, e := range x.entries {
		if !doomed[e.key] {
			keep = append(keep, e)
			continue
		}
		names = append(names, firstOr(e.usernames, e.key))
		aside = appendString(aside, e.key)
		buf := make([]byte, min(e.length, 64<<20))
		if f != nil {
			n, _ := f.ReadAt(buf, int64(e.offset))
			buf = buf[:n]
		}
		aside = appendBytes(aside, buf)
	}
	if f != nil {
		f.Close()
	}
	path := s.path + ".records" + s.corruptSuffix()
	if err := writeFileAtomic(path, aside); err != nil {
		return err
	}
	if _, err := s.commit(x, keep, nil); err != nil {
		return err
	}
	s.notify(NoticeCacheCorrupt, path, fmt.Sprintf(
		"The cached tokens of %s could not be read; they were moved to %s. "+
			"The other accounts are untouched; sign in again to the affected ones.",
		strings.Join(names, ", "), path))
	return nil
}

func firstOr(list []string, fallback string) string {
	if len(list) > 0 && list[0] != "" {
		return list[0]
	}
	return fallback
}

// migrate converts a cache of format 1 (one sealed file holding everything) into the
// per-account store, under the exclusive lock; the old file is kept renamed as
// cache.bin.migrated. One that cannot be read is moved aside, as an unreadable index.
func (s *CacheStore) migrate() error {
	raw, sig, err := readFileSig(s.v1path)
	if err != nil && sig == (fileSig{}) {
		return fmt.Errorf("storage: reading the token cache: %w", err)
	}
	if !sig.exists {
		return nil
	}
	var payload []byte
	if err == nil {
		_, payload, err = open(s.aead, raw)
	}
	if err != nil {
		aside := s.v1path + s.corruptSuffix()
		if rerr := os.Rename(s.v1path, aside); rerr != nil {
			return fmt.Errorf("storage: the token cache %s cannot be read (%v) and could not be moved aside: %w",
				s.v1path, err, rerr)
		}
		s.notify(NoticeCacheCorrupt, aside, fmt.Sprintf(
			"The token cache could not be read (%v). It was moved to %s and a new cache was started; "+
				"sign in again to the affected accounts.", err, aside))
		return nil
	}
	if _, err := s.commit(nil, nil, splitCache(payload)); err != nil {
		return err
	}
	if err := os.Rename(s.v1path, s.v1path+".migrated"); err != nil {
		return fmt.Errorf("storage: the token cache was converted, but %s could not be renamed: %w", s.v1path, err)
	}
	return nil
}

// save writes what changed in cache: the records sc selects that differ from what the
// cache loaded, and the index. Records outside sc are left as they are (a record the
// cache holds entries of without having loaded it is merged, never replaced).
func (s *CacheStore) save(cache cacheData, sc *scope) error {
	if sc.accountsOnly {
		return errors.New("storage: the account listing is read-only")
	}
	payload, err := cache.Serialize()
	if err != nil {
		return fmt.Errorf("storage: serializing the token cache: %w", err)
	}
	x, _, err := s.currentIndex()
	if err != nil {
		return fmt.Errorf("storage: reading the token cache index: %w", err)
	}
	recs := splitCache(payload)
	var keep []indexEntry
	if x != nil {
		for _, e := range x.entries {
			if _, ok := recs[e.key]; ok || sc.selects(&e) {
				continue // replaced below, or deleted
			}
			keep = append(keep, e)
		}
	}
	fresh := map[string]*record{}
	for k, r := range recs {
		old, had := x.entry(k)
		if had && !sc.selects(old) {
			merged, err := s.mergeRecord(x, old, r)
			if err != nil {
				return err
			}
			fresh[k] = merged
			continue
		}
		r.hash = recordHash(r.items, r.accounts)
		if had && old.hash == r.hash {
			keep = append(keep, *old) // unchanged: not rewritten
			continue
		}
		fresh[k] = r
	}
	sig, err := s.commit(x, keep, fresh)
	if err != nil {
		return err
	}
	var gen uint64 // commit left the new index in s.idx
	if s.idx != nil {
		gen = s.idx.generation
	}
	s.remember(cache, sig, gen, sc)
	return nil
}

// mergeRecord overlays r's entries on the stored record old, which the cache did not
// load, so entries of an account outside a narrowed cache are never dropped.
func (s *CacheStore) mergeRecord(x *storeIndex, old *indexEntry, r *record) (*record, error) {
	one := &storeIndex{dataName: x.dataName, entries: []indexEntry{*old}}
	doc, bad, err := s.loadRecords(one, &scope{})
	if err != nil || len(bad) > 0 {
		return r, nil // unreadable: the new entries alone are better than nothing
	}
	base := splitCache(doc)[old.key]
	if base == nil {
		return r, nil
	}
	over := func(a, b []item) []item {
		seen := map[string]bool{}
		for _, it := range b {
			seen[string(it.section)+"\x00"+string(it.key)] = true
		}
		out := append([]item(nil), b...)
		for _, it := range a {
			if !seen[string(it.section)+"\x00"+string(it.key)] {
				out = append(out, it)
			}
		}
		return out
	}
	m := *r
	m.items = over(base.items, r.items)
	m.accounts = over(base.accounts, r.accounts)
	m.usernames = append(append([]string(nil), r.usernames...), base.usernames...)
	m.latestExpiry = max(r.latestExpiry, base.latestExpiry)
	m.hasRefresh = r.hasRefresh || base.hasRefresh
	return &m, nil
}

// compactSlack is how much dead space the data file may hold beyond its live records
// before a write copies the live ones into a new file.
const compactSlack = 1 << 20

// commit appends the fresh records to the data file (a new one when there is none, or
// when dead space has grown past the live records), fsyncs it, and then atomically
// replaces the index with keep plus the fresh records. A crash before the index is
// renamed leaves the old index, whose records are untouched: data files are only
// appended to, and a compacted one is deleted only after the index naming its
// successor is in place. Writers hold the exclusive lock.
func (s *CacheStore) commit(x *storeIndex, keep []indexEntry, fresh map[string]*record) (fileSig, error) {
	s.removeStaleTemps()
	dataName := ""
	var gen uint64
	if x != nil {
		dataName, gen = x.dataName, x.generation
	}
	if dataName == "" {
		dataName = s.newDataName()
	}
	keys := make([]string, 0, len(fresh))
	for k := range fresh {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var add []byte
	entries := keep
	for _, k := range keys {
		r := fresh[k]
		if r.hash == 0 {
			r.hash = recordHash(r.items, r.accounts)
		}
		e := indexEntry{key: k, home: r.home, env: r.env, latestExpiry: r.latestExpiry, hash: r.hash,
			hasRefresh: r.hasRefresh, usernames: r.usernames, accounts: encodeItems(nil, r.accounts)}
		sealed, err := sealRecord(s.aead, &e, encodeItems(nil, r.items))
		if err != nil {
			return fileSig{}, err
		}
		e.offset, e.length = uint64(len(add)), uint64(len(sealed))
		add = append(add, sealed...)
		entries = append(entries, e)
	}
	var live uint64
	for _, e := range entries {
		live += e.length
	}
	dataPath := filepath.Join(s.dir, dataName)
	oldData := ""
	if len(add) > 0 || len(entries) > 0 {
		base, err := appendData(dataPath, add)
		if err != nil {
			return fileSig{}, err
		}
		for i := len(keep); i < len(entries); i++ {
			entries[i].offset += base
		}
		if base+uint64(len(add)) > 2*live+compactSlack {
			newName := s.newDataName()
			if err := compactData(dataPath, filepath.Join(s.dir, newName), entries); err != nil {
				return fileSig{}, err
			}
			oldData, dataName = dataPath, newName
		}
	}
	file, err := sealIndex(s.aead, gen+1, encodeIndex(dataName, entries))
	if err != nil {
		return fileSig{}, err
	}
	if err := writeFileAtomic(s.path, file); err != nil {
		return fileSig{}, err
	}
	if oldData != "" {
		os.Remove(oldData)
	}
	s.removeOrphans(dataName)
	sig, err := statSig(s.path)
	if err != nil {
		// Saved, but unknown signature: forget it so the next access re-reads.
		sig = fileSig{exists: true, size: -1}
	}
	s.idx = &storeIndex{generation: gen + 1, dataName: dataName, entries: entries}
	s.idxSig = sig
	return sig, nil
}

// appendData appends b to the data file (creating it, mode 0600) and fsyncs it,
// returning the offset b starts at. Bytes a killed writer appended before are left
// where they are: no index refers to them.
func appendData(path string, b []byte) (uint64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o600)
	if err != nil {
		return 0, writeErr(path, err)
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, writeErr(path, err)
	}
	if len(b) == 0 {
		return uint64(end), nil
	}
	if _, err := f.Write(b); err != nil {
		f.Truncate(end)
		return 0, writeErr(path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, writeErr(path, err)
	}
	return uint64(end), nil
}

// compactData copies the live records of entries from the data file at from into a
// new file at to (sealed bytes as they are), updating their offsets.
func compactData(from, to string, entries []indexEntry) error {
	old, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	var live uint64
	for _, e := range entries {
		live += e.length
	}
	buf := make([]byte, 0, live)
	for i := range entries {
		e := &entries[i]
		if e.offset > uint64(len(old)) || e.length > uint64(len(old))-e.offset {
			return fmt.Errorf("storage: compacting %s: a record lies beyond its end", from)
		}
		off := uint64(len(buf))
		buf = append(buf, old[e.offset:e.offset+e.length]...)
		e.offset = off
	}
	return writeFileAtomic(to, buf)
}

// newDataName names a new data file.
func (s *CacheStore) newDataName() string {
	var b [8]byte
	rand.Read(b[:])
	return filepath.Base(s.dataPrefix) + hex.EncodeToString(b[:])
}

// removeStaleTemps deletes temporary files a killed writer left behind. Only the
// holder of the exclusive lock writes, and that is us, so every temporary file present
// now is stale.
func (s *CacheStore) removeStaleTemps() {
	for _, pat := range []string{s.path + ".tmp-*", s.dataPrefix + "*.tmp-*", s.v1path + ".tmp-*"} {
		stale, _ := filepath.Glob(pat)
		for _, f := range stale {
			os.Remove(f)
		}
	}
}

// removeOrphans deletes data files no index refers to: left by a writer killed
// during a compaction. Called by the exclusive lock's holder after its commit.
func (s *CacheStore) removeOrphans(current string) {
	files, _ := filepath.Glob(s.dataPrefix + "*")
	for _, f := range files {
		name := filepath.Base(f)
		if name != current && !strings.Contains(name[len(filepath.Base(s.dataPrefix)):], ".") {
			os.Remove(f)
		}
	}
}
