//go:build !linux

package storage

import "os"

// startWriteback does nothing where the kernel offers no way to start writeback of a
// range without waiting for it.
func startWriteback(f *os.File, off, n int64) {}
