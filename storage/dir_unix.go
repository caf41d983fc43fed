//go:build unix

package storage

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func tightenDir(dir string) (*Notice, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", dir, err)
	}
	mode := fi.Mode().Perm()
	if mode&0o077 == 0 {
		return nil, nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	mine := ok && int(st.Uid) == os.Getuid() && fi.IsDir()
	if !mine || !tokendeskDir(dir) {
		return &Notice{Time: time.Now(), Kind: NoticeDirLoose, Path: dir, Message: fmt.Sprintf(
			"the Tokendesk directory %s has mode %04o: other users may list or replace its files; "+
				"run chmod 700 %q if it is yours alone", dir, mode, dir)}, nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: making %s private (mode 0700): %w", dir, err)
	}
	return &Notice{Time: time.Now(), Kind: NoticeDirTightened, Path: dir, Message: fmt.Sprintf(
		"the Tokendesk directory %s had mode %04o, which let other users in; it is now 0700", dir, mode)}, nil
}
