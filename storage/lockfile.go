package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// lockFileFlags open a lock file for flock without following a symbolic link at its
// name: a link planted there (by anyone who could write the directory) would otherwise
// make us create or lock a file of the attacker's choosing.
const lockFileFlags = os.O_CREATE | os.O_RDWR | oNoFollow

// lockRetryWait is how often a lock another process holds is tried again. Holders of a
// refresh lock make one token request, so waiters are woken within a few ms of its end.
const lockRetryWait = 5 * time.Millisecond

// newFileLock returns a flock over path, opened without following symlinks, mode 0600.
func newFileLock(path string) *flock.Flock {
	return flock.New(path, flock.SetFlag(lockFileFlags), flock.SetPermissions(0o600))
}

// procLocks are in-process semaphores by lock-file path. flock(2) locks belong to an
// open file description, so two goroutines of one process would each open their own
// and still exclude each other; the semaphore only spares them polling the file, and
// lets a waiter give up at its context's end. Entries are never removed: there is one
// per account, a few bytes each.
var procLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func procLock(path string) chan struct{} {
	procLocks.mu.Lock()
	defer procLocks.mu.Unlock()
	if procLocks.m == nil {
		procLocks.m = map[string]chan struct{}{}
	}
	ch, ok := procLocks.m[path]
	if !ok {
		ch = make(chan struct{}, 1)
		procLocks.m[path] = ch
	}
	return ch
}

// lockPath takes the in-process semaphore of path, then the exclusive flock on the file,
// waiting until ctx ends. what names the lock in errors. The returned unlock releases
// both; it is safe to call once.
func lockPath(ctx context.Context, path, what string) (unlock func(), err error) {
	sem := procLock(path)
	select {
	case sem <- struct{}{}:
	default:
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("storage: waiting for %s (held in this process): %w", what, ctx.Err())
		}
	}
	fl := newFileLock(path)
	ok, err := fl.TryLock()
	if !ok && err == nil {
		ok, err = fl.TryLockContext(ctx, lockRetryWait)
	}
	if !ok {
		<-sem
		if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("storage: waiting for %s (held by another Tokendesk process): %w", what, ctx.Err())
		}
		return nil, lockOpenErr(path, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			fl.Unlock()
			<-sem
		})
	}, nil
}

// lockOpenErr explains a lock file that could not be opened; a symbolic link gets its
// own message, since it is never ours.
func lockOpenErr(path string, err error) error {
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) {
		return fmt.Errorf("storage: %s is a symbolic link; Tokendesk never follows links for its lock files: remove it: %w", path, err)
	}
	return fmt.Errorf("storage: locking %s: %w", path, err)
}

// RefreshLockFilePrefix starts the name of each account's refresh lock file in the
// Tokendesk directory ("refresh-<hash>.lock"); the files are empty and never deleted.
const RefreshLockFilePrefix = "refresh-"

// RefreshLocks serialize the refresh of one account across every Tokendesk process (the
// window, its tray, any number of CLI processes started by kubectl at once) and every
// goroutine of this one. Providers that rotate refresh tokens revoke the whole grant
// when an old one is used again (RFC 9700 §4.14), so two processes redeeming the same
// refresh token sign the user out; under the lock the second one finds the token the
// first stored. It implements usecase's refresh locker.
type RefreshLocks struct{ dir string }

// NewRefreshLocks returns the refresh locks kept in dir (the Tokendesk directory),
// creating dir (0700) when missing.
func NewRefreshLocks(dir string) (*RefreshLocks, error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	return &RefreshLocks{dir: dir}, nil
}

// LockRefresh takes the lock of key (an account's identity: any string) and returns its
// unlock, waiting for another holder until ctx ends; the error then wraps ctx.Err(). The
// lock file's name is a hash of key, so no account name reaches the file system.
func (l *RefreshLocks) LockRefresh(ctx context.Context, key string) (unlock func(), err error) {
	sum := sha256.Sum256([]byte(key))
	path := filepath.Join(l.dir, RefreshLockFilePrefix+hex.EncodeToString(sum[:12])+".lock")
	return lockPath(ctx, path, "the refresh of this account")
}
