package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// writeFileAtomic replaces path with data so that a crash at any moment leaves either
// the old file or the new one, never a torn one: write a temporary file in the same
// directory, fsync it, rename it over path, fsync the directory (so the rename itself
// survives a power cut). The file gets mode 0600. On any error the temporary file is
// removed and path is untouched.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return writeErr(path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; Chmod states it and survives an odd umask.
	if err = f.Chmod(0o600); err != nil {
		return writeErr(path, err)
	}
	if _, err = f.Write(data); err != nil {
		return writeErr(path, err)
	}
	if err = f.Sync(); err != nil {
		return writeErr(path, err)
	}
	if err = f.Close(); err != nil {
		return writeErr(path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return writeErr(path, err)
	}
	// The data is safe once renamed; a failed directory sync only weakens durability
	// across a power cut, so it is not worth failing a save the reader can already see.
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// writeErr explains a failed save, naming the likely cause for the common ones.
func writeErr(path string, err error) error {
	hint := ""
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		hint = " (the disk is full)"
	case errors.Is(err, syscall.EROFS):
		hint = " (the file system is read-only)"
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EPERM):
		hint = " (the directory is not writable)"
	}
	return fmt.Errorf("storage: could not save %s%s; the previous file is intact: %w", path, hint, err)
}
