package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFullKeepsOldFile fills a real, tiny file system: a child process in its own
// mount namespace mounts a 256 KB tmpfs and saves a cache bigger than that.
func TestDiskFullKeepsOldFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; the read-only directory test covers failed saves")
	}
	cmd := child(t, "diskfull", "STORE_DIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "mount: operation not permitted") {
		msg := fmt.Sprintf("no CAP_SYS_ADMIN to mount a tmpfs in a new mount namespace (a container without it, or a chroot: use systemd-nspawn): %s", out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if err != nil || !strings.Contains(string(out), "disk full handled") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// diskFullChild is the child's side of TestDiskFullKeepsOldFile.
func diskFullChild(dir string) error {
	// Go made the new mount namespace private, so this mount is invisible outside.
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700"); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	ctx := context.Background()
	s, err := OpenCacheStore(dir, newMemKeyring())
	if err != nil {
		return err
	}
	c := newMapCache()
	if err := put(ctx, s, c, "at", "old"); err != nil {
		return err
	}
	before, err := os.ReadFile(s.Path())
	if err != nil {
		return err
	}
	err = put(ctx, s, c, "big", strings.Repeat("x", 512<<10))
	if err == nil {
		return errors.New("a 512 KB save into a 256 KB file system succeeded")
	}
	if !strings.Contains(err.Error(), "the disk is full") || !strings.Contains(err.Error(), "previous file is intact") {
		return fmt.Errorf("unclear error: %v", err)
	}
	after, err := os.ReadFile(s.Path())
	if err != nil || !bytes.Equal(before, after) {
		return fmt.Errorf("previous file changed (%v)", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			return fmt.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	c2 := newMapCache()
	if err := load(ctx, s, c2); err != nil {
		return err
	}
	fmt.Println("disk full handled")
	return nil
}
