package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRefreshLocksExcludeAndGiveUpAtDeadline(t *testing.T) {
	dir := t.TempDir()
	a, err := NewRefreshLocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRefreshLocks(dir) // a second Desk's locks over the same directory
	ctx := context.Background()
	unlock, err := a.LockRefresh(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Another account is not held up.
	other, err := b.LockRefresh(ctx, "bob")
	if err != nil {
		t.Fatalf("another account's lock: %v", err)
	}
	other()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := b.LockRefresh(short, "alice"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder of one account: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v, want about 50 ms", d)
	}
	var held atomic.Bool
	done := make(chan error, 1)
	go func() {
		u, err := b.LockRefresh(ctx, "alice")
		if err == nil {
			if !held.Load() {
				err = errors.New("got the lock while the first holder still had it")
			}
			u()
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	held.Store(true) // the waiter may only get it from now on
	unlock()
	unlock() // twice is harmless
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A symbolic link planted at a lock file's name is refused, not followed: nothing is
// created or locked at its target.
func TestRefreshLocksRefuseSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no O_NOFOLLOW on Windows")
	}
	dir := t.TempDir()
	locks, err := NewRefreshLocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Find the file name of key "k" by taking the lock once, then replace it.
	unlock, err := locks.LockRefresh(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	names, _ := filepath.Glob(filepath.Join(dir, RefreshLockFilePrefix+"*.lock"))
	if len(names) != 1 {
		t.Fatalf("lock files: %v", names)
	}
	target := filepath.Join(t.TempDir(), "victim")
	os.Remove(names[0])
	if err := os.Symlink(target, names[0]); err != nil {
		t.Fatal(err)
	}
	_, err = locks.LockRefresh(context.Background(), "k")
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("lock through a symlink: %v, want a refusal naming the link", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the link's target was created: %v", err)
	}
}

// BenchmarkRefreshLockUncontended is what every token call pays for single-flight
// refresh when no other process is refreshing: open, flock, unlock, close.
func BenchmarkRefreshLockUncontended(b *testing.B) {
	locks, err := NewRefreshLocks(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		unlock, err := locks.LockRefresh(ctx, "account")
		if err != nil {
			b.Fatal(err)
		}
		unlock()
	}
}

// Another process holding an account's refresh lock keeps this one out; killed with
// SIGKILL mid-refresh, it leaves no stale lock behind (the kernel drops a dead
// process's flock), so the next refresh goes ahead at once.
func TestRefreshLockAcrossProcessesAndKill(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill -9 semantics are tested on Unix")
	}
	dir := t.TempDir()
	cmd := child(t, "hold-refresh-lock", "STORE_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line := make([]byte, 5)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "held\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	locks, err := NewRefreshLocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := locks.LockRefresh(short, "held"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while another process holds it: %v, want DeadlineExceeded", err)
	}
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	ctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	start := time.Now()
	unlock, err := locks.LockRefresh(ctx, "held")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	unlock()
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v after the holder died", d)
	}
}
