package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchSettle is how long Watch waits after a change before reporting it, so a burst
// (a writer's temporary file renamed into place, a config save right after a cache
// save) is reported once.
const WatchSettle = 50 * time.Millisecond

// watchPoll is how often the stat fallback looks when the OS offers no file
// notifications (inotify instances exhausted, an unsupported file system).
var watchPoll = 300 * time.Millisecond

// Watch calls onChange (on its own goroutine, never concurrently with itself) each time
// another process — or this one — replaces the token cache or config.json in dir, until
// ctx ends. Writers only ever rename complete files into place, so one notification
// per replaced file is all a reader needs; the lock file and temporary files are
// ignored. It uses the OS's file notifications (inotify on Linux) on the directory,
// and falls back to comparing a stat of both files every 300 ms when they are
// unavailable. The returned error is only about setting up: dir must exist.
func Watch(ctx context.Context, dir string, onChange func()) error {
	// The index is the cache's commit point: every change of the cache replaces it.
	names := map[string]bool{IndexFileName: true, PlaintextIndexFileName: true, ConfigFileName: true}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(dir); err != nil {
			w.Close()
		}
	}
	if err != nil {
		// Polling works wherever stat does: check the directory is there first.
		if _, serr := os.Stat(dir); serr != nil {
			return fmt.Errorf("storage: watching %s: %w", dir, serr)
		}
		go pollDir(ctx, dir, names, onChange)
		return nil
	}
	go watchEvents(ctx, w, names, onChange)
	return nil
}

// watchEvents turns the watcher's events about names into debounced onChange calls.
func watchEvents(ctx context.Context, w *fsnotify.Watcher, names map[string]bool, onChange func()) {
	defer w.Close()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			settle.Stop()
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if names[filepath.Base(ev.Name)] && !ev.Has(fsnotify.Chmod) {
				settle.Reset(WatchSettle)
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			// An overflowed queue lost events: assume something changed.
			settle.Reset(WatchSettle)
		case <-settle.C:
			onChange()
		}
	}
}

// pollDir is Watch without OS notifications: it compares the files' stat signatures.
func pollDir(ctx context.Context, dir string, names map[string]bool, onChange func()) {
	sigs := func() map[string]fileSig {
		out := make(map[string]fileSig, len(names))
		for n := range names {
			out[n], _ = statSig(filepath.Join(dir, n))
		}
		return out
	}
	last := sigs()
	t := time.NewTicker(watchPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cur := sigs()
			changed := false
			for n, s := range cur {
				if last[n] != s {
					changed = true
				}
			}
			last = cur
			if changed {
				onChange()
			}
		}
	}
}
