//go:build unix

package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecureDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base    string // the directory's name
		mode    os.FileMode
		holds   string // a file already in it
		want    os.FileMode
		kind    NoticeKind
		noticed bool
	}{
		{"default name, loose", "tokendesk", 0o755, "", 0o700, NoticeDirTightened, true},
		{"used before, loose", "home", 0o775, ConfigFileName, 0o700, NoticeDirTightened, true},
		{"cache lock only, loose", "home", 0o711, LockFileName, 0o700, NoticeDirTightened, true},
		{"not evidently ours", "shared", 0o755, "", 0o755, NoticeDirLoose, true},
		{"already private", "tokendesk", 0o700, ConfigFileName, 0o700, "", false},
		{"new", "tokendesk", 0, "", 0o700, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.base)
			if tc.mode != 0 {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if tc.holds != "" {
					os.WriteFile(filepath.Join(dir, tc.holds), nil, 0o600)
				}
				if err := os.Chmod(dir, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			n, err := SecureDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tc.want {
				t.Errorf("mode %04o, want %04o", got, tc.want)
			}
			if (n != nil) != tc.noticed || (n != nil && (n.Kind != tc.kind || !strings.Contains(n.Message, dir))) {
				t.Errorf("notice %+v, want kind %q", n, tc.kind)
			}
		})
	}
}

// A symbolic link planted at a lock file's name (the cache's, config.json's) is refused,
// not followed: nothing is created or locked at its target.
func TestLockFilesRefuseSymlinks(t *testing.T) {
	for _, name := range []string{LockFileName, ConfigLockFileName} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "victim")
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			var err error
			if name == LockFileName {
				s := openMem(t, dir, newMemKeyring())
				err = put(context.Background(), s, newMapCache(), "k", "v")
			} else {
				err = UpdateConfig(context.Background(), dir, func(*Config) error { return nil })
			}
			if err == nil {
				t.Fatal("a lock through a symlink was taken")
			}
			if _, serr := os.Lstat(target); !os.IsNotExist(serr) {
				t.Errorf("the link's target was created (%v); error was %v", serr, err)
			}
			t.Logf("%s: %v", name, err)
		})
	}
}
