//go:build unix

package storage

import (
	"os"
	"syscall"
)

// mapFile maps the first size bytes of f read-only: a whole load decrypts the data
// file from the page cache without first copying it into a buffer of its own.
func mapFile(f *os.File, size int) ([]byte, error) {
	if size <= 0 {
		return nil, syscall.EINVAL
	}
	return syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapFile(b []byte) { syscall.Munmap(b) }
